"""The table of IRC commands the server understands, filled by ``@command`` in the handler modules.

A table rather than a chain of ``if``s lets the core check registration and parameter counts in
one place, so every handler starts from a message that already has what it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat.protocol import Message

if TYPE_CHECKING:
    from chat.server.core import ServerCore
    from chat.server.state import Client

Handler = Callable[["ServerCore", "Client", Message], None]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    handler: Handler
    min_params: int
    needs_registration: bool


COMMANDS: dict[str, CommandSpec] = {}


def command(*names: str, min_params: int = 0, needs_registration: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = CommandSpec(handler, min_params, needs_registration)
        return handler

    return register
