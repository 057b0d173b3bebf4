"""``chat status`` as a health check: real ``chat serve`` and ``chat status`` processes on loopback,
with the settings an admin uses in production (a server password, TLS only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.server.certificate import write_pair
from tests.helpers.server_process import ServerProcess


def chat(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chat", *args], capture_output=True, text=True, timeout=30, env=env)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def password_server(tmp_path: Path) -> Iterator[ServerProcess]:
    config = tmp_path / "chat.yaml"
    config.write_text("auth:\n  password: lanpass123\n", encoding="utf-8")
    proc = ServerProcess(tmp_path / "data", extra_args=("--config", str(config))).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_a_server_with_a_password_is_up_for_status(password_server: ServerProcess) -> None:
    result = chat("status", f"127.0.0.1:{password_server.port}", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert f"is up at 127.0.0.1:{password_server.port}" in result.stdout
    assert "answers; a server password is required to chat" in result.stdout
    assert result.stderr == ""


def test_status_config_checks_a_tls_only_server_with_a_password_without_any_pin(tmp_path: Path) -> None:
    """What the container's health check runs: the settings say where to look (the TLS port,
    as the plain one is closed); no pin exists where it runs, and it must not make one."""
    data_dir = tmp_path / "data"
    write_pair(data_dir / "tls", ["localhost", "127.0.0.1"])
    tls_port = free_port()
    config = tmp_path / "chat.yaml"
    config.write_text(
        f"server:\n  host: 0.0.0.0\n  data_dir: {data_dir}\n"
        f"tls:\n  cert: tls/cert.pem\n  key: tls/key.pem\n  port: {tls_port}\n  require: true\n"
        "auth:\n  password: lanpass123\n  reserve_nicks: true\n",
        encoding="utf-8",
    )
    server = ServerProcess(data_dir, extra_args=("--config", str(config))).start()
    try:
        known = tmp_path / "config" / "chat" / "known_servers"
        env = {**os.environ, "CHAT_KNOWN_SERVERS": str(known)}
        result = chat("status", "--timeout", "5", "--config", str(config), env=env)
        assert result.returncode == 0, result.stderr
        assert f"is up at 127.0.0.1:{tls_port}" in result.stdout
        assert "a server password is required to chat" in result.stdout
        assert "TLS:          SHA256:" in result.stdout
        assert not known.exists() and not known.parent.exists()  # nothing pinned, nothing made

        # A stale pin (a certificate made again since) does not fail the server's own check...
        known.parent.mkdir(parents=True)
        known.write_text(f"127.0.0.1:{tls_port} SHA256:{':'.join(['00'] * 32)}\n", encoding="utf-8")
        assert chat("status", "--config", str(config), env=env).returncode == 0
        # ...but a check by address still does: that is a user's check, and the pin is theirs.
        by_address = chat("status", "--tls", f"127.0.0.1:{tls_port}", env=env)
        assert by_address.returncode == 1 and "CHANGED" in by_address.stderr
    finally:
        server.stop()


def test_status_config_follows_chat_port_like_chat_serve(tmp_path: Path, server: ServerProcess) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text("server:\n  port: 1\n", encoding="utf-8")  # CHAT_PORT wins, as for chat serve
    result = chat("status", "--config", str(config), env={**os.environ, "CHAT_PORT": str(server.port)})
    assert result.returncode == 0, result.stderr
    assert f"is up at 127.0.0.1:{server.port}" in result.stdout


def test_status_config_of_a_stopped_server_fails(tmp_path: Path) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text(f"server:\n  port: {free_port()}\n", encoding="utf-8")
    result = chat("status", "--timeout", "2", "--config", str(config), env={**os.environ, "CHAT_PORT": ""})
    assert result.returncode == 1
    assert "connection refused" in result.stderr
