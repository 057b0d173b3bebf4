"""TLS end to end: a real server with a certificate made by ``chat cert``'s code, real clients,
real handshakes on loopback. Waiting is always for an event or a log line, with a deadline."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chat.client import events as ev
from chat.client.connection import Connection
from chat.client.pins import KnownServers, server_key
from chat.client.render import describe
from chat.server.certificate import write_pair
from tests.helpers.clients import Clients
from tests.helpers.irc_peer import Peer
from tests.helpers.server_process import ServerProcess
from tests.helpers.tls_server import start_tls_server, write_config
from tests.helpers.watcher import DEADLINE, Watcher

Connect = Callable[..., tuple[Connection, Watcher]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    made = write_pair(tmp_path / "data" / "tls", ["localhost", "127.0.0.1"])
    assert made.key.stat().st_mode & 0o777 == 0o600
    return tmp_path / "data"


@pytest.fixture
def tls_server(tmp_path: Path, data_dir: Path) -> Iterator[ServerProcess]:
    proc = start_tls_server(tmp_path, registration_timeout=2)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KnownServers:
    """Pins in a temporary file, so no test reads or writes the user's own."""
    path = tmp_path / "known_servers"
    monkeypatch.setenv("CHAT_KNOWN_SERVERS", str(path))
    return KnownServers(path)


@pytest.fixture
def connect(tls_server: ServerProcess, known: KnownServers) -> Iterator[Connect]:
    with Clients(tls_server.host, tls_server.port, known_servers=known) as clients:

        def make(nick: str, *, tls: bool = True, **options: object) -> tuple[Connection, Watcher]:
            port = tls_server.tls_port if tls else tls_server.port
            assert port is not None
            return clients.open(nick, port=port, tls=tls, **options)

        yield make


def in_lobby(event: ev.Event) -> bool:
    return isinstance(event, ev.Names) and event.channel == "#lobby"


def fingerprint_in_log(server: ServerProcess) -> str:
    return server.wait_for_log(r"TLS certificate fingerprint: (SHA256:[0-9A-F:]{95})").group(1)


def test_handshake_registration_and_whois_shows_the_secure_connection(tls_server: ServerProcess) -> None:
    assert tls_server.tls_port is not None and tls_server.tls_port != tls_server.port
    alice = Peer(tls_server.host, tls_server.tls_port, tls=True).register("alice")
    assert isinstance(alice.sock, ssl.SSLSocket) and alice.sock.version() in ("TLSv1.2", "TLSv1.3")
    bob = Peer(tls_server.host, tls_server.port).register("bob")
    bob.send("WHOIS alice")
    assert bob.expect_command("671").params[1:] == ["alice", "is using a secure connection"]
    alice.send("WHOIS bob")
    whois = alice.expect_command("318")
    assert not any(m.command == "671" for m in alice.received[: alice.received.index(whois)])


def test_first_contact_pins_the_certificate_and_says_so(
    tls_server: ServerProcess, connect: Connect, known: KnownServers
) -> None:
    _alice, events = connect("alice")
    pinned = events.wait_for(lambda e: isinstance(e, ev.CertificatePinned))
    assert isinstance(pinned, ev.CertificatePinned)
    assert pinned.fingerprint == fingerprint_in_log(tls_server)
    assert pinned.file == str(known.path)
    key = server_key(tls_server.host, tls_server.tls_port or 0)
    assert known.entries() == {key: pinned.fingerprint}
    events.wait_for(lambda e: isinstance(e, ev.Connected))
    # Once pinned, the next connection says nothing about it.
    _again, again_events = connect("alice2")
    again_events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert not any(isinstance(e, ev.CertificatePinned) for e in again_events.seen)


