"""The real server process over real loopback sockets: what any IRC client would experience."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

from tests.helpers.irc_peer import Peer
from tests.helpers.server_process import ServerProcess


def privmsgs(peer: Peer, count: int) -> list[tuple[str | None, str]]:
    got = []
    for _ in range(count):
        msg = peer.expect_command("PRIVMSG")
        got.append((msg.nick, msg.params[-1]))
    return got


def test_three_clients_chat_in_the_default_room(server: ServerProcess) -> None:
    alice, bob, carol = (Peer(server.host, server.port).register(n) for n in ("alice", "bob", "carol"))
    alice.send("PRIVMSG #lobby :hi from alice")
    bob.send("PRIVMSG #lobby :hi from bob")
    carol.send("PRIVMSG alice :private hello")
    # Different senders race each other; each receiver must get every message once.
    assert sorted(privmsgs(carol, 2)) == [("alice", "hi from alice"), ("bob", "hi from bob")]
    assert sorted(privmsgs(alice, 2)) == [("bob", "hi from bob"), ("carol", "private hello")]
    assert privmsgs(bob, 1) == [("alice", "hi from alice")]


def test_a_connection_reset_mid_message_does_not_disturb_the_others(server: ServerProcess) -> None:
    alice, bob = (
        Peer(server.host, server.port).register("alice"),
        Peer(server.host, server.port).register("bob"),
    )
    victim = Peer(server.host, server.port).register("victim")
    victim.send_bytes(b"PRIVMSG #lobby :this line never ends")
    # SO_LINGER 0 makes close() send RST: the abrupt end of a crashed laptop or a pulled cable.
    victim.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    victim.close()
    quit_msg = alice.expect(lambda m: m.command == "QUIT" and m.nick == "victim")
    assert quit_msg.params[-1] in ("Connection reset by peer", "Connection closed by client")
    bob.send("PRIVMSG #lobby :still here?")
    assert privmsgs(alice, 1) == [("bob", "still here?")]
    assert not any(m.params[-1:] == ["this line never ends"] for m in alice.received)


def test_empty_message_gets_412_and_is_not_delivered(server: ServerProcess) -> None:
    alice, bob = (
        Peer(server.host, server.port).register("alice"),
        Peer(server.host, server.port).register("bob"),
    )
    alice.send("PRIVMSG #lobby :", "PRIVMSG #lobby :after")
    assert alice.expect(lambda m: m.command.isdigit() and m.command not in ("353", "366")).command == "412"
    assert privmsgs(bob, 1) == [("alice", "after")]


def test_oversized_line_gets_417_and_the_connection_still_works(server: ServerProcess) -> None:
    alice, bob = (
        Peer(server.host, server.port).register("alice"),
        Peer(server.host, server.port).register("bob"),
    )
    alice.send("PRIVMSG #lobby :" + "x" * 5000, "PRIVMSG #lobby :short one")
    assert alice.expect_command("417")
    assert privmsgs(bob, 1) == [("alice", "short one")]


def test_framing_byte_by_byte_batched_and_flooded(server: ServerProcess, tmp_path: Path) -> None:
    # 500 lines in one write is a flood by default (tests/loopback/test_limits.py); this test is
    # about framing, so the flood limit is lifted.
    config = tmp_path / "no-flood-limit.yaml"
    config.write_text("limits:\n  flood_burst: 100000\n")
    server.extra_args = ("--config", str(config))
    server.restart()
    alice, bob = (
        Peer(server.host, server.port).register("alice"),
        Peer(server.host, server.port).register("bob"),
    )
    for byte in b"PRIVMSG #lobby :one byte at a time\r\n":
        alice.send_bytes(bytes([byte]))
    alice.send_bytes(b"".join(b"PRIVMSG #lobby :batch %d\n" % i for i in range(500)))
    alice.send_bytes(b"z" * 3_000_000 + b"\r\nPRIVMSG #lobby :after the flood\r\n")
    got = privmsgs(bob, 502)
    assert got[0] == ("alice", "one byte at a time")
    assert [text for _, text in got[1:501]] == [f"batch {i}" for i in range(500)]
    assert got[501] == ("alice", "after the flood")


def test_garbage_bytes_never_kill_the_server(server: ServerProcess) -> None:
    watcher = Peer(server.host, server.port).register("watcher")
    junk = Peer(server.host, server.port)
    junk.send_bytes(os.urandom(200_000) + b"\r\n\x00\xff\r\n:::\r\n@@@\r\n \r\n")
    junk.close()
    fresh = Peer(server.host, server.port).register("fresh")
    fresh.send("PRIVMSG #lobby :server survived")
    assert privmsgs(watcher, 1) == [("fresh", "server survived")]
    assert "Traceback" not in server.log()


def test_sigterm_tells_clients_and_exits_cleanly(server: ServerProcess) -> None:
    alice = Peer(server.host, server.port).register("alice")
    assert server.terminate() == 0
    error = alice.expect_command("ERROR")
    assert error.params == ["Server shutting down"]
    alice.wait_closed()


def test_port_in_use_is_one_clear_line_and_exit_2(server: ServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chat", "serve", "--host", "127.0.0.1", "--port", str(server.port),
         "--data-dir", str(tmp_path / "d2")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_address_that_is_not_ours_is_refused_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chat", "serve", "--host", "no-such-host.invalid", "--port", "0",
         "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot listen on no-such-host.invalid:0" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_log_says_where_to_connect_from(server: ServerProcess) -> None:
    assert f"listening on 127.0.0.1:{server.port}" in server.log()
    server.wait_for_log(rf"chat connect 127\.0\.0\.1:{server.port}")
