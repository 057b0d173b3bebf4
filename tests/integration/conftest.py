"""Integration tests: the real image on a private Docker network, server and clients on separate hosts.

The images are built once per session by the project's own scripts (deploy/build-base-image.sh
when the Debian base is missing, then deploy/build-image.sh), so these tests also prove that a
fresh machine can build them without any registry. Without a Docker engine the tests are
skipped, except under CI=true, where that is a failure: CI must not pass by testing nothing.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.images import ScriptFailed, base_tag, build_lock, run_script
from tests.integration.lab import LABEL, Lab
from tests.integration.timings import record_timing, summary_lines

# No reaper image can be pulled here; every fixture below removes what it created instead.
os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"

IMAGE = os.environ.get("CHAT_TEST_IMAGE", "chat:test")  # another tag keeps parallel worktrees apart
#: Image builds happen in the first test's setup, so these tests get more than the default timeout.
TIMEOUT = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TIMEOUT))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("integration timings")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no Docker engine is reachable: {err}")
        pytest.skip(f"no Docker engine reachable (docker info fails): {err}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def session_id(docker_client: docker.DockerClient) -> Iterator[str]:
    """Labels this session's containers, networks and volumes; leftovers are swept at the end."""
    session = uuid.uuid4().hex[:12]
    yield session
    selector = {"label": f"{LABEL}={session}"}
    for container in docker_client.containers.list(all=True, filters=selector):
        container.remove(force=True, v=True)
    for network in docker_client.networks.list(filters=selector):
        network.remove()
    for volume in docker_client.volumes.list(filters=selector):
        volume.remove(force=True)


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """Our registry-free Debian base (deploy/build-base-image.sh), built when missing."""
    tag = base_tag()
    with build_lock():
        try:
            docker_client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
        if os.geteuid() != 0 and os.environ.get("CI") != "true":
            pytest.skip(f"{tag} is missing and building it needs root: run sudo make base-image")
        start = time.monotonic()
        try:
            run_script("deploy/build-base-image.sh", tag)
        except ScriptFailed as err:
            pytest.fail(f"building the base image failed: {err}")
        record_timing("images", f"base image {tag} built", time.monotonic() - start)
    return tag


@pytest.fixture(scope="session")
def chat_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """The project image, built by deploy/build-image.sh from this working tree once per session."""
    start = time.monotonic()
    try:
        run_script("deploy/build-image.sh", IMAGE, env={"BASE_IMAGE": base_image, "PYTHON": sys.executable})
    except ScriptFailed as err:
        pytest.fail(f"building the chat image failed: {err}")
    size = docker_client.images.get(IMAGE).attrs["Size"] / 1e6
    record_timing("images", f"{IMAGE} built ({size:.0f} MB)", time.monotonic() - start)
    return IMAGE


@pytest.fixture
def lab(docker_client: docker.DockerClient, chat_image: str, session_id: str) -> Iterator[Lab]:
    """A private network for one test; its containers and the network go away even on failure."""
    lab = Lab(docker_client, chat_image, session_id)
    try:
        yield lab
    finally:
        lab.close()
