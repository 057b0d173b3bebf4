"""The send window against a real server: nothing the server leaves unanswered may wedge it.

The client keeps at most ``SEND_WINDOW`` messages written and unconfirmed. A NOTICE to a
missing nick gets no reply at all (RFC 2812: never an automatic reply to a NOTICE), so these
tests check that such messages are settled (by ``labeled-response``, or on write without it)
and that what is said after them still goes out, is confirmed, and is shown once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from chat.client import events as ev
from chat.client.connection import SEND_WINDOW, Connection
from chat.client.session import WANTED_CAPS
from tests.helpers.clients import Clients
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import DEADLINE, Watcher

#: What the client asks for from a server without ``labeled-response`` (a stock IRC server).
NO_LABELS = tuple(cap for cap in WANTED_CAPS if cap != "labeled-response")

Connect = Callable[..., tuple[Connection, Watcher]]


def in_lobby(event: ev.Event) -> bool:
    return isinstance(event, ev.Names) and event.channel == "#lobby"


@pytest.fixture
def connect(server: ServerProcess) -> Iterator[Connect]:
    with Clients(server.host, server.port) as clients:
        yield clients.open


def own_copies(watcher: Watcher, text: str) -> list[ev.Message]:
    return [e for e in watcher.seen if isinstance(e, ev.Message) and e.text == text and e.own]


def test_labeled_response_is_requested(connect: Connect) -> None:
    alice, alice_events = connect("alice")
    alice_events.wait_for(in_lobby)
    assert "labeled-response" in alice._caps


@pytest.mark.parametrize("caps", [WANTED_CAPS, NO_LABELS], ids=["labels", "no-labels"])
def test_unanswered_notices_do_not_wedge_the_window(connect: Connect, caps: tuple[str, ...]) -> None:
    alice, alice_events = connect("alice", caps=caps)
    _bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)

    for i in range(SEND_WINDOW + 2):
        alice.notice("nobody_here", f"notice {i}")
    (cid,) = alice.say("#lobby", "after the notices")
    assert bob_events.message("after the notices").sender == "alice"
    alice_events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == cid)
    assert alice.wait_until_settled(DEADLINE)
    assert alice.pending_count() == 0


def test_a_notice_nobody_got_is_reported_with_labels(connect: Connect) -> None:
    alice, alice_events = connect("alice")
    alice_events.wait_for(in_lobby)
    (cid,) = alice.notice("nobody_here", "hello?")
    rejected = alice_events.wait_for(lambda e: isinstance(e, ev.Rejected) and e.cid == cid)
    assert isinstance(rejected, ev.Rejected) and "nobody_here" in rejected.reason
    error = next(e for e in alice_events.seen if isinstance(e, ev.Error))
    assert isinstance(error, ev.Error) and error.text == rejected.reason


@pytest.mark.parametrize("caps", [WANTED_CAPS, NO_LABELS], ids=["labels", "no-labels"])
def test_a_delivered_notice_is_shown_once(connect: Connect, caps: tuple[str, ...]) -> None:
    alice, alice_events = connect("alice", caps=caps)
    bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)

    (cid,) = alice.notice("bob", "a notice for bob")
    assert bob_events.message("a notice for bob").notice
    alice_events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == cid)
    # A later message confirmed means everything before it from the server was read as well.
    (later,) = alice.say("bob", "and a message")
    alice_events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == later)
    assert len(own_copies(alice_events, "a notice for bob")) == 1
    assert not [e for e in alice_events.seen if isinstance(e, ev.Rejected)]
    assert bob.pending_count() == 0


def test_a_private_message_to_an_away_nick_is_confirmed_once(connect: Connect) -> None:
    """The echo then comes in a labeled-response batch together with the away reply."""
    alice, alice_events = connect("alice")
    bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    bob.send_raw("AWAY :lunch")
    bob_events.wait_for(lambda e: isinstance(e, ev.Info) and "away" in e.text.lower())

    (cid,) = alice.say("bob", "are you there?")
    assert bob_events.message("are you there?").sender == "alice"
    alice_events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == cid)
    assert alice.wait_until_settled(DEADLINE)
    assert len(own_copies(alice_events, "are you there?")) == 1
    assert not [e for e in alice_events.seen if isinstance(e, ev.Rejected)]


def test_errors_free_the_window(connect: Connect) -> None:
    """Every refusal frees its slot: more refused messages than the window, then one that works."""
    alice, alice_events = connect("alice")
    _bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)

    refused = [alice.say("#nowhere", f"refused {i}")[0] for i in range(SEND_WINDOW + 2)]
    alice.say("#lobby", "still going")
    assert bob_events.message("still going").sender == "alice"
    assert alice.wait_until_settled(DEADLINE)
    alice_events.wait_for(lambda e: isinstance(e, ev.Rejected) and e.cid == refused[-1])
    got = [e.cid for e in alice_events.seen if isinstance(e, ev.Rejected)]
    assert got == refused


def test_notices_resent_after_a_reconnect_do_not_wedge_it(server: ServerProcess, connect: Connect) -> None:
    alice, alice_events = connect("alice")
    _bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    server.kill()
    alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    for i in range(SEND_WINDOW + 1):
        alice.notice("nobody_here", f"offline notice {i}")
    (cid,) = alice.say("#lobby", "back again")
    server.start()
    alice_events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == cid)
    assert alice.wait_until_settled(DEADLINE)
    assert len(own_copies(alice_events, "back again")) == 1


class _SilentServer:
    """Lets a client in, then never answers anything (every message stays unconfirmed), or
    answers each PRIVMSG with the line ``answer``."""

    def __init__(self, answer: bytes = b"") -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.got_quit = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sock, _ = self.listener.accept()
        with sock:
            buffer = b""
            while chunk := sock.recv(65536):
                buffer += chunk
                *lines, buffer = buffer.split(b"\r\n")
                for line in lines:
                    if line.startswith(b"CAP LS"):
                        sock.sendall(b":silent CAP * LS :echo-message\r\n")
                    elif line.startswith(b"CAP REQ"):
                        sock.sendall(b":silent CAP * ACK :echo-message\r\n")
                    elif line.startswith(b"CAP END"):
                        sock.sendall(b":silent 001 alice :Welcome\r\n")
                    elif self.answer and line.startswith(b"PRIVMSG"):
                        sock.sendall(self.answer + b"\r\n")
                    elif line.startswith(b"QUIT"):
                        self.got_quit.set()

    def close(self) -> None:
        self.listener.close()


def test_quit_waits_at_most_quit_timeout_in_total() -> None:
    silent = _SilentServer()
    conn = Connection("127.0.0.1", silent.port, "alice", reconnect=False, quit_timeout=1.0)
    watcher = Watcher(conn)
    try:
        conn.start()
        watcher.wait_for(lambda e: isinstance(e, ev.Connected))
        for i in range(SEND_WINDOW + 3):  # the window fills; the last ones are never written
            conn.say("#lobby", f"line {i}")
        started = time.monotonic()
        conn.quit("bye")
        took = time.monotonic() - started
        assert took < 1.5, f"quit took {took:.2f} s with quit_timeout=1"
        assert silent.got_quit.wait(DEADLINE)  # the goodbye was still written
    finally:
        conn.close()
        silent.close()


def test_a_line_too_long_for_the_server_frees_its_slot() -> None:
    """417 names no target and (the line was never parsed) carries no label: it answers the
    oldest line not yet answered."""
    server = _SilentServer(answer=b":silent 417 alice :Input line was too long")
    conn = Connection("127.0.0.1", server.port, "alice", reconnect=False)
    watcher = Watcher(conn)
    try:
        conn.start()
        watcher.wait_for(lambda e: isinstance(e, ev.Connected))
        cids = [conn.say("#lobby", f"line {i}")[0] for i in range(SEND_WINDOW + 2)]
        watcher.wait_for(lambda e: isinstance(e, ev.Rejected) and e.cid == cids[-1])
        assert [e.cid for e in watcher.seen if isinstance(e, ev.Rejected)] == cids
        assert conn.wait_until_settled(DEADLINE)
    finally:
        conn.close()
        server.close()
