"""Drive the sans-I/O server core with plain data: lines in, parsed messages out, a fake clock."""

from __future__ import annotations

import dataclasses
from typing import Any

from chat.config import Limits, Settings
from chat.protocol import Message, parse
from chat.server.accounts import AccountStore
from chat.server.core import ServerCore, build_core
from chat.server.state import Client


class FakeClient:
    def __init__(self, harness: Harness, client: Client) -> None:
        self.harness = harness
        self.client = client

    @property
    def core(self) -> ServerCore:
        return self.harness.core

    def send(self, *lines: str) -> FakeClient:
        self.core.receive(self.client, "".join(line + "\r\n" for line in lines).encode())
        return self

    def send_bytes(self, data: bytes) -> FakeClient:
        self.core.receive(self.client, data)
        return self

    def take(self) -> list[Message]:
        """Everything the server queued for this client since the last take, parsed."""
        data = bytes(self.client.out)
        self.client.out.clear()
        return [parse(line) for line in data.decode().split("\r\n") if line]

    def take_commands(self) -> list[str]:
        return [m.command for m in self.take()]

    def register(self, nick: str, caps: str = "") -> FakeClient:
        if caps:
            self.send("CAP LS 302", f"CAP REQ :{caps}", f"NICK {nick}", "USER u 0 * :Real Name", "CAP END")
        else:
            self.send(f"NICK {nick}", "USER u 0 * :Real Name")
        assert self.client.registered, self.take()
        self.take()
        return self


#: Flood control and the per-address cap are lifted unless a test sets them: most tests send many
#: lines at one instant of the fake clock and test something else.
UNLIMITED = {"flood_burst": 1_000_000, "max_clients_per_ip": 1_000_000}


class Harness:
    def __init__(
        self, *, limits: dict[str, Any] | None = None, accounts: AccountStore | None = None, **settings: Any
    ) -> None:
        self.now = 1_800_000_000.0
        lim = dataclasses.replace(Limits(), **{**UNLIMITED, **(limits or {})})
        self.core = build_core(Settings(limits=lim, **settings), clock=lambda: self.now, accounts=accounts)
        self._ids = 0

    def connect(self, host: str = "192.168.1.10", *, secure: bool = False) -> FakeClient:
        """A new connection; ``secure`` = it came in over TLS."""
        self._ids += 1
        return FakeClient(self, self.core.connect(self._ids, host, secure=secure))

    def user(self, nick: str, caps: str = "") -> FakeClient:
        return self.connect().register(nick, caps)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.core.tick()
        self.core.release_held()
