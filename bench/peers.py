"""The servers a benchmark round measures: ours and two established IRC servers, each fresh on loopback.

Every peer is started by :func:`start` on its own free 127.0.0.1 port with its own temporary
directory (history database, generated config, captured output), and stopped by
:meth:`Peer.stop`, which removes that directory again. The peers:

``chat``
    This repository's server with ``config/bench.yaml`` and the default SQLite history.
``chat-memory``
    The same with ``--history memory``.
``ngircd``
    ngIRCd from the Debian package (C, epoll), with a generated config that lifts its connection
    limits and its flood penalty (``MaxPenaltyTime = 0``); see :func:`_ngircd_config` for what
    cannot be lifted without recompiling it.
``miniircd``
    miniircd from PyPI (Python, ``select()``) in its own venv under ``.bench-venv/``. It has no
    flood control, sendq or connection limit to lift, and none can be set: a slow reader's buffer
    grows without bound, a client silent for 90 s is PINGed (dropped if unregistered) and one
    silent for 180 s is dropped, and ``select()`` caps it at about 1,020 connections: the server
    dies ("filedescriptor out of range in select()") when a connection gets descriptor 1024. Its
    listen backlog is 5.

:func:`ensure_installed` installs what is missing. CPU time and RSS of a peer's process come
from ``/proc`` (:meth:`Peer.cpu_seconds`, :meth:`Peer.rss_bytes`).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["CHANNEL", "HOST", "PEERS", "Peer", "ensure_installed", "free_port", "start"]

PEERS = ("chat", "chat-memory", "ngircd", "miniircd")

HOST = "127.0.0.1"
CHANNEL = "#bench"

REPO = Path(__file__).resolve().parents[1]
BENCH_CONFIG = REPO / "config" / "bench.yaml"
REPO_VENV = REPO / ".venv"
NGIRCD = Path("/usr/sbin/ngircd")
MINIIRCD_VENV = REPO / ".bench-venv" / "miniircd"
MINIIRCD = MINIIRCD_VENV / "bin" / "miniircd"
#: Pinned so that numbers from different days compare; the version the benchmark was written against.
MINIIRCD_REQUIREMENT = "miniircd==2.3"

#: Seconds a peer has to accept a connection and register a client after it is started.
START_TIMEOUT = 15.0
#: Seconds a peer has to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0
#: Lines of a peer's captured output quoted when it fails to start.
TAIL_LINES = 30

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_probe_numbers = itertools.count(1)
_running: set[Peer] = set()


@dataclass(eq=False)
class Peer:
    """One running server process. Compare by identity; hashable so a set can track live peers."""

    name: str
    host: str
    port: int
    pid: int
    channel: str
    _process: subprocess.Popen[bytes] = field(repr=False)
    _directory: Path = field(repr=False)
    _output: IO[bytes] = field(repr=False)

    @property
    def output_path(self) -> Path:
        """The server's captured stdout and stderr (gone after :meth:`stop`)."""
        return self._directory / "output.log"

    def alive(self) -> bool:
        """Whether the server process is still running (a peer can crash under load)."""
        return self._process.poll() is None

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except FileNotFoundError:
            raise RuntimeError(f"{self.name} (pid {self.pid}) is not running") from None
        # The command name in parentheses may contain spaces; the fields after it are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / _CLOCK_TICKS

    def rss_bytes(self) -> int:
        """Resident set size of the server process now."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except FileNotFoundError:
            raise RuntimeError(f"{self.name} (pid {self.pid}) is not running") from None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                value, unit = line.split()[1:3]
                if unit != "kB":
                    raise RuntimeError(f"unexpected VmRSS unit in /proc/{self.pid}/status: {line!r}")
                return int(value) * 1024
        raise RuntimeError(f"{self.name} (pid {self.pid}) has no VmRSS: exited, or a zombie")

    def output_tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines the server printed (its log), for error messages."""
        try:
            text = self.output_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL if it lingers; then remove its temporary directory. Idempotent."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._output.close()
        shutil.rmtree(self._directory, ignore_errors=True)
        _running.discard(self)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --- installing ---


def ensure_installed(names: Iterable[str]) -> list[str]:
    """Install what is missing (apt-get install -y ngircd when root; a venv at .bench-venv/miniircd
    with `pip install miniircd`), return the names that are usable; print one line per peer that
    cannot be installed, with why.

    The lines go to stderr, since stdout carries the benchmark's results. The order of ``names``
    is kept; duplicates are dropped.
    """
    usable: list[str] = []
    for name in dict.fromkeys(names):
        problem = _install(name)
        if problem is None:
            usable.append(name)
        else:
            print(f"{name}: cannot be used: {problem}", file=sys.stderr, flush=True)
    return usable


def _install(name: str) -> str | None:
    """None when the peer can be started, else why not."""
    if name in ("chat", "chat-memory"):
        if not _chat_python().exists():
            return f"no {REPO_VENV}/bin/python; create the venv first (see README)"
        if not BENCH_CONFIG.exists():
            return f"no {BENCH_CONFIG}"
        return None
    if name == "ngircd":
        return _install_ngircd()
    if name == "miniircd":
        return _install_miniircd()
    return f"unknown peer; expected one of {', '.join(PEERS)}"