def test_plain_and_tls_clients_talk_in_one_room(connect: Connect) -> None:
    secure, secure_events = connect("secure")
    plain, plain_events = connect("plain", tls=False)
    secure_events.wait_for(in_lobby)
    plain_events.wait_for(in_lobby)
    secure.say("#lobby", "over TLS")
    assert plain_events.message("over TLS").sender == "secure"
    plain.say("#lobby", "in plain text")
    assert secure_events.message("in plain text").sender == "plain"
    # A burst (within flood limits) arrives whole: nothing may stick in OpenSSL's buffer.
    burst = [f"line {i} " + "x" * 400 for i in range(12)]
    for text in burst:
        plain.say("#lobby", text)
    for text in burst:
        secure_events.message(text)
    assert secure.wait_until_settled(DEADLINE) and plain.wait_until_settled(DEADLINE)


def test_a_changed_certificate_is_refused_once_without_retrying(
    tmp_path: Path, tls_server: ServerProcess, data_dir: Path, connect: Connect, known: KnownServers
) -> None:
    conn, events = connect("alice")
    first = events.wait_for(lambda e: isinstance(e, ev.CertificatePinned))
    events.wait_for(lambda e: isinstance(e, ev.Connected))
    assert tls_server.tls_port is not None
    # The admin makes a new certificate and restarts the server on the same ports.
    write_pair(data_dir / "tls", ["localhost"], force=True)
    write_config(tmp_path / "tls.yaml", tls_port=tls_server.tls_port)
    tls_server.restart()
    new_print = fingerprint_in_log_after_restart(tls_server)

    changed = events.wait_for(lambda e: isinstance(e, ev.CertificateChanged))
    assert isinstance(changed, ev.CertificateChanged) and isinstance(first, ev.CertificatePinned)
    assert (changed.expected, changed.got, changed.given) == (first.fingerprint, new_print, False)
    events.wait_for(lambda e: isinstance(e, ev.Closed))
    after = events.seen[events.seen.index(changed) :]
    assert not any(isinstance(e, ev.Connecting | ev.Reconnecting) for e in after)
    refusal = next(e for e in after if isinstance(e, ev.Disconnected))
    assert "not the one remembered" in refusal.reason
    assert conn.status.state == "closed"
    assert known.get(server_key(tls_server.host, tls_server.tls_port)) == first.fingerprint  # the old pin stays

    from chat.client.render import describe

    warning = describe(changed) or ""
    assert "CHANGED" in warning and "attacker" in warning and "new certificate" in warning
    assert f"chat trust --forget {tls_server.host}:{tls_server.tls_port}" in warning


def fingerprint_in_log_after_restart(server: ServerProcess) -> str:
    """The second start-up's fingerprint (the log holds both runs)."""
    line = r"TLS certificate fingerprint: (SHA256:[0-9A-F:]{95})"
    return server.wait_for_log(rf"(?s){line}.*{line}").group(2)


def test_a_client_that_never_handshakes_is_dropped_while_tls_clients_chat(
    tls_server: ServerProcess, connect: Connect
) -> None:
    assert tls_server.tls_port is not None
    silent = socket.create_connection((tls_server.host, tls_server.tls_port), timeout=DEADLINE)
    alice, alice_events = connect("alice")
    _bob, bob_events = connect("bob")
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    # registration_timeout is 2 s: the silent socket is closed without a word (no plain ERROR).
    assert silent.recv(100) == b""
    silent.close()
    tls_server.wait_for_log(r"TLS handshake with 127\.0\.0\.1 did not finish in time")
    alice.say("#lobby", "still here")
    assert bob_events.message("still here").sender == "alice"
    assert "Traceback" not in tls_server.log()


@pytest.mark.parametrize(
    "junk",
    [b"NICK plain\r\nUSER u 0 * :plain\r\n", b"\x16\x03\x01\x00\x05garbage" + bytes(range(256)), b"\x00" * 10],
    ids=["plain-irc", "broken-hello", "zeros"],
)
def test_plain_text_and_garbage_on_the_tls_port_do_not_hurt_the_server(
    tls_server: ServerProcess, connect: Connect, junk: bytes
) -> None:
    assert tls_server.tls_port is not None
    intruder = socket.create_connection((tls_server.host, tls_server.tls_port), timeout=DEADLINE)
    intruder.sendall(junk)
    with contextlib.suppress(ConnectionResetError):
        assert intruder.recv(4096)[:1] in (b"", b"\x15")  # closed, at most after a TLS alert
    intruder.close()
    tls_server.wait_for_log(r"INFO chat\.server\.loop: TLS handshake with 127\.0\.0\.1 failed: ")
    alice, alice_events = connect("alice")
    _bob, bob_events = connect("bob", tls=False)
    alice_events.wait_for(in_lobby)
    bob_events.wait_for(in_lobby)
    alice.say("#lobby", "fine")
    bob_events.message("fine")
    log = tls_server.log()
    assert "Traceback" not in log and "ERROR" not in log
    assert len([line for line in log.splitlines() if "TLS handshake with" in line]) == 1


