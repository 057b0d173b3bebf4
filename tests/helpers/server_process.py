"""A real ``chat serve`` in a subprocess on loopback, as tests and users start it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LISTENING = re.compile(r"listening on (\S+):(\d+)")
#: The TLS port in the same start-up line: "... and on HOST:PORT (TLS)" or "HOST:PORT (TLS only)".
TLS_LISTENING = re.compile(r"on (\S+):(\d+) \(TLS")


class ServerProcess:
    """Starts ``python -m chat serve`` and keeps its log; can be killed and restarted on the same
    port and data dir, which is what a crash and a supervisor's restart look like to clients."""

    def __init__(
        self, data_dir: Path, *, extra_args: tuple[str, ...] = (), port: int = 0, discovery: bool = False
    ) -> None:
        self.data_dir = data_dir
        # Off unless a test is about it: each announcing server would show up in the others' tests.
        self.discovery = discovery
        self.extra_args = extra_args
        self.host = "127.0.0.1"
        self.port = port
        self.tls_port: int | None = None  # set from the log when the config turns TLS on
        self.proc: subprocess.Popen[str] | None = None
        self.log_lines: list[str] = []
        self._log_lock = threading.Lock()

    def start(self, timeout: float = 15.0) -> ServerProcess:
        cmd = [
            sys.executable, "-m", "chat", "serve",
            "--host", self.host, "--port", str(self.port),
            "--data-dir", str(self.data_dir), "--log-level", "DEBUG",
            *self.extra_args,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "CHAT_DISCOVERY": "off"}
        if self.discovery:  # as configured (on by default), like a server started by hand
            del env["CHAT_DISCOVERY"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(self.proc, ready), daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("server did not start:\n" + self.log())
        return self

    def _pump(self, proc: subprocess.Popen[str], ready: threading.Event) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._log_lock:
                self.log_lines.append(line)
            match = LISTENING.search(line)
            if match and not ready.is_set():
                tls = TLS_LISTENING.search(line)
                self.tls_port = int(tls.group(2)) if tls else None
                if not line.rstrip().endswith("(TLS only)"):
                    self.port = int(match.group(2))
                ready.set()
        ready.set()  # process ended: let start() report it

    def log(self) -> str:
        with self._log_lock:
            return "".join(self.log_lines)

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        while time.monotonic() < deadline:
            match = compiled.search(self.log())
            if match:
                return match
            time.sleep(0.02)
        raise AssertionError(f"log never matched {pattern!r}:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, exactly like a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
