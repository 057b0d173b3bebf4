"""Raw-bytes fuzz of a real server over loopback: garbage in, and the server must stay a server.

``python -m bench.fuzz --seconds 60`` (or ``--inputs 50000``; ``make fuzz``) starts ``chat serve``
in a subprocess with a temporary data dir, registers two well-behaved clients in ``#fuzz`` that
exchange numbered messages (each waits for the previous one to arrive before sending the next,
as flood control is entitled to slow a fast sender), and meanwhile keeps up to 30 hostile
connections busy with the scripts of :mod:`bench.fuzz_inputs`. At the end it checks what a
user would notice: the server process is alive, a fresh client can still register and get a
PONG, every message of the well-behaved pair arrived once and in order, and the server log has
no ``Traceback`` and no ``Internal server error``. It prints the counts; the exit status is 1 if
any check failed.

Attackers may be cut off by the server (ERROR, flood control's "Excess Flood", a reset); that is
the server defending itself and is counted, not reported.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import errno
import os
import random
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.fuzz_inputs import Script, make_script

__all__ = ["FuzzResult", "main", "run"]

HOST = "127.0.0.1"
CHANNEL = "#fuzz"
#: Attackers open at once. Each connects from its own loopback address (127.0.x.y plays a machine
#: on the LAN), so the server's per-address limit (50) is met only when one address's connections
#: are still closing; the well-behaved pair and the final probe use 127.0.0.1, which no attacker uses.
MAX_ATTACKERS = 30
ATTACKER_SOURCES = 200
#: Connections that only stay open (half-open, silent) at the end of their script, at most.
MAX_LINGERING = 6
START_TIMEOUT = 15.0
#: How long one message of the well-behaved pair may take to arrive (flood control may delay it).
MESSAGE_TIMEOUT = 20.0
READ_SIZE = 65536


@dataclass(slots=True)
class FuzzResult:
    inputs: int = 0  # chunks of hostile bytes written
    bytes_sent: int = 0
    connections: int = 0  # hostile connections opened
    refused: int = 0  # hostile connections the server cut off or would not take
    kinds: dict[str, int] = field(default_factory=dict)
    messages: int = 0  # messages the well-behaved pair exchanged, each checked in order
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items()))
        verdict = "OK" if self.ok else "FAILED: " + "; ".join(self.problems)
        return (
            f"fuzz: {self.inputs} inputs ({self.bytes_sent} bytes) on {self.connections} connections "
            f"({kinds}); {self.refused} cut off by the server; {self.messages} messages of the "
            f"well-behaved pair in order; {self.seconds:.1f} s; {verdict}"
        )


# ----------------------------------------------------------------------------- the server


class _Server:
    """``chat serve`` on a free port with its own temp dir; the log is kept in a file."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="chat-fuzz-"))
        self.log_path = self.directory / "server.log"
        self._log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
        command = [
            sys.executable, "-m", "chat", "serve", "--host", HOST, "--port", "0",
            "--data-dir", str(self.directory / "data"), "--log-level", "INFO",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.port = self._wait_port()

    def _wait_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            marker = " listening on "
            for line in self.log().splitlines():
                if marker in line:
                    return int(line.rsplit(":", 1)[1])
            if self.process.poll() is not None:
                break
            time.sleep(0.05)  # polling a file the server writes; no event to wait on
        self.stop()
        raise RuntimeError("the server did not start:\n" + self.log())

    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


# ------------------------------------------------------------------ well-behaved clients


class _LineClient:
    """A blocking IRC client that reads lines with a deadline and answers PING."""

    def __init__(self, port: int, nick: str) -> None:
        self.nick = nick
        self.sock = socket.create_connection((HOST, port), timeout=START_TIMEOUT)
        self._partial = b""
        self._lines: collections.deque[bytes] = collections.deque()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def next_line(self, deadline: float) -> str:
        # Whole reads are split at once: attackers flood the room, and a reader that falls behind
        # is rightly dropped by the server (SendQ), which would fail the run for the wrong reason.
        while not self._lines:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.nick}: nothing within the deadline")
            self.sock.settimeout(left)
            data = self.sock.recv(READ_SIZE)
            if not data:
                raise ConnectionError(f"{self.nick}: the server closed the connection")
            *complete, self._partial = (self._partial + data).split(b"\n")
            self._lines.extend(complete)
        line = self._lines.popleft().rstrip(b"\r").decode("utf-8", "replace")
        if line.startswith("PING "):
            self.send("PONG " + line[5:])
        elif line.startswith("ERROR"):
            raise ConnectionError(f"{self.nick}: {line}")
        return line

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(deadline)
            if needle in line:
                return line

    def register(self, *, join: bool = True) -> _LineClient:
        self.send(f"NICK {self.nick}")
        self.send("USER u 0 * :Well Behaved")
        self.wait_for(" 001 ", START_TIMEOUT)
        if join:
            self.send(f"JOIN {CHANNEL}")
            self.wait_for(" 366 ", START_TIMEOUT)
        return self

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _Pair(threading.Thread):
    """Two clients in one room: ``keeper`` says numbered lines, ``listener`` must hear each one
    exactly once and in order before the next is said."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True, name="fuzz-pair")
        self.keeper = _LineClient(port, "keeper").register()
        self.listener = _LineClient(port, "listener").register()
        self.sent = 0
        self.problem: str | None = None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            while not self._done.is_set():
                self.sent += 1
                text = f"message {self.sent}"
                self.keeper.send(f"PRIVMSG {CHANNEL} :{text}")
                self._expect(text)
                self._drain_keeper()
        except (OSError, ConnectionError, TimeoutError, AssertionError) as err:
            self.problem = f"well-behaved pair, message {self.sent}: {err}"

    def _expect(self, text: str) -> None:
        deadline = time.monotonic() + MESSAGE_TIMEOUT
        while True:
            line = self.listener.next_line(deadline)
            if line.startswith(":keeper!") and " PRIVMSG " in line:
                got = line.split(" :", 1)[1]
                if got != text:
                    raise AssertionError(f"expected {text!r}, got {got!r}")
                return

    def _drain_keeper(self) -> None:
        """Read what the keeper was sent (PINGs to answer, attackers' noise) without waiting."""
        self.keeper.sock.setblocking(False)
        try:
            while True:
                data = self.keeper.sock.recv(READ_SIZE)
                if not data:
                    raise ConnectionError("keeper: the server closed the connection")
                for raw in data.split(b"\n"):
                    if raw.startswith(b"PING "):
                        self.keeper.sock.setblocking(True)
                        self.keeper.sock.sendall(b"PONG " + raw[5:].rstrip(b"\r") + b"\r\n")
                        self.keeper.sock.setblocking(False)
                    elif raw.startswith(b"ERROR"):
                        raise ConnectionError(f"keeper: {raw.decode('utf-8', 'replace')}")
        except BlockingIOError:
            pass
        finally:
            self.keeper.sock.setblocking(True)

    def finish(self) -> int:
        """Stop after the message in flight; return how many arrived in order."""
        self._done.set()
        self.join(MESSAGE_TIMEOUT + 5)
        self.keeper.close()
        self.listener.close()
        return self.sent if self.problem is None else self.sent - 1


# ---------------------------------------------------------------------------- attackers


@dataclass(slots=True, eq=False)
class _Attacker:
    sock: socket.socket
    script: Script
    next_chunk: int = 0
    lingering_until: float = 0.0


class _Swarm:
    """Up to ``MAX_ATTACKERS`` hostile connections on one selector, each playing its script."""

    def __init__(self, port: int, rng: random.Random, result: FuzzResult) -> None:
        self.port = port
        self.rng = rng
        self.result = result
        self.selector = selectors.DefaultSelector()
        self.active: list[_Attacker] = []
        self.lingering: list[_Attacker] = []

    def step(self) -> None:
        while len(self.active) + len(self.lingering) < MAX_ATTACKERS:
            self._open()
        for attacker in list(self.active):
            self._advance(attacker)
        now = time.monotonic()
        for attacker in [a for a in self.lingering if now > a.lingering_until]:
            self._close(attacker, "close")
        for key, _mask in self.selector.select(0.005):
            self._read(key.data)

    def _open(self) -> None:
        script = make_script(self.rng, self.result.connections)
        try:
            source = f"127.0.1.{1 + self.rng.randrange(ATTACKER_SOURCES)}"
            sock = socket.create_connection((HOST, self.port), timeout=5.0, source_address=(source, 0))
        except OSError:
            self.result.refused += 1
            return
        sock.setblocking(False)
        attacker = _Attacker(sock, script)
        self.selector.register(sock, selectors.EVENT_READ, attacker)
        self.active.append(attacker)
        self.result.connections += 1
        self.result.kinds[script.kind] = self.result.kinds.get(script.kind, 0) + 1

    def _advance(self, attacker: _Attacker) -> None:
        script = attacker.script
        for _ in range(self.rng.randint(1, 8)):
            if attacker.next_chunk >= len(script.chunks):
                self._end(attacker)
                return
            chunk = script.chunks[attacker.next_chunk]
            try:
                sent = attacker.sock.send(chunk)
            except BlockingIOError:
                return  # the server is not reading it (flood control): try again next step
            except OSError:
                self._drop(attacker)
                return
            self.result.inputs += 1
            self.result.bytes_sent += sent
            if sent < len(chunk):
                script.chunks[attacker.next_chunk] = chunk[sent:]
                return
            attacker.next_chunk += 1

    def _end(self, attacker: _Attacker) -> None:
        ending = attacker.script.ending
        if ending in ("half_close", "linger") and len(self.lingering) < MAX_LINGERING:
            if ending == "half_close":
                with contextlib.suppress(OSError):
                    attacker.sock.shutdown(socket.SHUT_WR)
            self.active.remove(attacker)
            attacker.lingering_until = time.monotonic() + self.rng.uniform(0.2, 3.0)
            self.lingering.append(attacker)
            return
        self._close(attacker, "reset" if ending == "reset" else "close")

    def _read(self, attacker: _Attacker) -> None:
        try:
            data = attacker.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(attacker)

    def _drop(self, attacker: _Attacker) -> None:
        """The server closed or reset this connection: it defended itself."""
        self.result.refused += 1
        self._close(attacker, "close")

    def _close(self, attacker: _Attacker, how: str) -> None:
        for group in (self.active, self.lingering):
            if attacker in group:
                group.remove(attacker)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(attacker.sock)
        if how == "reset":
            # SO_LINGER 0: close() sends RST instead of FIN, a peer that vanished mid-sentence.
            with contextlib.suppress(OSError):
                attacker.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        attacker.sock.close()

    def close_all(self) -> None:
        for attacker in [*self.active, *self.lingering]:
            self._close(attacker, "close")
        self.selector.close()


# ---------------------------------------------------------------------------------- run


def run(*, seconds: float | None = None, inputs: int | None = None, seed: int | None = None) -> FuzzResult:
    """Fuzz a fresh server until ``seconds`` have passed or ``inputs`` chunks were sent (whichever
    comes first; at least one must be given), then check it. Never raises for a server failure:
    the result's ``problems`` say what went wrong."""
    if seconds is None and inputs is None:
        raise ValueError("give seconds, inputs or both")
    seed = seed if seed is not None else random.randrange(1 << 32)
    result = FuzzResult()
    server = _Server()
    started = time.monotonic()
    try:
        pair = _Pair(server.port)
        pair.start()
        swarm = _Swarm(server.port, random.Random(seed), result)
        try:
            while (seconds is None or time.monotonic() - started < seconds) and (
                inputs is None or result.inputs < inputs
            ):
                swarm.step()
                if not server.alive() or pair.problem is not None:
                    break
        finally:
            swarm.close_all()
        result.messages = pair.finish()
        if pair.problem is not None:
            result.problems.append(pair.problem)
        result.seconds = time.monotonic() - started
        _final_checks(server, result)
    finally:
        server.stop()
    if not result.ok:
        result.problems.append(f"seed {seed} (rerun with --seed {seed})")
    return result


def _final_checks(server: _Server, result: FuzzResult) -> None:
    if not server.alive():
        result.problems.append(f"the server exited with status {server.process.returncode}")
    else:
        fresh = _LineClient(server.port, "fresh")
        try:
            fresh.register(join=False)
            fresh.send("PING :still-there")
            fresh.wait_for("still-there", START_TIMEOUT)
        except (OSError, ConnectionError, TimeoutError) as err:
            result.problems.append(f"a fresh client could not register and get a PONG: {err}")
        finally:
            fresh.close()
    log = server.log()
    for needle in ("Traceback", "Internal server error"):
        if needle in log:
            at = log.index(needle)
            result.problems.append(f"server log has {needle!r}:\n{log[max(0, at - 300) : at + 2000]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="stop after this long (default 30 when --inputs is not given)")
    parser.add_argument("--inputs", type=int, help="stop after this many chunks of hostile bytes")
    parser.add_argument("--seed", type=int, help="repeat a run (printed when one fails)")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None or args.inputs is not None else 30.0
    try:
        result = run(seconds=seconds, inputs=args.inputs, seed=args.seed)
    except OSError as err:
        if err.errno == errno.EMFILE:
            print("fuzz: out of file descriptors", file=sys.stderr)
        raise
    print(result.summary(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
