"""Finding a real ``chat serve`` by its mDNS announcement on this machine, with no address given.

The test servers listen on 127.0.0.1, and a server announces only on the interfaces it listens
on (chat/server/advertise.py), so these announcements go out on loopback: real multicast DNS
through the kernel, seen by every process on this machine and by nothing outside it. That keeps
the tests apart from any chat server on the network around the machine; should one be visible
anyway, the test that needs "exactly one server" is skipped rather than wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.client import discovery
from chat.client import events as ev
from chat.client.connection import Connection
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher

#: A server has announced itself once zeroconf finished probing for its name (about 2 s).
ANNOUNCED = r'announced on the LAN as "([^"]+)"'


def announcing(tmp_path: Path, name: str, *, port: int = 0, extra: str = "") -> ServerProcess:
    config = tmp_path / f"{uuid.uuid4().hex[:6]}.yaml"
    config.write_text(f"discovery:\n  name: {name}\n{extra}", encoding="utf-8")
    server = ServerProcess(tmp_path / "data", extra_args=("--config", str(config)), port=port, discovery=True)
    server.start()
    server.wait_for_log(ANNOUNCED, timeout=15)
    return server


@pytest.fixture
def name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def server(tmp_path: Path, name: str) -> Iterator[ServerProcess]:
    proc = announcing(tmp_path, name)
    try:
        yield proc
    finally:
        proc.stop()


def chat(*args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "chat", *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_chat_discover_json_finds_the_server(server: ServerProcess, name: str) -> None:
    result = chat("discover", "--json", "--timeout", "3")
    assert result.returncode == 0, result.stderr
    mine = [s for s in json.loads(result.stdout) if s["name"] == name]
    assert mine == [
        {
            "name": name, "address": f"127.0.0.1:{server.port}", "addresses": ["127.0.0.1"],
            "port": server.port, "tls_port": None, "tls": False, "password": False, "users": 0,
            "server": "chat.lan", "network": "LAN", "version": mine[0]["version"],
        }
    ]  # fmt: skip
    assert mine[0]["version"].startswith("chat-")


def test_the_table_lists_it_and_it_is_gone_after_sigterm(server: ServerProcess, name: str) -> None:
    table = chat("discover", "--timeout", "2")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["name", "address", "tls", "password", "users", "version"]
    assert any(line.split()[:2] == [name, f"127.0.0.1:{server.port}"] for line in table.stdout.splitlines())
    assert server.terminate() == 0
    assert "LAN announcement withdrawn" in server.log()
    assert all(s.name != name for s in discovery.browse(2))


def test_connect_without_an_address_finds_the_only_server(server: ServerProcess, name: str) -> None:
    others = [f.name for f in discovery.browse(2) if f.name != name]
    if others:
        pytest.skip(f"other chat servers announce themselves where this machine sees them: {others}")
    result = chat("connect", "--json", "--nick", "finder", "--no-retry", stdin="hello from nowhere\n")
    assert result.returncode == 0, result.stderr
    assert f"found one chat server on the LAN: {name} at 127.0.0.1:{server.port}" in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["type"] == "connected" for e in events)
    assert any(e["type"] == "acknowledged" for e in events)


def test_a_disabled_announcement_is_not_found(tmp_path: Path, name: str) -> None:
    quiet = announcing(tmp_path, name + "-a")  # a server that does announce, to know browsing works
    try:
        config = tmp_path / "quiet.yaml"
        config.write_text(f"discovery:\n  enabled: false\n  name: {name}\n", encoding="utf-8")
        hidden = ServerProcess(tmp_path / "data2", extra_args=("--config", str(config)), discovery=True).start()
        try:
            hidden.wait_for_log("not announced on the LAN")
            names = {f.name for f in discovery.browse(2)}
            assert name + "-a" in names and name not in names
        finally:
            hidden.stop()
    finally:
        quiet.stop()


def test_resolver_follows_a_server_that_came_back_on_another_port(tmp_path: Path, name: str) -> None:
    """The real look-up a reconnecting client makes: by name, fresh, so the new port is found."""
    first = announcing(tmp_path, name)
    try:
        [found] = [f for f in discovery.browse(2) if f.name == name]
        again = discovery.resolver(found, tls=False)
        assert again() == ("127.0.0.1", first.port)
    finally:
        first.terminate()
    second = announcing(tmp_path, name)  # port 0: another free port
    try:
        assert second.port != first.port
        assert again() == ("127.0.0.1", second.port)
    finally:
        second.stop()


def test_connection_reconnects_where_the_resolver_says(tmp_path: Path) -> None:
    """The reconnect path itself, with a stand-in resolver: the old port is dead, the server
    is elsewhere now, and the connection gets there and says so."""
    old = ServerProcess(tmp_path / "old").start()
    new = ServerProcess(tmp_path / "new").start()
    where = [("127.0.0.1", old.port)]
    conn = Connection("127.0.0.1", old.port, "mover", backoff_cap=1.0, resolve=lambda: where[-1]).start()
    watcher = Watcher(conn)
    try:
        watcher.wait_for(lambda e: isinstance(e, ev.Connected))
        where.append(("127.0.0.1", new.port))
        old.stop()
        moved = watcher.wait_for(lambda e: isinstance(e, ev.Info) and "now at" in e.text)
        assert isinstance(moved, ev.Info) and f"127.0.0.1:{new.port}" in moved.text
        connected = watcher.wait_for(lambda e: isinstance(e, ev.Connected))
        assert isinstance(connected, ev.Connected) and connected.address == f"127.0.0.1:{new.port}"
        assert conn.status.address == f"127.0.0.1:{new.port}"
    finally:
        conn.close()
        new.stop()
        old.stop()


def test_a_failing_resolver_keeps_the_old_address(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    calls: list[float] = []

    def broken() -> tuple[str, int] | None:
        calls.append(time.monotonic())
        raise RuntimeError("resolver bug")

    conn = Connection("127.0.0.1", server.port, "steady", backoff_cap=1.0, resolve=broken).start()
    watcher = Watcher(conn)
    try:
        watcher.wait_for(lambda e: isinstance(e, ev.Connected))
        port = server.port
        server.kill()
        watcher.wait_for(lambda e: isinstance(e, ev.Disconnected))
        server.start()
        assert server.port == port
        watcher.wait_for(lambda e: isinstance(e, ev.Connected))
        assert calls and conn.status.address == f"127.0.0.1:{port}"
    finally:
        conn.close()
        server.stop()
