"""``chat status`` as a health check: real ``chat serve`` and ``chat status`` processes on loopback,
with the settings an admin uses in production (a server password, TLS only)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
