"""The window's side of desktop notifications: a burst of mentions starts one notify-send."""

from __future__ import annotations

import tkinter as tk
from types import SimpleNamespace

import pytest

from chat.client import gui
from chat.client.gui_model import Alert, ChatModel


def test_fifty_private_messages_in_the_background_make_one_notification(
    root: tk.Tk, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(gui.notify, "notify", lambda title, body: sent.append((title, body)) or True)
    monkeypatch.setattr(root, "focus_displayof", lambda: None)  # the window is in the background
    gui._style(root)  # fonts and styles for this root, as App sets them up
    view = gui.ChatView(SimpleNamespace(root=root, leaving=None), ChatModel("localhost:6667", "me"))  # type: ignore[arg-type]
    for i in range(50):
        view._alert(Alert("alice", "alice", f"message {i}"))
    assert sent == [("alice", "message 0")]
