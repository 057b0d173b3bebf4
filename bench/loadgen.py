"""A one-process IRC load generator: thousands of clients on one ``selectors`` loop.

It speaks only what the scenarios need (NICK/USER/JOIN, PRIVMSG, PONG, CHATHISTORY) and keeps
per-line work out of the hot path: receivers count complete ``PRIVMSG`` lines with
``bytes.count`` on whole reads; only a few *probe* clients parse lines to time them. It watches
its own CPU time, so a result can say when the generator, not the server, was the limit.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import selectors
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["Conn", "FanoutResult", "OpenResult", "Swarm", "raise_fd_limit"]

PRIVMSG = b" PRIVMSG "
READ_SIZE = 262_144
#: The generator counts as saturated when it was busy this share of the wall-clock time.
SATURATED = 0.9


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(slots=True, eq=False)
class Conn:
    sock: socket.socket
    nick: str
    probe: bool = False
    state: str = "connecting"  # connecting -> registering -> registered -> joined; "failed"
    tail: bytes = b""  # an incomplete line, when lines are parsed
    edge: bytes = b""  # the last bytes of the previous read, when only counting
    parse: bool = False  # parse every line (probes, history readers) instead of only counting
    wbuf: bytearray = field(default_factory=bytearray)
    received: int = 0  # PRIVMSG lines
    latencies: list[int] = field(default_factory=list)  # ns, probes only
    batches_done: int = 0
    seq: int = 0


@dataclass(slots=True)
class OpenResult:
    ok: int
    failed: int
    seconds: float  # until the last one reached the wanted state
    generator_busy: float  # share of the wall time the generator was on a CPU


@dataclass(slots=True)
class FanoutResult:
    sent: int
    expected: int  # deliveries: sent x (members - 1)
    received: int
    seconds: float  # from the first send to the last line received (or the drain deadline)
    latencies_ns: list[int]
    generator_busy: float

    @property
    def lines_per_second(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def loss(self) -> float:
        return 1.0 - self.received / self.expected if self.expected else 0.0

    def percentile(self, share: float) -> float:
        """Latency in ms at ``share`` (0.5, 0.99), over the probes' samples."""
        if not self.latencies_ns:
            return float("nan")
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] / 1e6