def test_tls_only_server_has_no_plain_listener(tmp_path: Path, data_dir: Path, known: KnownServers) -> None:
    config = tmp_path / "only.yaml"
    config.write_text("tls:\n  cert: tls/cert.pem\n  key: tls/key.pem\n  port: 0\n  require: true\n", encoding="utf-8")
    server = ServerProcess(data_dir, extra_args=("--config", str(config))).start()
    try:
        assert server.tls_port is not None
        server.wait_for_log(r"listening on 127\.0\.0\.1:\d+ \(TLS only\)")
        assert "(TLS only)" in server.log() and server.log().count("listening on") == 1
        Peer(server.host, server.tls_port, tls=True).register("alice")
    finally:
        server.stop()


def unwritable_store(tmp_path: Path) -> KnownServers:
    """A pin file that cannot be changed: its lock file is a directory (unlike a read-only
    directory, that stops root too, and tests may run as root)."""
    path = tmp_path / "conf" / "known_servers"
    (tmp_path / "conf" / "known_servers.lock").mkdir(parents=True)
    return KnownServers(path)


def test_a_pin_that_cannot_be_saved_refuses_the_first_connection(tmp_path: Path, tls_server: ServerProcess) -> None:
    """Talking anyway would make every connection a first use: no certificate would ever be checked."""
    store = unwritable_store(tmp_path)
    assert tls_server.tls_port is not None
    conn = Connection(tls_server.host, tls_server.tls_port, "alice", tls=True, known_servers=store, backoff_cap=1.0)
    events = Watcher(conn)
    try:
        conn.start()
        closed = events.wait_for(lambda e: isinstance(e, ev.Closed))
        assert not any(isinstance(e, ev.Connected | ev.Reconnecting) for e in events.seen)
        assert isinstance(closed, ev.Closed)
        assert str(store.path) in closed.reason and "CHAT_KNOWN_SERVERS" in closed.reason
        assert "--fingerprint" in closed.reason
    finally:
        conn.close()


def test_a_given_fingerprint_is_the_check_when_the_pin_cannot_be_saved(
    tmp_path: Path, tls_server: ServerProcess
) -> None:
    store = unwritable_store(tmp_path)
    assert tls_server.tls_port is not None
    given = fingerprint_in_log(tls_server)
    conn = Connection(tls_server.host, tls_server.tls_port, "alice", fingerprint=given, known_servers=store)
    events = Watcher(conn)
    try:
        conn.start()
        events.wait_for(lambda e: isinstance(e, ev.Connected))
        warning = next(e for e in events.seen if isinstance(e, ev.Error))
        assert isinstance(warning, ev.Error) and str(store.path) in warning.text
    finally:
        conn.close()


def test_forgetting_tls_on_the_tls_port_says_so(tls_server: ServerProcess, known: KnownServers) -> None:
    """A plain client on the TLS port is hung up on before any IRC line: the reason names TLS."""
    assert tls_server.tls_port is not None
    with Clients(tls_server.host, tls_server.tls_port, known_servers=known) as clients:
        _conn, events = clients.open("plain", reconnect=False)
        closed = events.wait_for(lambda e: isinstance(e, ev.Closed))
    assert isinstance(closed, ev.Closed)
    assert f"127.0.0.1:{tls_server.tls_port}" in closed.reason
    assert "connect with --tls" in closed.reason


