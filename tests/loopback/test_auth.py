"""Passwords, accounts and moderation against a real ``chat serve`` over loopback sockets:
the server password, ``chat user add`` then a SASL login with the real client, reserved nicks,
OPER + KILL, and KICK."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chat.client import commands as cmd
from chat.client import events as ev
from chat.client.connection import Connection
from chat.client.dispatch import perform
from tests.helpers.clients import Clients
from tests.helpers.irc_peer import Peer
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher

SERVER_PASSWORD = "lan-party-2026"
Connect = Callable[..., tuple[Connection, Watcher]]


def chat(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def start_server(tmp_path: Path, auth_yaml: str) -> ServerProcess:
    config = tmp_path / "chat.yaml"
    config.write_text(f"auth:\n{auth_yaml}", encoding="utf-8")
    return ServerProcess(tmp_path / "data", extra_args=("--config", str(config))).start()


def add_user(server: ServerProcess, name: str, password: str, *extra: str) -> None:
    done = chat("user", "add", name, "--password-stdin", "--data-dir", str(server.data_dir), *extra, stdin=password)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """Accounts, reserved nicks, and logins allowed without TLS (there is no TLS listener yet)."""
    proc = start_server(tmp_path, "  reserve_nicks: true\n  sasl_plaintext: true\n")
    yield proc
    proc.stop()


@pytest.fixture
def connect(open_server: ServerProcess) -> Iterator[Connect]:
    # The server allows logins without TLS (sasl_plaintext), and this is a test: so may the client.
    with Clients(open_server.host, open_server.port, plaintext_login=True) as clients:
        yield clients.open


def in_room(channel: str) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, ev.Names) and e.channel == channel


# --------------------------------------------------------------------------- server password


def test_start_up_log_says_a_password_and_reserved_nicks_are_on_but_not_the_password(tmp_path: Path) -> None:
    server = start_server(tmp_path, f"  password: {SERVER_PASSWORD}\n  reserve_nicks: true\n")
    try:
        server.wait_for_log(r"from other machines on the LAN")
        log = server.log()
        assert "INFO chat.server.loop: a server password is required (auth.password)\n" in log
        assert "INFO chat.server.loop: registered nicks are reserved for their accounts\n" in log
        assert SERVER_PASSWORD not in log
    finally:
        server.stop()
    (tmp_path / "open").mkdir()
    plain = start_server(tmp_path / "open", "  reserve_nicks: false\n")
    try:
        plain.wait_for_log(r"from other machines on the LAN")
        assert "server password is required" not in plain.log() and "nicks are reserved" not in plain.log()
    finally:
        plain.stop()


def test_server_password_missing_wrong_and_right(tmp_path: Path) -> None:
    server = start_server(tmp_path, f"  password: {SERVER_PASSWORD}\n")
    try:
        for opening in ([], ["PASS not-the-password"]):
            peer = Peer(server.host, server.port)
            peer.send(*opening, "NICK alice", "USER a 0 * :A")
            assert peer.expect_command("464").params[-1] == "Password incorrect"
            assert "Bad password" in peer.expect_command("ERROR").params[0]
            peer.wait_closed()
            peer.close()
        peer = Peer(server.host, server.port)
        peer.send(f"PASS {SERVER_PASSWORD}")
        peer.register("alice")
        peer.close()

        wrong = Connection(server.host, server.port, "bob", password="nope", backoff_cap=1.0).start()
        watcher = Watcher(wrong)
        refused = watcher.wait_for(lambda e: isinstance(e, ev.Refused))
        assert refused == ev.Refused("the server password is wrong", "password")
        watcher.wait_for(lambda e: isinstance(e, ev.Closed))
        assert not any(isinstance(e, ev.Reconnecting) for e in watcher.seen)  # no retry storm

        right = Connection(server.host, server.port, "carol", password=SERVER_PASSWORD).start()
        Watcher(right).wait_for(lambda e: isinstance(e, ev.Connected))
        right.close()
        server.wait_for_log("carol registered")
        assert SERVER_PASSWORD not in server.log() and "not-the-password" not in server.log()
    finally:
        server.stop()


# ------------------------------------------------------------------ accounts and reserved nicks


def test_user_added_while_running_logs_in_and_owns_its_nick(open_server: ServerProcess, connect: Connect) -> None:
    add_user(open_server, "alice", "correct horse battery")

    stranger, stranger_events = connect("alice")
    joined = stranger_events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert isinstance(joined, ev.Connected) and joined.nick == "alice_"
    assert any(isinstance(e, ev.Info) and "belongs to a registered user" in e.text for e in stranger_events.seen)

    _owner, owner_events = connect("alice", account=("alice", "correct horse battery"))
    got_in = owner_events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert isinstance(got_in, ev.Connected) and got_in.nick == "alice"
    assert ev.Info("logged in as alice") in owner_events.seen

    perform(cmd.Whois("alice"), stranger)
    stranger_events.wait_for(lambda e: e == ev.Info("alice is logged in as alice"))
    perform(cmd.Nick("alice"), stranger)
    stranger_events.wait_for(lambda e: isinstance(e, ev.Error) and "alice" in e.text)
    assert stranger.nick == "alice_"


def test_unregistered_squatters_keep_nobody_from_a_nick(open_server: ServerProcess, connect: Connect) -> None:
    """A connection that only sent NICK holds nothing: the account owner, and a plain user
    whose nick a stranger is sitting on, both get their nicks."""
    add_user(open_server, "alice", "correct horse battery")
    squatters = [Peer(open_server.host, open_server.port) for _ in range(2)]
    squatters[0].send("NICK alice")
    squatters[1].send("NICK frank")
    squatters[1].send("PING :sync")
    squatters[1].expect_command("PONG")

    _owner, owner_events = connect("alice", account=("alice", "correct horse battery"))
    got_in = owner_events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert isinstance(got_in, ev.Connected) and got_in.nick == "alice"
    _frank, frank_events = connect("frank")
    got_in = frank_events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert isinstance(got_in, ev.Connected) and got_in.nick == "frank"

    squatters[1].send("USER s 0 * :S")  # too late: frank is registered now
    assert squatters[1].expect_command("433").params[1] == "frank"
    for peer in squatters:
        peer.close()


def test_chat_connect_with_account_logs_in_and_a_wrong_password_is_fatal(
    open_server: ServerProcess, connect: Connect
) -> None:
    add_user(open_server, "dave", "daves long password")
    _listener, heard = connect("listener")
    heard.wait_for(in_room("#lobby"))
    address = f"{open_server.host}:{open_server.port}"

    done = chat("connect", address, "-n", "dave", "--account", "dave", "--no-retry", "--plaintext-login",
                stdin="hello as dave\n", env={"CHAT_ACCOUNT_PASSWORD": "daves long password"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "logged in as dave" in done.stdout
    assert heard.message("hello as dave").sender == "dave"

    failed = chat("connect", address, "-n", "dave", "--account", "dave", "--plaintext-login", stdin="never sent\n",
                  env={"CHAT_ACCOUNT_PASSWORD": "guess"})  # fmt: skip
    assert failed.returncode == 1
    assert "could not log in as dave: wrong account name or password" in failed.stderr
    assert failed.stdout.count("connecting to") == 1  # no reconnect loop, even without --no-retry


def test_login_without_tls_is_refused_by_default(tmp_path: Path) -> None:
    server = start_server(tmp_path, "  reserve_nicks: true\n")
    try:
        add_user(server, "erin", "erins long password")
        conn = Connection(
            server.host, server.port, "erin", account=("erin", "erins long password"), plaintext_login=True
        ).start()
        watcher = Watcher(conn)
        refused = watcher.wait_for(lambda e: isinstance(e, ev.Refused))
        assert isinstance(refused, ev.Refused) and "log in over TLS (port 6697)" in refused.reason
        watcher.wait_for(lambda e: isinstance(e, ev.Closed))
    finally:
        server.stop()


def test_client_sends_no_account_password_to_a_plain_server_that_asks_for_it() -> None:
    """A spoofed server on a plain link answers every CAP and AUTHENTICATE: without TLS (and
    without --plaintext-login) the password never reaches it, and the user is told why."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        conn = Connection("127.0.0.1", port, "erin", account=("erin", "erins long password"), backoff_cap=1.0)
        conn.start()
        watcher = Watcher(conn)
        peer, _ = listener.accept()
        with peer:
            peer.settimeout(10)
            peer.sendall(b":spoof CAP * LS :sasl=PLAIN\r\n:spoof CAP erin ACK :sasl\r\nAUTHENTICATE +\r\n")
            refused = watcher.wait_for(lambda e: isinstance(e, ev.Refused))
            assert isinstance(refused, ev.Refused) and "account login needs TLS" in refused.reason
            watcher.wait_for(lambda e: isinstance(e, ev.Closed))
            received = b""
            while chunk := peer.recv(4096):
                received += chunk
        conn.close()
    assert b"NICK erin" in received
    assert b"AUTHENTICATE" not in received and b"erins long password" not in received
    assert base64.b64encode(b"erin\0erin\0erins long password") not in received