def _install_ngircd() -> str | None:
    if os.access(NGIRCD, os.X_OK):
        return None
    if os.geteuid() != 0:
        return f"{NGIRCD} is missing and installing it needs root: apt-get install -y ngircd"
    if shutil.which("apt-get") is None:
        return f"{NGIRCD} is missing and there is no apt-get to install it with"
    print("ngircd: installing the Debian package ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "ngircd"]
    result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
        result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or not os.access(NGIRCD, os.X_OK):
        return f"apt-get install ngircd failed: {_last_line(result.stderr or result.stdout)}"
    return None


def _install_miniircd() -> str | None:
    if os.access(MINIIRCD, os.X_OK):
        return None
    # The interpreter that made the repository's venv, so both Python servers run on the same Python.
    base = _base_python()
    if base is None:
        return f"cannot find the Python that made {REPO_VENV} (its bin/python3 is missing)"
    print(f"miniircd: creating {MINIIRCD_VENV} and installing {MINIIRCD_REQUIREMENT} ...", file=sys.stderr, flush=True)
    steps = (
        [str(base), "-m", "venv", "--clear", str(MINIIRCD_VENV)],
        [str(MINIIRCD_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", MINIIRCD_REQUIREMENT],
    )
    for command in steps:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return f"{' '.join(command[:4])} ... failed: {_last_line(result.stderr or result.stdout)}"
    if not os.access(MINIIRCD, os.X_OK):
        return f"pip installed {MINIIRCD_REQUIREMENT} but there is no {MINIIRCD}"
    return None


def _base_python() -> Path | None:
    venv_python = REPO_VENV / "bin" / "python3"
    if not venv_python.exists():
        return None
    return venv_python.resolve()  # a venv's python is a symlink to the interpreter that made it


def _chat_python() -> Path:
    """This interpreter if it is the repository venv's, else the venv's python."""
    if REPO_VENV.exists() and Path(sys.prefix).resolve() == REPO_VENV.resolve():
        return Path(sys.executable)
    return REPO_VENV / "bin" / "python"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# --- starting ---


def start(name: str, port: int | None = None) -> Peer:
    """Start a fresh server on a free loopback port, wait until it accepts TCP connections AND
    answers a registration (NICK/USER -> 001) within 15 s; raise RuntimeError with the server's
    output tail if not.

    With ``port=None`` a free port is picked, and picked again (up to three times) if the server
    exits before it is ready, in case another process took the port in between.
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; expected one of {', '.join(PEERS)}")
    attempts = 3 if port is None else 1
    for attempt in range(1, attempts + 1):
        peer = _launch(name, port if port is not None else free_port())
        try:
            _wait_ready(peer)
        except _Exited as err:
            peer.stop()
            if attempt == attempts:
                raise RuntimeError(str(err)) from None
        except RuntimeError:
            peer.stop()
            raise
        else:
            return peer
    raise AssertionError("unreachable")


class _Exited(RuntimeError):
    """The server exited before it was ready."""


def _launch(name: str, port: int) -> Peer:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        command = _command(name, port, directory)
        output = (directory / "output.log").open("wb")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    # The CHAT_* variables would override config/bench.yaml (e.g. CHAT_HISTORY); peers get none.
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHAT_")}
    try:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_raise_fd_limit,
        )
    except BaseException:
        output.close()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    peer = Peer(name, HOST, port, process.pid, CHANNEL, process, directory, output)
    _running.add(peer)
    return peer


def _raise_fd_limit() -> None:
    """In the child before exec: 10,000 connections need more descriptors than the usual 1024."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _command(name: str, port: int, directory: Path) -> list[str]:
    if name in ("chat", "chat-memory"):
        command = [
            str(_chat_python()),
            "-m",
            "chat",
            "serve",
            "--config",
            str(BENCH_CONFIG),
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(directory / "data"),
            "--log-level",
            "WARNING",
        ]
        if name == "chat-memory":
            command += ["--history", "memory"]
        return command
    if name == "ngircd":
        if not os.access(NGIRCD, os.X_OK):
            raise RuntimeError(f"ngircd: {NGIRCD} is not installed; call ensure_installed() first")
        config = directory / "ngircd.conf"
        (directory / "conf.d").mkdir()
        config.write_text(_ngircd_config(port, directory / "conf.d"))
        # -n: stay in the foreground (the pid is the server's) and log to stdout instead of syslog.
        return [str(NGIRCD), "--nodaemon", "--config", str(config)]
    if name == "miniircd":
        if not os.access(MINIIRCD, os.X_OK):
            raise RuntimeError(f"miniircd: {MINIIRCD} is not installed; call ensure_installed() first")
        command = [str(MINIIRCD), "--listen", HOST, "--ports", str(port)]
        if os.geteuid() == 0:
            # miniircd refuses to run as root unless told which user to become; staying root keeps
            # the raised descriptor limit and lets /proc be read like the other peers.
            command += ["--setuid", "root"]
        return command
    raise ValueError(f"unknown peer {name!r}")


def _ngircd_config(port: int, include_dir: Path) -> str:
    """ngIRCd 26.1 configured to be measured on throughput, not on its limits (see ngircd.conf(5)).

    ``MaxPenaltyTime = 0`` turns every flood penalty shorter than 10 s into none: without it a
    client is not read for 1 s after registering, and for a second each time it sends more than
    256 bytes/s or more than 3 commands at once (measured: about 3 lines/s per sender). The only
    longer penalty is 10 s for a wrong OPER password. Compile-time limits of ngIRCd 26.1 that no
    config lifts:

    * a client's write buffer holds 32 KiB on top of the kernel's socket buffer; a reader that
      falls further behind is disconnected ("Write buffer space exhausted"): a 32 KiB sendq.
    * at most 3 commands of a client are handled per pass of the event loop, and a client is read
      from again only when its 2 KiB read buffer is drained: TCP backpressure on a fast sender,
      never a disconnect.
    * the listen backlog is 10: more connections arriving at once than it accepts wait for SYN
      retransmits (1 s, 3 s, ...) or, past the SYN-ACK retries, are reset.

    ngIRCd refuses to run as root: started by root, it switches to ServerUID/ServerGID.
    """
    as_root = "ServerUID = nobody\nServerGID = nogroup\n" if os.geteuid() == 0 else ""
    return f"""\
# Generated by bench/peers.py for one benchmark round; see ngircd.conf(5).
[Global]
Name = bench.lan
Info = benchmark peer
AdminInfo1 = benchmark
AdminInfo2 = loopback
AdminEMail = bench@bench.lan
Listen = {HOST}
Ports = {port}
MotdPhrase = Benchmark server.
# ngIRCd will not run as root; started by root it becomes this user (it would pick nobody anyway).
{as_root}
[Limits]
# Unlimited connections, also from one address (every benchmark client comes from 127.0.0.1).
MaxConnections = 0
MaxConnectionsIP = 0
# No limit on channels per user (default 10).
MaxJoins = 0
MaxNickLength = 30
# 0 disables the flood penalties: no command or byte rate makes ngIRCd stop reading a client.
MaxPenaltyTime = 0
# Seconds of silence before a PING, then seconds to answer it: no PING traffic during a run, and
# a client is dropped after 1,200 s of silence, as with config/bench.yaml's ping_interval 600 and
# ping_timeout 1200. PongTimeout is also the time an unregistered connection gets.
PingTimeout = 600
PongTimeout = 600

[Options]
# No DNS, IDENT or PAM per connection: registration as fast as our server's, which does none.
DNS = no
Ident = no
PAM = no
# An empty directory, so no snippets from /etc/ngircd/ngircd.conf.d change the measured server.
IncludeDir = {include_dir}
"""


def _wait_ready(peer: Peer) -> None:
    """Return once the peer accepts a connection and registers a client; raise if it cannot."""
    deadline = time.monotonic() + START_TIMEOUT
    last_error = "no attempt"
    while time.monotonic() < deadline:
        _check_alive(peer)
        try:
            sock = socket.create_connection((peer.host, peer.port), timeout=1.0)
        except OSError as err:  # refused until it listens
            last_error = f"connect: {err}"
            time.sleep(0.05)
            continue
        with sock:
            try:
                _register(sock, deadline, peer)
                return
            except (OSError, RuntimeError) as err:
                last_error = f"registration: {err}"
        time.sleep(0.05)
    raise RuntimeError(
        f"{peer.name} on {peer.host}:{peer.port} was not ready within {START_TIMEOUT:g} s "
        f"(last: {last_error}); its output ends:\n{peer.output_tail()}"
    )


def _check_alive(peer: Peer) -> None:
    if not peer.alive():
        raise _Exited(
            f"{peer.name} exited with status {peer._process.returncode} before it was ready "
            f"on {peer.host}:{peer.port}; its output ends:\n{peer.output_tail()}"
        )


def _register(sock: socket.socket, deadline: float, peer: Peer) -> None:
    """Register a probe client, wait for 001, QUIT. Raises OSError/RuntimeError on failure."""
    nick = f"probe{next(_probe_numbers)}"
    sock.sendall(f"NICK {nick}\r\nUSER p 0 * :p\r\n".encode())
    buffer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError("no 001 before the deadline")
        sock.settimeout(min(remaining, 1.0))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            _check_alive(peer)  # the port may belong to someone else if the server could not bind it
            continue
        if not data:
            raise RuntimeError(f"connection closed before 001; got {buffer[-200:]!r}")
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r")
            if line.startswith(b"PING"):
                sock.sendall(b"PONG" + line[4:] + b"\r\n")
            elif b" 001 " in line:
                with contextlib.suppress(OSError):
                    sock.sendall(b"QUIT :probe\r\n")
                return
            elif line.startswith(b"ERROR") or b" 433 " in line:
                raise RuntimeError(f"refused: {line.decode('utf-8', 'replace')}")


@atexit.register
def _stop_all() -> None:
    """Peers left running by a crashed or interrupted benchmark are stopped at exit."""
    for peer in list(_running):
        peer.stop()