def test_a_plain_link_that_ends_after_talking_gets_no_tls_hint(connect: Connect, tls_server: ServerProcess) -> None:
    _plain, events = connect("plain", tls=False, reconnect=False)
    events.wait_for(lambda e: isinstance(e, ev.Connected))
    tls_server.terminate()
    closed = events.wait_for(lambda e: isinstance(e, ev.Closed))
    assert isinstance(closed, ev.Closed) and "--tls" not in closed.reason


def test_a_given_fingerprint_that_matches_is_not_announced_as_a_first_connection(
    tls_server: ServerProcess, connect: Connect, known: KnownServers
) -> None:
    given = fingerprint_in_log(tls_server)
    _alice, events = connect("alice", fingerprint=given)
    pinned = events.wait_for(lambda e: isinstance(e, ev.CertificatePinned))
    assert isinstance(pinned, ev.CertificatePinned) and pinned.given and not pinned.replaced
    assert "first TLS connection" not in (describe(pinned) or "")


def test_chat_status_without_tls_on_the_tls_port_suggests_tls(tls_server: ServerProcess) -> None:
    from chat.client.status import StatusError, probe

    assert tls_server.tls_port is not None
    with pytest.raises(StatusError) as refused:
        probe(tls_server.host, tls_server.tls_port, 5.0)
    assert "connect with --tls" in str(refused.value)
    assert probe(tls_server.host, tls_server.port, 5.0).server  # the plain port answers as before


def test_a_server_found_by_name_is_checked_against_the_pin_of_its_name_wherever_it_moves(
    tmp_path: Path, data_dir: Path, known: KnownServers
) -> None:
    """A stand-in resolver sends the connection to the same server (same certificate) on another
    port, then to another server with another certificate announcing the same name."""
    import shutil

    shutil.copytree(data_dir / "tls", tmp_path / "moved" / "data" / "tls")  # the same server, moved
    servers = [start_tls_server(tmp_path), start_tls_server(tmp_path / "moved"), start_tls_server(tmp_path / "fake")]
    first, moved, fake = servers
    assert first.tls_port and moved.tls_port and fake.tls_port
    where = [(first.host, first.tls_port)]
    conn = Connection(
        first.host, first.tls_port, "alice", tls=True, backoff_cap=1.0, known_servers=known,
        resolve=lambda: where[-1], service_name="Office chat",
    )  # fmt: skip
    events = Watcher(conn.start())
    try:
        pinned = events.wait_for(lambda e: isinstance(e, ev.CertificatePinned))
        assert isinstance(pinned, ev.CertificatePinned)
        events.wait_for(lambda e: isinstance(e, ev.Connected))
        assert known.get("mdns:office%20chat") == pinned.fingerprint

        where.append((moved.host, moved.tls_port))
        first.stop()
        back = events.wait_for(lambda e: isinstance(e, ev.Connected))
        assert isinstance(back, ev.Connected) and back.address == f"{moved.host}:{moved.tls_port}"
        assert [e for e in events.seen if isinstance(e, ev.CertificatePinned)] == [pinned]  # silently
        assert known.get(server_key(moved.host, moved.tls_port)) == pinned.fingerprint

        where.append((fake.host, fake.tls_port))
        moved.stop()
        changed = events.wait_for(lambda e: isinstance(e, ev.CertificateChanged))
        assert isinstance(changed, ev.CertificateChanged)
        assert (changed.name, changed.expected, changed.given) == ("Office chat", pinned.fingerprint, False)
        assert changed.got == fingerprint_in_log(fake) != pinned.fingerprint
        events.wait_for(lambda e: isinstance(e, ev.Closed))
        after = events.seen[events.seen.index(changed) :]
        assert not any(isinstance(e, ev.Connecting | ev.Reconnecting | ev.Connected) for e in after)
        warning = describe(changed) or ""
        assert f'announced on the LAN as "Office chat" (now at {fake.host}:{fake.tls_port}) has CHANGED' in warning
        assert known.get(server_key(fake.host, fake.tls_port)) is None  # nothing pinned for the impostor
    finally:
        conn.close()
        for server in servers:
            server.stop()
