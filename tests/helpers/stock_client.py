"""A client built on the third-party ``irc`` library: what a stock IRC client does, no extensions."""

from __future__ import annotations

import time
from collections.abc import Callable

import irc.client


class StockClient:
    def __init__(self, host: str, port: int, nick: str) -> None:
        self.reactor = irc.client.Reactor()
        self.events: list[irc.client.Event] = []
        self.reactor.add_global_handler("all_events", self._record, -10)
        self.conn = self.reactor.server().connect(host, port, nick)

    def _record(self, _conn: irc.client.ServerConnection, event: irc.client.Event) -> None:
        self.events.append(event)

    def wait_for(self, predicate: Callable[[irc.client.Event], bool], timeout: float = 10.0) -> irc.client.Event:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            self.reactor.process_once(0.05)
        raise AssertionError(f"no matching event; got {[(e.type, e.arguments) for e in self.events]}")

    def close(self) -> None:
        self.conn.disconnect("bye")
