"""Every server limit over real sockets: the offender is cut off (or slowed down), and two
well-behaved users on the same server keep chatting meanwhile without losing a message."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chat.client import events as ev
from chat.client.connection import Connection
from tests.helpers.irc_peer import Peer
from tests.helpers.relay import Relay
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher


class Bystanders:
    """carol talks in #lobby, dave listens; ``check`` proves dave got every line, in order, once,
    and that neither was disconnected along the way."""

    def __init__(self, server: ServerProcess) -> None:
        self.carol = Connection(server.host, server.port, "carol", backoff_cap=1.0)
        self.dave = Connection(server.host, server.port, "dave", backoff_cap=1.0)
        self.carol_events, self.dave_events = Watcher(self.carol.start()), Watcher(self.dave.start())
        for watcher in (self.carol_events, self.dave_events):
            watcher.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == "#lobby")
        self.said: list[str] = []

    def chat(self, label: str, count: int = 3) -> None:
        for n in range(count):
            text = f"{label} {n}"
            self.said.append(text)
            self.carol.say("#lobby", text)

    def check(self) -> None:
        assert self.carol.wait_until_settled(30), "carol's messages were not all confirmed"
        if self.said[-1] not in self.heard():
            self.dave_events.message(self.said[-1], timeout=30)
        heard = self.heard()
        assert heard == self.said
        for watcher in (self.carol_events, self.dave_events):
            assert not [e for e in watcher.seen if isinstance(e, ev.Disconnected)]

    def heard(self) -> list[str]:
        return [e.text for e in self.dave_events.seen if isinstance(e, ev.Message) and e.sender == "carol"]

    def saw_quit(self, nick: str, reason: str) -> None:
        """dave watched ``nick`` leave the room for ``reason``."""
        self.dave_events.wait_for(lambda e: isinstance(e, ev.Quit) and e.nick == nick and reason in e.reason)

    def close(self) -> None:
        self.carol.close()
        self.dave.close()


Start = Callable[[str], Bystanders]


@pytest.fixture
def start(server: ServerProcess, tmp_path: Path) -> Iterator[Start]:
    """Restart the server with ``limits:`` lines from the test, then bring in carol and dave."""
    made: list[Bystanders] = []

    def run(limits: str) -> Bystanders:
        config = tmp_path / "limits.yaml"
        config.write_text("limits:\n" + "".join(f"  {line.strip()}\n" for line in limits.strip().splitlines()))
        server.extra_args = ("--config", str(config))
        server.restart()
        made.append(Bystanders(server))
        return made[-1]

    yield run
    for bystanders in made:
        bystanders.close()


def send_quietly(peer: Peer, data: bytes) -> None:
    """An attacker's write; the server may hang up in the middle of it."""
    with contextlib.suppress(OSError):
        peer.send_bytes(data)


def test_a_flood_is_slowed_down_then_cut_off_with_excess_flood(start: Start, server: ServerProcess) -> None:
    room = start("recvq: 8192")
    room.chat("before")
    flooder = Peer(server.host, server.port).register("flooder")
    flood = b"".join(b"PRIVMSG #lobby :spam %d\r\n" % n for n in range(5000))
    writer = threading.Thread(target=send_quietly, args=(flooder, flood))
    writer.start()
    room.chat("during")
    room.saw_quit("flooder", "Excess Flood")
    writer.join(30)
    room.chat("after")
    room.check()
    # The flooder was cut long before its 5,000 lines got through.
    spam = [e for e in room.dave_events.seen if isinstance(e, ev.Message) and e.sender == "flooder"]
    assert 0 < len(spam) < 100


def test_a_burst_under_the_limit_is_delayed_in_order_not_lost(start: Start, server: ServerProcess) -> None:
    room = start("flood_burst: 5\nflood_rate: 20")
    eager = Peer(server.host, server.port).register("eager")
    eager.send(*(f"PRIVMSG #lobby :paste line {n}" for n in range(60)))
    room.chat("meanwhile")
    room.dave_events.message("paste line 59", timeout=30)
    pasted = [e.text for e in room.dave_events.seen if isinstance(e, ev.Message) and e.sender == "eager"]
    assert pasted == [f"paste line {n}" for n in range(60)]
    eager.send("PING :still-here")
    assert eager.expect(lambda m: m.command == "PONG").params[-1] == "still-here"
    room.check()


def test_a_paste_from_our_own_client_is_paced_not_cut(start: Start) -> None:
    """The client keeps only a few lines unconfirmed, so even a tight limit only slows a long
    paste down: all of it arrives, and nobody is disconnected."""
    room = start("flood_burst: 4\nflood_rate: 20\nrecvq: 1024")
    room.chat("pasted line", count=150)
    room.check()


