"""The project's compose.yaml as an admin uses it: up, healthy, restarted after a crash, down -v."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import docker
import pytest

from tests.integration.images import ROOT, build_lock
from tests.integration.lab import wait_for
from tests.integration.timings import record_timing


def _free_port() -> int:
    """A host port nobody uses now, so the test does not clash with a real server on 6667."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat", "status", f"127.0.0.1:{port}", "--timeout", "3"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_compose_up_gives_a_healthy_server_that_restarts_after_a_crash(
    docker_client: docker.DockerClient, base_image: str, chat_image: str
) -> None:
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is missing (make sysdeps installs it)")
        pytest.skip("docker-compose is not installed (make sysdeps installs it)")
    project = f"chattest{uuid.uuid4().hex[:8]}"
    port = _free_port()
    env = {
        **os.environ,
        "BASE_IMAGE": base_image,
        # A tag of its own, so compose builds it (from the wheelhouse the session build made)
        # and `down --rmi all` removes only that.
        "CHAT_IMAGE": f"chat:{project}",
        "CHAT_HOST_PORT": str(port),
    }
    compose = ["docker-compose", "--project-name", project, "--file", str(ROOT / "compose.yaml")]
    selector = {"label": f"com.docker.compose.project={project}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    def logs() -> str:
        return run("logs", "--no-color").stdout[-4000:]

    try:
        start = time.monotonic()
        with build_lock():  # compose builds from ./wheelhouse, which a concurrent image build rewrites
            up = run("up", "--detach", "--build")
        assert up.returncode == 0, up.stdout + up.stderr
        wait_for(lambda: _status(port).returncode == 0, 60, lambda: f"chat status never succeeded\n{logs()}")
        record_timing("compose", "up --build to chat status OK", time.monotonic() - start)

        (container,) = docker_client.containers.list(filters=selector)

        def health() -> str:
            container.reload()
            return str(container.attrs["State"].get("Health", {}).get("Status", "none"))

        wait_for(lambda: health() == "healthy", 60, lambda: f"never healthy ({health()})\n{logs()}")
        record_timing("compose", "up --build to docker reporting healthy", time.monotonic() - start)

        # Not root, and the only place it can write is the data volume.
        probe = container.exec_run(
            ["sh", "-c", "id -u; for d in /data /tmp /etc /opt/chat; do touch $d/p 2>/dev/null && echo $d; done"]
        )
        assert probe.output.decode().split() == ["10001", "/data"], probe.output

        # A crash of the server process (not a docker stop): restart: unless-stopped brings it back.
        start = time.monotonic()
        killed = container.exec_run(["sh", "-c", "kill -KILL $(cat /proc/1/task/1/children)"])
        assert killed.exit_code == 0, killed.output
        wait_for(
            lambda: container.reload() or container.attrs["RestartCount"] >= 1,
            30,
            lambda: f"not restarted after the crash\n{logs()}",
        )
        wait_for(lambda: _status(port).returncode == 0, 60, lambda: f"not answering after the restart\n{logs()}")
        record_timing("compose", "server killed to chat status OK again", time.monotonic() - start)
        assert "Traceback" not in logs()
    finally:
        down = run("down", "--volumes", "--rmi", "all")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not docker_client.containers.list(all=True, filters=selector)
    assert not docker_client.volumes.list(filters=selector)
