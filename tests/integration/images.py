"""Building the images with the project's own scripts, as a developer or CI machine would."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ROOT", "ScriptFailed", "base_tag", "build_lock", "run_script"]

ROOT = Path(__file__).resolve().parents[2]


class ScriptFailed(Exception):
    """A build script exited non-zero; the message holds the end of its output."""


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """The lock deploy/build-image.sh holds: concurrent test runs in one checkout would otherwise
    rewrite ./wheelhouse under each other's builds."""
    path = os.environ.get("CHAT_BUILD_LOCK") or os.path.join(tempfile.gettempdir(), "chat-build-image.lock")
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def base_tag() -> str:
    """The tag deploy/build-base-image.sh gives by default: chat-base:<this host's codename>."""
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME=") and line.split("=", 1)[1].strip('"'):
            return "chat-base:" + line.split("=", 1)[1].strip('"')
    return "chat-base:bookworm"


def run_script(script: str, *args: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        ["bash", script, *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ScriptFailed(f"{script} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