def test_catch_up_after_a_reconnect_is_not_punished(start: Start, server: ServerProcess) -> None:
    """Back from a network cut in 20 rooms with messages waiting in each, and 20 lines of its own
    still to send: the returning client rejoins, resends and fetches everything, at the default
    limits, without being cut off."""
    room = start("flood_burst: 16")
    rooms = [f"#room{n}" for n in range(20)]
    relay = Relay(server.host, server.port)
    alice = Connection(relay.host, relay.port, "alice", channels=rooms, backoff_cap=1.0,
                       ping_interval=1.0, ping_timeout=2.5)  # fmt: skip
    alice_events = Watcher(alice.start())
    bob = Connection(server.host, server.port, "bob", channels=rooms, backoff_cap=1.0)
    bob_events = Watcher(bob.start())
    try:
        for watcher in (alice_events, bob_events):
            watcher.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == rooms[-1])
        relay.freeze()
        for name in rooms:
            bob.say(name, f"missed in {name}")
        mine = [f"queued {n}" for n in range(20)]
        for text in mine:
            alice.say("#room0", text)
        room.chat("meanwhile")
        assert bob.wait_until_settled(30)
        alice_events.wait_for(lambda e: isinstance(e, ev.Disconnected))
        relay.thaw()
        caught = alice_events.wait_for(lambda e: isinstance(e, ev.CaughtUp), timeout=30)
        assert isinstance(caught, ev.CaughtUp) and caught.count == len(rooms) + 3  # and carol's in #lobby
        assert alice.wait_until_settled(30)
        bob_events.message(mine[-1])
        heard = [e.text for e in bob_events.seen if isinstance(e, ev.Message) and e.sender == "alice"]
        assert heard == mine
        assert not [e for e in alice_events.seen if isinstance(e, ev.Error) and "Flood" in e.text]
        room.check()
    finally:
        alice.close()
        bob.close()
        relay.close()


def test_a_reader_that_stops_reading_is_cut_at_the_sendq(start: Start, server: ServerProcess) -> None:
    room = start("max_line: 16384\nsendq: 262144\nflood_burst: 10000")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    stuck.connect((server.host, server.port))
    stuck.sendall(b"NICK stuck\r\nUSER u 0 * :never reads\r\n")
    writer = Peer(server.host, server.port).register("writer")
    reader = Peer(server.host, server.port).register("reader")
    big = "x" * 16000
    try:
        for n in range(400):  # 6.4 MB through the room, far beyond what stuck's buffers hold
            writer.send(f"PRIVMSG #lobby :{n} {big}")
            if n % 100 == 0:
                room.chat(f"during {n}", count=1)
            got = reader.expect(lambda m: m.command == "PRIVMSG" and m.nick == "writer", timeout=30)
            assert got.params[-1] == f"{n} {big}"
            if any(m.command == "QUIT" and m.nick == "stuck" for m in reader.received):
                break
        quit_line = reader.expect(lambda m: m.command == "QUIT" and m.nick == "stuck", timeout=30)
        assert quit_line.params[-1] == "SendQ exceeded"
    finally:
        stuck.close()
    room.check()


def test_too_many_connections_from_one_address(start: Start, server: ServerProcess) -> None:
    room = start("max_clients_per_ip: 3")  # carol and dave are two of them
    third = Peer(server.host, server.port).register("third")
    fourth = Peer(server.host, server.port)
    error = fourth.expect_command("ERROR")
    assert error.params[-1] == "Too many connections from your address (3)"
    fourth.wait_closed()
    neighbour = Peer(server.host, server.port, source="127.0.0.2")
    neighbour.register("neighbour")  # another machine on the LAN is not affected
    room.chat("after")
    room.check()
    third.close()
    neighbour.close()


def test_a_full_server_refuses_newcomers_politely(start: Start, server: ServerProcess) -> None:
    room = start("max_clients: 2")
    late = Peer(server.host, server.port)
    assert late.expect_command("ERROR").params[-1] == "Server is full, try again later"
    late.wait_closed()
    room.chat("after")
    room.check()


def test_a_connection_that_never_registers_is_dropped(start: Start, server: ServerProcess) -> None:
    room = start("registration_timeout: 1")
    slow = Peer(server.host, server.port)
    slow.send_bytes(b"NICK slowloris\r\nUSER u 0")  # and never the rest of the line
    room.chat("meanwhile")
    assert slow.expect_command("ERROR").params[-1].endswith("(Registration timed out)")
    slow.wait_closed()
    room.chat("after")
    room.check()


def test_a_client_that_stops_answering_pings_is_dropped(start: Start, server: ServerProcess) -> None:
    room = start("ping_interval: 1\nping_timeout: 2")
    silent = Peer(server.host, server.port).register("silent")  # a raw peer: never answers PING
    room.chat("meanwhile")
    room.saw_quit("silent", "Ping timeout")
    room.chat("after")
    room.check()  # carol and dave answer the server's PINGs: never dropped
    silent.close()


def test_hostile_input_gets_errors_and_the_connection_goes_on(start: Start, server: ServerProcess) -> None:
    """Invalid UTF-8, NUL bytes, oversized tags, an unterminated line past the cap: each is
    answered or ignored, the sender stays connected, and the room never sees the garbage."""
    room = start("max_clients_per_ip: 50")
    odd = Peer(server.host, server.port).register("odd", caps="message-tags")
    odd.send_bytes(b"PRIVMSG #lobby :caf\xe9\r\n")
    assert odd.expect_command("FAIL").params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    odd.send_bytes(b"@+big=" + b"x" * 5000 + b" PRIVMSG #lobby :tagged\r\n")
    assert odd.expect_command("417")
    odd.send_bytes(b"NICK \x00\x01\r\nPRIVMSG #lobby :nul\x00byte\r\n")
    odd.send_bytes(b"PRIVMSG #lobby :" + b"y" * 20_000)  # no terminator, far past the line cap
    odd.send_bytes(b"\r\nPRIVMSG #lobby :still fine\r\n")
    room.chat("meanwhile")
    room.dave_events.message("still fine")
    from_odd = [e.text for e in room.dave_events.seen if isinstance(e, ev.Message) and e.sender == "odd"]
    assert from_odd[-1] == "still fine"
    assert not any("caf" in t or "tagged" in t or "yyyy" in t for t in from_odd)
    assert all("\x00" not in t for t in from_odd)
    room.check()
