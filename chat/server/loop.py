"""The only place the server touches sockets: one thread, one ``selectors`` loop.

Each iteration accepts, reads and hands bytes to the core, then flushes every buffer the core
wrote to — one ``send`` per client per iteration however many lines it got. ``EVENT_WRITE`` is
watched only for clients whose kernel buffer was full, so idle connections cost nothing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import signal
import socket
import sqlite3
import time
from types import FrameType

from chat.config import Settings
from chat.server.accounts import open_accounts
from chat.server.addresses import connect_hints, in_container
from chat.server.core import ServerCore, build_core, open_history
from chat.server.state import Client

log = logging.getLogger(__name__)

READ_SIZE = 65536
ACCEPTS_PER_ITERATION = 256
TICK_SECONDS = 1.0
#: How long a closing connection may take to receive its last lines (ERROR) before it is cut.
CLOSE_GRACE = 2.0


class ServerError(Exception):
    """A problem the person starting the server must fix (port taken, address not local)."""


class _Conn:
    __slots__ = ("client", "close_by", "sock", "watching_write")

    def __init__(self, sock: socket.socket, client: Client) -> None:
        self.sock = sock
        self.client = client
        self.watching_write = False
        self.close_by = 0.0


_LISTENER = object()
_WAKER = object()


class ServerLoop:
    def __init__(self, settings: Settings, core: ServerCore | None = None) -> None:
        self.settings = settings
        self.core = core or build_core(
            settings, history=open_history(settings), accounts=open_accounts(settings.data_dir)
        )
        self.selector = selectors.DefaultSelector()
        self.listeners: list[socket.socket] = []
        self.conns: dict[int, _Conn] = {}
        self._next_id = 0
        self._stop_reason: str | None = None
        self._waker_r, self._waker_w = socket.socketpair()
        self._waker_r.setblocking(False)
        self._waker_w.setblocking(False)
        self.selector.register(self._waker_r, selectors.EVENT_READ, _WAKER)

    # ------------------------------------------------------------------------ set-up

    def listen(self) -> list[tuple[str, int]]:
        """Bind the configured address; return what was bound (port 0 becomes the real port)."""
        host, port = self.settings.host, self.settings.port
        where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        try:
            infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise ServerError(f"cannot listen on {where}: unknown address ({exc.strerror})") from None
        family, kind, proto, _name, addr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(1024)
        except OSError as exc:
            sock.close()
            raise ServerError(_bind_error(where, exc)) from None
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, _LISTENER)
        self.listeners.append(sock)
        bound = sock.getsockname()
        return [(str(bound[0]), int(bound[1]))]

    def request_stop(self, reason: str = "Server shutting down") -> None:
        """Safe from a signal handler: records the wish and wakes the loop."""
        self._stop_reason = reason
        with contextlib.suppress(OSError):
            self._waker_w.send(b"\0")

    # -------------------------------------------------------------------------- loop

    def run(self) -> None:
        core = self.core
        next_tick = time.monotonic() + TICK_SECONDS
        while self._stop_reason is None:
            timeout = max(0.0, next_tick - time.monotonic())
            release = core.next_release()
            if release is not None:
                timeout = min(timeout, release)
            for key, mask in self.selector.select(timeout):
                data = key.data
                if data is _LISTENER:
                    self._accept(key.fileobj)  # type: ignore[arg-type]
                elif data is _WAKER:
                    with contextlib.suppress(OSError):
                        self._waker_r.recv(4096)
                else:
                    if mask & selectors.EVENT_READ:
                        self._read(data)
                    if mask & selectors.EVENT_WRITE:
                        # Flushed below, after the commit: nothing leaves before it is durable.
                        core.dirty.add(data.client)
            now = time.monotonic()
            if now >= next_tick:
                core.tick()
                self._reap_closing(now)
                next_tick = now + TICK_SECONDS
            if core.held:
                core.release_held()
            core.commit()
            self._flush_dirty()
        self._shutdown(self._stop_reason)

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_ITERATION):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # EMFILE and friends: log, keep serving the connections we have.
                log.warning("accept failed: %s", exc.strerror)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            host = str(addr[0])
            refusal = self.core.admission(host)
            if refusal is not None:
                with contextlib.suppress(OSError):
                    sock.send(f"ERROR :{refusal}\r\n".encode())
                sock.close()
                log.warning("refused %s: %s", host, refusal)
                continue
            self._next_id += 1
            client = self.core.connect(self._next_id, host)
            conn = _Conn(sock, client)
            self.conns[client.id] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(conn, _socket_reason(exc))
            return
        if not data:
            self._close(conn, "Connection closed by client")
            return
        if conn.client.closing:
            return
        try:
            self.core.receive(conn.client, data)
        except Exception:
            # The core already isolates command handlers; this is the last net for its own bugs.
            log.exception("error processing input from connection %d", conn.client.id)
            self.core.disconnect(conn.client, "Internal server error")

    def _flush_dirty(self) -> None:
        dirty = self.core.dirty
        if not dirty:
            return
        conns = self.conns
        for client in list(dirty):
            conn = conns.get(client.id)
            if conn is not None:
                self._flush(conn)
        dirty.clear()

    def _flush(self, conn: _Conn) -> None:
        out = conn.client.out
        if out:
            try:
                sent = conn.sock.send(out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._close(conn, _socket_reason(exc))
                return
            del out[:sent]
        if out and not conn.watching_write:
            self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            conn.watching_write = True
        elif not out and conn.watching_write:
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
            conn.watching_write = False
        if conn.client.closing:
            if not out:
                self._close(conn, "closed by server")
            elif not conn.close_by:
                conn.close_by = time.monotonic() + CLOSE_GRACE

    def _reap_closing(self, now: float) -> None:
        for conn in list(self.conns.values()):
            if conn.client.closing and (not conn.client.out or (conn.close_by and now > conn.close_by)):
                self._close(conn, "closed by server")

    def _close(self, conn: _Conn, reason: str) -> None:
        if self.conns.pop(conn.client.id, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        conn.sock.close()
        self.core.connection_lost(conn.client, reason)

    def _shutdown(self, reason: str) -> None:
        for listener in self.listeners:
            self.selector.unregister(listener)
            listener.close()
        self.core.shutdown(reason)
        deadline = time.monotonic() + CLOSE_GRACE
        self._flush_dirty()
        while self.conns and time.monotonic() < deadline:
            for key, mask in self.selector.select(0.05):
                if isinstance(key.data, _Conn) and key.data.client.id in self.conns:
                    if mask & selectors.EVENT_WRITE:
                        self._flush(key.data)
                    elif mask & selectors.EVENT_READ:
                        self._read(key.data)
        for conn in list(self.conns.values()):
            self._close(conn, reason)
        self.core.history.close()
        self.core.accounts.close()
        self.selector.close()
        self._waker_r.close()
        self._waker_w.close()


def _socket_reason(exc: OSError) -> str:
    if exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "Connection reset by peer"
    if exc.errno == errno.ETIMEDOUT:
        return "Connection timed out"
    return exc.strerror or str(exc)


def _bind_error(where: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is already in use — is another server running? "
            "Stop it, or choose another port with --port."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: that address does not belong to this machine"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need root)"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def _raise_fd_limit() -> None:
    """Thousands of clients need thousands of descriptors; take what the hard limit allows."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve(settings: Settings) -> int:
    """Run the server until SIGTERM/SIGINT; return the process exit code."""
    _raise_fd_limit()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.error("cannot create the data directory %s: %s", settings.data_dir, exc.strerror)
        return 2
    try:
        loop = ServerLoop(settings)
    except (sqlite3.Error, RuntimeError) as exc:
        log.error("cannot open the message history or accounts in %s: %s", settings.data_dir, exc)
        return 2
    try:
        bound = loop.listen()
    except ServerError as exc:
        log.error("%s", exc)
        return 2
    host, port = bound[0]
    log.info("chat server %s listening on %s:%d", loop.core.version, host, port)
    where = "memory only: lost on restart" if settings.history.store == "memory" else str(settings.data_dir)
    log.info("message history: %s", where)
    first, *others = connect_hints(host, port)
    also = f" (or {', '.join(others)})" if others else ""
    if in_container() and host in ("0.0.0.0", "::", ""):
        # The addresses seen from inside belong to the container's private network.
        log.info(
            "from other machines on the LAN: chat connect <the LAN address of the machine running this "
            "container>:<the port it publishes>; inside the container's network: %s%s",
            first,
            also,
        )
    else:
        log.info("from other machines on the LAN: chat connect %s%s", first, also)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        loop.request_stop("Server shutting down")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        loop.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("server stopped")
    return 0
