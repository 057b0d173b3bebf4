"""The server core under a stateful fuzz: clients come and go, send hostile commands and raw bytes,
and the clock jumps. Whatever they do, the core must not hit a bug (no logged exception, nobody
dropped with "Internal server error"), its books must balance (nicks, rooms, members), and every
line it queues must be one a real IRC client can read.

``CHAT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/unit/test_server_fuzz.py`` runs longer.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chat.config import History, Limits, Settings
from chat.protocol import MAX_TAGS, casefold, parse
from chat.protocol.framing import split_tags
from chat.server.core import ServerCore, build_core
from chat.server.history import MemoryHistory
from chat.server.state import Client
from tests.helpers import hostile

EXAMPLES = int(os.environ.get("CHAT_FUZZ_EXAMPLES", "200"))
SENDQ = 12_000  # small, so slow readers really get dropped mid-broadcast
HOSTS = ("192.168.1.10", "10.0.0.7", "fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1234", "::1")
MAX_CLIENTS = 6


class _Errors(logging.Handler):
    """Collects ERROR records of the server (``log.exception`` is how the core reports its bugs)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class CoreFuzz(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_800_000_000.0
        limits = replace(Limits(), sendq=SENDQ, ping_interval=30, ping_timeout=60, registration_timeout=20)
        config = Settings(limits=limits, history=History(store="memory", max_fetch=20, max_messages=30))
        self.core: ServerCore = build_core(config, clock=lambda: self.now, history=MemoryHistory())
        self.conns: list[Client] = []  # every connection ever made; the core forgets the gone ones
        self.reading: dict[int, bool] = {}
        self.next_id = 0
        self.errors = _Errors()
        logging.getLogger("chat").addHandler(self.errors)

    def teardown(self) -> None:
        logging.getLogger("chat").removeHandler(self.errors)

    # ----------------------------------------------------------------------- helpers

    def _live(self) -> list[Client]:
        return [c for c in self.conns if c.id in self.core.clients]

    def _pick(self, index: int) -> Client | None:
        live = self._live()
        return live[index % len(live)] if live else None

    def _connect(self, host: str) -> Client:
        self.next_id += 1
        client = self.core.connect(self.next_id, host)
        self.conns.append(client)
        self.reading[client.id] = True
        return client

    # ------------------------------------------------------------------------- rules

    @initialize()
    def two_users(self) -> None:
        for nick in ("alice", "bob"):
            client = self._connect("192.168.1.10")
            self.core.receive(client, f"CAP LS 302\r\nCAP REQ :{' '.join(hostile.CAPS[:8])}\r\n".encode())
            self.core.receive(client, f"NICK {nick}\r\nUSER u 0 * :Real\r\nCAP END\r\n".encode())

    @rule(host=st.sampled_from(HOSTS))
    def connect(self, host: str) -> None:
        if len(self._live()) < MAX_CLIENTS:
            self._connect(host)

    @rule(
        who=st.integers(0, 99),
        nick=st.sampled_from(hostile.NICKS) | hostile.text,
        caps=st.lists(st.sampled_from(hostile.CAPS), max_size=4),
    )
    def register(self, who: int, nick: str, caps: list[str]) -> None:
        client = self._pick(who)
        if client is not None:
            cap = f"CAP LS 302\r\nCAP REQ :{' '.join(caps)}\r\n" if caps else ""
            end = "CAP END\r\n" if caps else ""
            self.core.receive(client, f"{cap}NICK :{nick}\r\nUSER u 0 * :Real Name\r\n{end}".encode())

    @rule(who=st.integers(0, 99), lines=st.lists(hostile.command_line, min_size=1, max_size=4))
    def send_commands(self, who: int, lines: list[str]) -> None:
        client = self._pick(who)
        if client is not None:
            self.core.receive(client, "".join(line + "\r\n" for line in lines).encode())

    @rule(who=st.integers(0, 99), chunks=st.lists(hostile.raw_bytes, min_size=1, max_size=4))
    def send_bytes(self, who: int, chunks: list[bytes]) -> None:
        client = self._pick(who)
        if client is not None:
            for chunk in chunks:
                self.core.receive(client, chunk)

    @rule(who=st.integers(0, 99), line=hostile.command_line, cut=st.integers(0, 600))
    def send_split(self, who: int, line: str, cut: int) -> None:
        """One line in two reads, split at an arbitrary byte (possibly inside a UTF-8 character)."""
        client = self._pick(who)
        if client is not None:
            data = line.encode() + b"\r\n"
            self.core.receive(client, data[:cut])
            self.core.receive(client, data[cut:])

    @rule(who=st.integers(0, 99))
    def stop_reading(self, who: int) -> None:
        """This client's socket stops taking data: its buffer grows until SendQ drops it."""
        client = self._pick(who)
        if client is not None:
            self.reading[client.id] = not self.reading[client.id]

    @rule(who=st.integers(0, 99), reason=st.sampled_from(["Connection reset by peer", "Connection closed by client"]))
    def lose_connection(self, who: int, reason: str) -> None:
        client = self._pick(who)
        if client is not None:
            self.core.connection_lost(client, reason)

    @rule(seconds=st.sampled_from([0.5, 1.0, 5.0, 25.0, 31.0, 61.0, 3600.0]))
    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.core.tick()

    # -------------------------------------------------------------------- invariants

    @invariant()
    def no_server_bug(self) -> None:
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]

    @invariant()
    def books_balance(self) -> None:
        core = self.core
        for client in core.clients.values():
            assert not client.closing, "a dropped client is still listed"
            if client.registered:
                assert core.nicks.get(casefold(client.nick)) is client
            for key in client.channels:
                assert client in core.channels[key].members
        for folded, holder in core.nicks.items():
            assert casefold(holder.nick) == folded and core.clients.get(holder.id) is holder
        for key, channel in core.channels.items():
            assert key == casefold(channel.name) and channel.members
            for member in channel.members:
                assert member.registered and core.clients.get(member.id) is member and key in member.channels

    @invariant()
    def output_is_well_formed(self) -> None:
        for client in self.conns:
            gone = client.id not in self.core.clients
            assert len(client.out) <= SENDQ
            assert client.reader.buffered <= client.reader.max_body + client.reader.max_tags + 2
            if not (self.reading.get(client.id, True) or gone):
                continue
            data = bytes(client.out)
            client.out.clear()
            if not data:
                continue
            assert data.endswith(b"\r\n"), data[-80:]
            assert b"Internal server error" not in data
            for line in data[:-2].split(b"\r\n"):
                check_line(line)


def check_line(line: bytes) -> None:
    """One line as a strict client sees it: no NUL, CR or LF inside, UTF-8, parseable, in the limits."""
    assert b"\0" not in line and b"\r" not in line and b"\n" not in line, line
    tags, body = split_tags(line)
    assert body + 2 <= 512, f"{body + 2} bytes without tags: {line[:120]!r}"
    assert tags <= MAX_TAGS, f"{tags} bytes of tags: {line[:120]!r}"
    parse(line.decode("utf-8"))


CoreFuzz.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestCoreFuzz = CoreFuzz.TestCase