# ------------------------------------------------------------------------------- OPER / KILL


def test_operator_kills_an_abusive_user_while_others_keep_chatting(
    open_server: ServerProcess, connect: Connect
) -> None:
    add_user(open_server, "boss", "boss long password", "--oper")
    boss, boss_events = connect("boss", account=("boss", "boss long password"))
    abuser, abuser_events = connect("spammer")
    carol, carol_events = connect("carol")
    for watcher in (boss_events, abuser_events, carol_events):
        watcher.wait_for(in_room("#lobby"))

    perform(cmd.Kill("spammer", "not yet"), boss)
    boss_events.wait_for(lambda e: isinstance(e, ev.Error) and "only server operators" in e.text)
    perform(cmd.Oper("boss", "boss long password"), boss)
    boss_events.wait_for(lambda e: e == ev.Info("you are now a server operator"))

    abuser.say("#lobby", "BUY CHEAP STUFF")
    carol_events.message("BUY CHEAP STUFF")
    perform(cmd.Kill("spammer", "spam"), boss)

    gone = carol_events.wait_for(lambda e: isinstance(e, ev.Quit) and e.nick == "spammer")
    assert isinstance(gone, ev.Quit) and gone.reason == "Killed (boss (spam))"
    refused = abuser_events.wait_for(lambda e: isinstance(e, ev.Refused))
    assert refused == ev.Refused("you were removed from the chat by boss: Killed (boss (spam))", "killed")
    abuser_events.wait_for(lambda e: isinstance(e, ev.Closed))

    carol.say("#lobby", "thanks, much quieter")
    assert boss_events.message("thanks, much quieter").sender == "carol"
    open_server.wait_for_log(r"KILL: boss \(oper boss\) killed spammer")


