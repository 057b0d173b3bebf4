"""The shared client connection against a real server on loopback: talking, acknowledgements,
nick fallback, and surviving a server crash."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from chat.client import events as ev
from chat.client.connection import Connection
from tests.helpers.clients import Clients
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import DEADLINE, Watcher


def in_lobby(event: ev.Event) -> bool:
    return isinstance(event, ev.Names) and event.channel == "#lobby"


@pytest.fixture
def connect(server: ServerProcess) -> Iterator[Callable[..., tuple[Connection, Watcher]]]:
    with Clients(server.host, server.port) as clients:
        yield clients.open


def test_channel_messages_both_ways_are_acknowledged(connect: Callable[..., tuple[Connection, Watcher]]) -> None:
    alice, alice_events = connect("alice")
    bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)

    (cid,) = alice.say("#lobby", "hello bob")
    got = bob_events.message("hello bob")
    assert (got.sender, got.target, got.own) == ("alice", "#lobby", False)
    assert got.msgid and got.time.tzinfo is not None
    ack = alice_events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == cid)
    assert isinstance(ack, ev.Acknowledged) and ack.msgid == got.msgid
    own = next(e for e in alice_events.seen if isinstance(e, ev.Message) and e.text == "hello bob")
    assert isinstance(own, ev.Message) and own.own and own.cid == cid

    bob.action("#lobby", "waves back")
    reply = alice_events.message("waves back")
    assert reply.action and reply.sender == "bob"
    assert bob.wait_until_settled(DEADLINE)
    assert alice.pending_count() == 0 and bob.pending_count() == 0


def test_private_messages_both_ways(connect: Callable[..., tuple[Connection, Watcher]]) -> None:
    alice, alice_events = connect("alice")
    bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)

    alice.say("bob", "psst, bob")
    got = bob_events.message("psst, bob")
    assert got.private and got.conversation == "alice"
    bob.say("alice", "yes?")
    back = alice_events.message("yes?")
    assert back.private and back.conversation == "bob"
    assert alice.wait_until_settled(DEADLINE) and bob.wait_until_settled(DEADLINE)


def test_without_echo_a_message_counts_as_sent_once_written(
    connect: Callable[..., tuple[Connection, Watcher]],
) -> None:
    plain, plain_events = connect("plain", caps=())
    _bob, bob_events = connect("bob")
    plain_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    (cid,) = plain.say("#lobby", "no echo here")
    ack = plain_events.wait_for(lambda e: isinstance(e, ev.Acknowledged))
    assert isinstance(ack, ev.Acknowledged) and ack.cid == cid and ack.msgid is None
    shown = [e for e in plain_events.seen if isinstance(e, ev.Message) and e.text == "no echo here"]
    assert len(shown) == 1 and shown[0].own  # the UI still shows what was said, once
    assert plain.wait_until_settled(1.0)
    assert bob_events.message("no echo here").sender == "plain"


def test_taken_nick_falls_back_and_reports_it(connect: Callable[..., tuple[Connection, Watcher]]) -> None:
    _first, first_events = connect("alice")
    first_events.wait_for(lambda e: isinstance(e, ev.Connected))
    second, second_events = connect("alice")
    connected = second_events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert isinstance(connected, ev.Connected) and connected.nick == "alice_"
    assert any(isinstance(e, ev.Info) and "taken" in e.text for e in second_events.seen)
    assert second.nick == "alice_"


def test_messages_said_before_registration_are_delivered(
    connect: Callable[..., tuple[Connection, Watcher]],
) -> None:
    _bob, bob_events = connect("bob")
    bob_events.wait_for(in_lobby)
    early = Connection(bob_events.conn.host, bob_events.conn.port, "early")
    try:
        early.say("bob", "said before connecting")
        early.start()
        assert early.wait_until_settled(DEADLINE)
        assert bob_events.message("said before connecting").sender == "early"
    finally:
        early.close()


def test_message_to_a_missing_nick_is_refused_not_left_pending(
    connect: Callable[..., tuple[Connection, Watcher]],
) -> None:
    alice, events = connect("alice")
    events.wait_for(in_lobby)
    (cid,) = alice.say("nobody", "anyone there?")
    error = events.wait_for(lambda e: isinstance(e, ev.Error))
    assert isinstance(error, ev.Error) and error.text == "no such nick or channel: nobody"
    rejected = events.wait_for(lambda e: isinstance(e, ev.Rejected))
    assert isinstance(rejected, ev.Rejected) and rejected.cid == cid
    assert alice.wait_until_settled(1.0)


def test_quit_tells_others_and_closes_for_good(connect: Callable[..., tuple[Connection, Watcher]]) -> None:
    _alice, alice_events = connect("alice")
    bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    bob.quit("off home")
    gone = alice_events.wait_for(lambda e: isinstance(e, ev.Quit))
    assert isinstance(gone, ev.Quit) and gone.nick == "bob" and "off home" in gone.reason
    assert gone.channels == ("#lobby",)
    bob_events.wait_for(lambda e: isinstance(e, ev.Closed))
    assert not any(isinstance(e, ev.Reconnecting) for e in bob_events.seen)
    assert bob.status.state == "closed"


def test_reconnects_after_a_crash_and_rejoins(
    server: ServerProcess, connect: Callable[..., tuple[Connection, Watcher]]
) -> None:
    alice, events = connect("alice")
    events.wait_for(in_lobby)
    alice.join("#dev")
    events.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == "#dev")

    server.kill()
    down = events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    assert isinstance(down, ev.Disconnected) and f"127.0.0.1:{server.port}" in down.reason
    events.wait_for(lambda e: isinstance(e, ev.Reconnecting))
    server.start()

    back = events.wait_for(lambda e: isinstance(e, ev.Connected), timeout=30)
    assert isinstance(back, ev.Connected) and back.nick == "alice"
    rejoined: set[str] = set()
    while rejoined != {"#lobby", "#dev"}:
        joined = events.wait_for(lambda e: isinstance(e, ev.Joined) and e.own)
        assert isinstance(joined, ev.Joined)
        rejoined.add(joined.channel)
    assert set(alice.channels) == {"#lobby", "#dev"}

    (cid,) = alice.say("#dev", "still here")
    events.wait_for(lambda e: isinstance(e, ev.Acknowledged) and e.cid == cid)


def test_server_shutdown_reason_is_reported(
    server: ServerProcess, connect: Callable[..., tuple[Connection, Watcher]]
) -> None:
    _alice, events = connect("alice", reconnect=False)
    events.wait_for(in_lobby)
    server.terminate()
    down = events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    assert isinstance(down, ev.Disconnected)
    assert down.reason.endswith("closed the connection: Server shutting down")
    events.wait_for(lambda e: isinstance(e, ev.Closed))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_without_reconnect_ends_with_closed() -> None:
    port = free_port()
    conn = Connection("127.0.0.1", port, "alice", reconnect=False).start()
    events = Watcher(conn)
    down = events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    assert isinstance(down, ev.Disconnected)
    assert down.reason == f"cannot reach 127.0.0.1:{port}: connection refused — is the server running?"
    events.wait_for(lambda e: isinstance(e, ev.Closed))


def test_refused_with_reconnect_backs_off_and_keeps_trying() -> None:
    conn = Connection("127.0.0.1", free_port(), "alice", backoff_cap=0.2).start()
    events = Watcher(conn)
    try:
        delays = []
        for _ in range(3):
            retry = events.wait_for(lambda e: isinstance(e, ev.Reconnecting))
            assert isinstance(retry, ev.Reconnecting)
            delays.append((retry.attempt, retry.delay))
            next_try = events.wait_for(lambda e: isinstance(e, ev.Connecting))
            assert isinstance(next_try, ev.Connecting) and next_try.attempt == retry.attempt  # same number
        assert [a for a, _ in delays] == [2, 3, 4]  # the first connection was attempt 1
        assert all(d <= 0.2 * 1.2 for _, d in delays)
    finally:
        conn.close()
    events.wait_for(lambda e: isinstance(e, ev.Closed))


def test_silent_server_is_detected_as_dead() -> None:
    """A peer that accepts and then never answers, like a server whose machine froze: only the
    keep-alive can tell. (No real server behaves like this on purpose, hence the bare socket.)"""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []
        acceptor = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
        acceptor.start()
        conn = Connection("127.0.0.1", port, "alice", reconnect=False, ping_interval=0.2, ping_timeout=0.8).start()
        events = Watcher(conn)
        try:
            down = events.wait_for(lambda e: isinstance(e, ev.Disconnected))
            assert isinstance(down, ev.Disconnected)
            assert down.reason.startswith(f"no reply from 127.0.0.1:{port} for")
            assert "seems dead" in down.reason
        finally:
            conn.close()
            for sock in accepted:
                sock.close()


def test_characters_that_cannot_travel_are_dropped_not_fatal(
    connect: Callable[..., tuple[Connection, Watcher]],
) -> None:
    alice, alice_events = connect("alice")
    _bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    alice.say("#lobby", "a pasted\0 line\r")
    assert bob_events.message("a pasted line").sender == "alice"
    alice.say("#lobby", "and the link is fine")
    bob_events.message("and the link is fine")
    assert not [e for e in alice_events.seen if isinstance(e, ev.Disconnected | ev.Error)]
