"""Waiting for a connection's events with a deadline, never with a sleep."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

from chat.client import events as ev
from chat.client.connection import Connection

DEADLINE = 15.0


class Watcher:
    """Reads a connection's events and lets a test wait for one, with a deadline."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.seen: list[ev.Event] = []

    def wait_for(self, predicate: Callable[[ev.Event], bool], timeout: float = DEADLINE) -> ev.Event:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout} s; saw: {self.seen[-30:]}")
            try:
                event = self.conn.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event

    def message(self, text: str, timeout: float = DEADLINE) -> ev.Message:
        event = self.wait_for(lambda e: isinstance(e, ev.Message) and e.text == text, timeout)
        assert isinstance(event, ev.Message)
        return event
