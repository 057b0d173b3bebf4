"""A real X server (Xvfb) for the desktop client's tests and the screenshot."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

READY_TIMEOUT = 15.0


class Xvfb:
    def __init__(self, width: int = 1100, height: int = 700) -> None:
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is missing: run `make sysdeps` (Debian package xvfb)")
        self.number = self._free_display()
        self.display = f":{self.number}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        socket_path = Path(f"/tmp/.X11-unix/X{self.number}")
        deadline = time.monotonic() + READY_TIMEOUT
        while not socket_path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                self.stop()
                raise RuntimeError(f"Xvfb {self.display} did not start: {err[-500:]}")
            time.sleep(0.05)

    @staticmethod
    def _free_display() -> int:
        for number in range(90, 200):
            if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
                return number
        raise RuntimeError("no free X display number between :90 and :199")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
