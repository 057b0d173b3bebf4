"""Recovery as a user lives it, over real sockets: the link dies (server killed, network cut),
the client comes back by itself, sends what was waiting, and shows what it missed — once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chat.client import events as ev
from chat.client.connection import Connection
from tests.helpers.clients import Clients
from tests.helpers.relay import Relay
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher

Connect = Callable[..., tuple[Connection, Watcher]]


@pytest.fixture
def connect(server: ServerProcess) -> Iterator[Connect]:
    with Clients(server.host, server.port) as clients:

        def make(nick: str, *, via: Relay | None = None, **options: object) -> tuple[Connection, Watcher]:
            conn, watcher = clients.open(
                nick, host=via.host if via else None, port=via.port if via else None, **options
            )
            watcher.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == "#lobby")
            return conn, watcher

        yield make


@pytest.fixture
def relay(server: ServerProcess) -> Iterator[Relay]:
    relay = Relay(server.host, server.port)
    yield relay
    relay.close()


def texts(events: list[ev.Event], *, sender: str | None = None) -> list[str]:
    return [e.text for e in events if isinstance(e, ev.Message) and (sender is None or e.sender == sender)]


def test_network_cut_is_detected_and_everything_missed_arrives_once(
    connect: Connect, relay: Relay, server: ServerProcess
) -> None:
    alice, alice_events = connect("alice", via=relay, ping_interval=1.0, ping_timeout=2.5)
    bob, bob_events = connect("bob")
    bob.say("#lobby", "before the cut")
    alice_events.message("before the cut")

    relay.freeze()  # no FIN, no RST: only silence tells alice
    bob.say("#lobby", "missed 1")
    bob.say("#lobby", "missed 2")
    bob.say("alice", "a private word while you were away")
    lost = alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    assert isinstance(lost, ev.Disconnected) and "no reply" in lost.reason
    relay.thaw()

    caught = alice_events.wait_for(lambda e: isinstance(e, ev.CaughtUp), timeout=30)
    assert isinstance(caught, ev.CaughtUp) and caught.count == 3
    assert set(caught.conversations) == {"#lobby", "bob"}
    # The server still held alice's silent connection: her session token got her nick back.
    assert alice.nick == "alice"
    missed = [e for e in alice_events.seen if isinstance(e, ev.Message) and e.missed]
    assert [m.text for m in missed] == ["missed 1", "missed 2", "a private word while you were away"]
    bob.say("#lobby", "live again")
    alice_events.message("live again")
    assert texts(alice_events.seen, sender="bob").count("missed 1") == 1
    assert texts(alice_events.seen).count("before the cut") == 1
    quit_seen = bob_events.wait_for(lambda e: isinstance(e, ev.Quit) and e.nick == "alice")
    assert isinstance(quit_seen, ev.Quit) and quit_seen.reason == "Reconnected"


def test_messages_typed_while_the_server_is_down_are_delivered_once(connect: Connect, server: ServerProcess) -> None:
    alice, alice_events = connect("alice")
    _bob, bob_events = connect("bob")
    server.kill()
    alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    cids = alice.say("#lobby", "typed while offline") + alice.say("#lobby", "and another one")
    queued = [e for e in (alice_events.wait_for(lambda e: isinstance(e, ev.Queued)) for _ in cids)]
    assert all(isinstance(q, ev.Queued) and q.offline for q in queued)
    assert alice.pending_count() == 2

    server.start()
    for cid in cids:
        alice_events.wait_for(lambda e, cid=cid: isinstance(e, ev.Acknowledged) and e.cid == cid, timeout=30)
    bob_events.message("and another one", timeout=30)
    alice.say("#lobby", "done")
    bob_events.message("done")
    alice_events.message("done")
    assert texts(bob_events.seen, sender="alice") == ["typed while offline", "and another one", "done"]
    assert texts(alice_events.seen, sender="alice") == ["typed while offline", "and another one", "done"]


def test_history_of_a_restarted_server_is_fetched_not_repeated(connect: Connect, server: ServerProcess) -> None:
    _alice, alice_events = connect("alice")
    bob, _bob_events = connect("bob")
    for n in range(3):
        bob.say("#lobby", f"old {n}")
    alice_events.message("old 2")
    server.kill()
    alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    server.start()
    caught = alice_events.wait_for(lambda e: isinstance(e, ev.CaughtUp), timeout=30)
    # Bob may have come back first and spoken; nothing he said before the crash comes again.
    assert isinstance(caught, ev.CaughtUp)
    assert texts(alice_events.seen, sender="bob") == ["old 0", "old 1", "old 2"]


def test_restart_with_memory_history_still_reconnects_and_reports(connect: Connect, server: ServerProcess) -> None:
    server.extra_args = ("--history", "memory")
    server.restart()
    _alice, alice_events = connect("alice")
    bob, _ = connect("bob")
    bob.say("#lobby", "said before the crash")
    alice_events.message("said before the crash")
    server.kill()
    alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    server.start()
    caught = alice_events.wait_for(lambda e: isinstance(e, ev.CaughtUp), timeout=30)
    assert isinstance(caught, ev.CaughtUp) and caught.count == 0  # the server forgot; msgid unknown → by time
    bob.say("#lobby", "after")
    alice_events.message("after")


def test_catch_up_pages_through_more_than_the_server_gives_at_once(
    connect: Connect, relay: Relay, server: ServerProcess, tmp_path: Path
) -> None:
    config = tmp_path / "small-pages.yaml"
    config.write_text("history:\n  max_fetch: 10\n")
    server.extra_args = ("--config", str(config))
    server.restart()
    _alice, alice_events = connect("alice", via=relay, ping_interval=1.0, ping_timeout=2.5)
    bob, _ = connect("bob")
    bob.say("#lobby", "before")
    alice_events.message("before")
    relay.freeze()
    said = [f"missed {n}" for n in range(25)]
    for text in said:
        bob.say("#lobby", text)
    # All stored before alice is back (the server's flood control paces bob's burst of 25).
    assert bob.wait_until_settled(30)
    alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
    relay.thaw()
    caught = alice_events.wait_for(lambda e: isinstance(e, ev.CaughtUp), timeout=30)
    assert isinstance(caught, ev.CaughtUp) and caught.count == 25
    assert [e.text for e in alice_events.seen if isinstance(e, ev.Message) and e.missed] == said