class Swarm:
    """All clients of one scenario against one server."""

    def __init__(self, host: str, port: int, channel: str = "#bench") -> None:
        self.host = host
        self.port = port
        self.channel = channel
        self.sel = selectors.DefaultSelector()
        self.conns: list[Conn] = []
        self._next = 0
        self.received_total = 0  # PRIVMSG lines received by all clients
        self.caps_line = b""  # e.g. b"CAP REQ :batch draft/chathistory\r\n" for history clients
        self._buffer = bytearray(READ_SIZE)  # every read lands here: no allocation per read

    # ------------------------------------------------------------------ connections

    def open(
        self, count: int, *, join: bool = True, probes: int = 0, timeout: float = 60.0, window: int | None = None
    ) -> OpenResult:
        """Connect ``count`` clients, register them (and join the channel); wait for all.

        ``window``: at most this many connections in progress at once (clients coming up one
        after another); ``None``: all at once, as after a server restart. A client not in by
        ``timeout`` counts as failed, like one refused or reset."""
        want = "joined" if join else "registered"
        start_cpu, start = time.process_time(), time.perf_counter()
        deadline = start + timeout
        batch: list[Conn] = []
        done = 0  # batch[:done] have finished (in or failed)
        for index in range(count):
            if window is not None:
                while len(batch) - done >= window and time.perf_counter() < deadline:
                    self.pump(0.005, join=join)
                    while done < len(batch) and batch[done].state in (want, "failed"):
                        done += 1
            batch.append(self._connect(probe=index < probes))
        self._pump_until(
            lambda: all(c.state in (want, "failed") for c in batch), max(0.0, deadline - time.perf_counter()), join=join
        )
        seconds = time.perf_counter() - start
        failed = sum(1 for c in batch if c.state != want)
        busy = (time.process_time() - start_cpu) / seconds if seconds else 0.0
        return OpenResult(count - failed, failed, seconds, busy)

    def _connect(self, *, probe: bool) -> Conn:
        self._next += 1
        nick = f"b{self._next:x}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock, nick, probe)
        code = sock.connect_ex((self.host, self.port))
        if code not in (0, errno.EINPROGRESS):
            conn.state = "failed"
            sock.close()
        else:
            self.sel.register(sock, selectors.EVENT_WRITE, conn)
        self.conns.append(conn)
        return conn

    def close_all(self) -> None:
        for conn in self.conns:
            if conn.state != "failed":
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(conn.sock)
                conn.sock.close()
        self.conns.clear()
        self.sel.close()

    # -------------------------------------------------------------------------- loop

    def _pump_until(self, done: Callable[[], bool], timeout: float, *, join: bool = True) -> bool:
        deadline = time.perf_counter() + timeout
        checked = 0.0
        while True:
            now = time.perf_counter()
            if now - checked > 0.02:
                checked = now
                if done():
                    return True
            if now > deadline:
                return False
            self.pump(0.02, join=join)

    def pump(self, timeout: float, *, join: bool = True) -> None:
        for key, mask in self.sel.select(timeout):
            conn: Conn = key.data
            if mask & selectors.EVENT_WRITE:
                self._writable(conn, join)
            if mask & selectors.EVENT_READ and conn.state != "failed":
                self._readable(conn, join)

    def _writable(self, conn: Conn, join: bool) -> None:
        if conn.state == "connecting":
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._fail(conn)
                return
            conn.state = "registering"
            conn.wbuf += self.caps_line + f"NICK {conn.nick}\r\nUSER b 0 * :bench\r\n".encode()
            if self.caps_line:
                conn.wbuf += b"CAP END\r\n"
        self._flush(conn)

    def _flush(self, conn: Conn) -> None:
        if conn.wbuf:
            try:
                sent = conn.sock.send(conn.wbuf)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._fail(conn)
                return
            del conn.wbuf[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.wbuf else 0)
        self.sel.modify(conn.sock, events, conn)

    def send(self, conn: Conn, data: bytes) -> None:
        conn.wbuf += data
        if len(conn.wbuf) == len(data):  # was empty: try at once
            self._flush(conn)

    def _fail(self, conn: Conn) -> None:
        conn.state = "failed"
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn.sock)
        conn.sock.close()

    def _readable(self, conn: Conn, join: bool) -> None:
        buffer = self._buffer
        try:
            size = conn.sock.recv_into(buffer)
        except BlockingIOError:
            return
        except OSError:
            self._fail(conn)
            return
        if not size:
            self._fail(conn)
            return
        if conn.state == "joined" and not conn.probe and not conn.parse:
            # The hot path: count PRIVMSGs with C-speed searches in the reused buffer, no line
            # splitting, no copies beyond the few bytes where a PRIVMSG may straddle two reads.
            count = buffer.count(PRIVMSG, 0, size) + (conn.edge + buffer[:8]).count(PRIVMSG)
            conn.edge = bytes(buffer[max(0, size - 8) : size])
            conn.received += count
            self.received_total += count
            if buffer.find(b"PING ", 0, size) >= 0:  # rare: a server checking we are alive
                for line in bytes(buffer[:size]).split(b"\n"):
                    if line.startswith(b"PING"):
                        self.send(conn, b"PONG" + line[4:].rstrip(b"\r") + b"\r\n")
            return
        data = bytes(buffer[:size])
        now = time.perf_counter_ns()
        buf = conn.tail + data if conn.tail else data
        end = buf.rfind(b"\n")
        if end < 0:
            conn.tail = buf
            return
        complete, conn.tail = buf[: end + 1], buf[end + 1 :]
        for line in complete.split(b"\r\n" if b"\r\n" in complete else b"\n"):
            if line:
                self._line(conn, line, now, join)

    def _line(self, conn: Conn, line: bytes, now: int, join: bool) -> None:
        if line.startswith(b"PING"):
            self.send(conn, b"PONG" + line[4:] + b"\r\n")
            return
        if PRIVMSG in line:
            conn.received += 1
            self.received_total += 1
            if conn.probe:
                with contextlib.suppress(ValueError, IndexError):
                    conn.latencies.append(now - int(line.rsplit(b" ", 2)[-2]))
            return
        parts = line.split(b" ", 3)
        if line.startswith(b"@"):
            parts = parts[1:]
        command = parts[1] if len(parts) > 1 else b""
        if command == b"001" and conn.state == "registering":
            conn.state = "registered"
            if join:
                self.send(conn, f"JOIN {self.channel}\r\n".encode())
        elif command == b"366" and conn.state == "registered":
            conn.state = "joined"
        elif command == b"BATCH" and len(parts) > 2 and parts[2].startswith(b"-"):
            conn.batches_done += 1
        elif command in (b"433", b"432"):  # nick taken or refused: another one
            self._next += 1
            conn.nick = f"b{self._next:x}"
            self.send(conn, f"NICK {conn.nick}\r\n".encode())
        elif line.startswith(b"ERROR"):
            self._fail(conn)

    # ----------------------------------------------------------------------- fan-out

    def fanout(self, senders: int, rate: float | None, duration: float, size: int = 100) -> FanoutResult:
        """``senders`` clients each send PRIVMSGs to the channel, ``rate`` per second (``None``:
        as fast as the server delivers them) for ``duration`` seconds; every other member receives.

        At full speed the senders keep a bounded number of deliveries in flight: the kernel's
        socket buffers would otherwise swallow minutes of input, and the number would measure
        the drain, not a steady state."""
        members = [c for c in self.conns if c.state == "joined"]
        talking = members[:senders]
        for conn in members:
            conn.received = 0
            conn.latencies.clear()
        prefix = f"PRIVMSG {self.channel} :".encode()
        pad = b"x" * max(0, size - 40)
        start_cpu, start = time.process_time(), time.perf_counter()
        sent = 0
        base = self.received_total
        window = max(2000, 100 * len(members))  # deliveries in flight at full speed
        interval = 1.0 / rate if rate else 0.0
        next_at = [start + i * interval / max(1, senders) for i in range(len(talking))]
        while (now := time.perf_counter()) - start < duration:
            if rate:
                for i, conn in enumerate(talking):
                    while next_at[i] <= now:
                        conn.seq += 1
                        self.send(conn, prefix + f"{i} {conn.seq} {time.perf_counter_ns()} ".encode() + pad + b"\r\n")
                        next_at[i] += interval
                        sent += 1
                wait = max(0.0, min(next_at) - time.perf_counter())
                self.pump(min(wait, 0.01))
            else:
                in_flight = sent * (len(members) - 1) - (self.received_total - base)
                for i, conn in enumerate(talking):
                    if in_flight < window and len(conn.wbuf) < 16_384:
                        chunk = bytearray()
                        for _ in range(20):
                            conn.seq += 1
                            chunk += prefix + f"{i} {conn.seq} {time.perf_counter_ns()} ".encode() + pad + b"\r\n"
                        sent += 20
                        in_flight += 20 * (len(members) - 1)
                        self.send(conn, bytes(chunk))
                self.pump(0)
        expected = sent * (len(members) - 1)
        last_change, last_total = time.perf_counter(), -1
        while True:  # drain: until everything arrived, or nothing moved for 2 s
            total = self.received_total - base
            now = time.perf_counter()
            if total != last_total:
                last_total, last_change = total, now
            if total >= expected or now - last_change > 2.0:
                break
            self.pump(0.01)
        end = last_change if last_total < expected else time.perf_counter()
        seconds = end - start
        latencies = [ns for c in members if c.probe for ns in c.latencies]
        busy = (time.process_time() - start_cpu) / seconds if seconds else 0.0
        return FanoutResult(sent, expected, self.received_total - base, seconds, latencies, busy)

    def joined(self) -> list[Conn]:
        return [c for c in self.conns if c.state == "joined"]

    def broadcast(self, conns: Iterable[Conn], line: bytes) -> None:
        for conn in conns:
            self.send(conn, line)
