"""Allows ``python -m chat``."""

from chat.cli import main

main()