# -------------------------------------------------------------------------------------- KICK


def test_kick_removes_from_the_room_for_good(open_server: ServerProcess, connect: Connect) -> None:
    alice, alice_events = connect("alice", channels=["#dev"])
    alice_events.wait_for(in_room("#dev"))  # first in #dev: its operator
    bob, bob_events = connect("bob", channels=["#dev"])
    bob_events.wait_for(in_room("#dev"))

    perform(cmd.Kick("#dev", ("bob",), "off topic"), bob)  # bob is no operator there
    bob_events.wait_for(lambda e: isinstance(e, ev.Error) and "operator of #dev" in e.text)
    perform(cmd.Kick("#dev", ("bob",), "off topic"), alice)

    kicked = bob_events.wait_for(lambda e: isinstance(e, ev.Kicked))
    assert kicked == ev.Kicked("#dev", "bob", "off topic", True, "alice")
    seen = alice_events.wait_for(lambda e: isinstance(e, ev.Kicked))
    assert seen == ev.Kicked("#dev", "bob", "off topic", False, "alice")
    assert "#dev" not in bob.channels
    open_server.wait_for_log("KICK: alice removed bob from #dev: off topic")

    # After a server restart bob is put back into #lobby, but not into the room he was kicked from.
    open_server.restart()
    bob_events.wait_for(lambda e: isinstance(e, ev.Connected))
    bob_events.wait_for(in_room("#lobby"))
    alice_events.wait_for(in_room("#dev"))
    perform(cmd.Names("#dev"), bob)
    names = bob_events.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == "#dev")
    assert isinstance(names, ev.Names) and "bob" not in [n.lstrip("@") for n in names.nicks]
