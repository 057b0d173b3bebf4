"""The only place the server touches sockets: one thread, one ``selectors`` loop.

Each iteration accepts, reads and hands bytes to the core, then flushes every buffer the core
wrote to — one ``send`` per client per iteration however many lines it got. ``EVENT_WRITE`` is
watched only for clients whose kernel buffer was full, so idle connections cost nothing.

TLS connections live in the same loop. Until its handshake is done a TLS socket is registered
with its own handler (not as a ``_Conn``) and kept out of ``conns``, so nothing is ever written
through a half-open TLS session; after the handshake it is an ordinary connection whose reads
also drain what OpenSSL has already decrypted (``select`` cannot see those bytes).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import selectors
import signal
import socket
import sqlite3
import ssl
import time
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, cast

from chat.config import Settings
from chat.server import tls as tls_setup
from chat.server.accounts import open_accounts
from chat.server.addresses import connect_hints, in_container
from chat.server.core import ServerCore, build_core, open_history
from chat.server.datafiles import make_data_dir
from chat.server.lognoise import Throttle
from chat.server.state import Client

if TYPE_CHECKING:
    from chat.server.advertise import Advertiser

log = logging.getLogger(__name__)

READ_SIZE = 65536
ACCEPTS_PER_ITERATION = 256
TICK_SECONDS = 1.0
#: How long a closing connection may take to receive its last lines (ERROR) before it is cut.
CLOSE_GRACE = 2.0


class ServerError(Exception):
    """A problem the person starting the server must fix (port taken, address not local)."""


@dataclass(frozen=True, slots=True)
class Listening:
    """One bound listener: what the start-up log tells the admin."""

    host: str
    port: int
    tls: bool


class _Conn:
    __slots__ = ("client", "close_by", "sock", "watching_write")

    def __init__(self, sock: socket.socket, client: Client) -> None:
        self.sock = sock
        self.client = client
        self.watching_write = False
        self.close_by = 0.0


class ServerLoop:
    def __init__(self, settings: Settings, core: ServerCore | None = None) -> None:
        self.settings = settings
        self.core = core or build_core(
            settings, history=open_history(settings), accounts=open_accounts(settings.data_dir)
        )
        self.selector = selectors.DefaultSelector()
        self.noise = Throttle(log)  # for the lines a flood of connections could cause
        self.listeners: list[socket.socket] = []
        self.conns: dict[int, _Conn] = {}
        self.handshakes: dict[int, _Conn] = {}  # TLS connections whose handshake is not done yet
        self.tls: tls_setup.TlsSetup | None = None
        self.advertiser: Advertiser | None = None  # the LAN announcement, on its own thread (serve())
        self._next_id = 0
        self._stop_reason: str | None = None
        self._waker_r, self._waker_w = socket.socketpair()
        self._waker_r.setblocking(False)
        self._waker_w.setblocking(False)
        self.selector.register(self._waker_r, selectors.EVENT_READ, self._drain_waker)

    # ------------------------------------------------------------------------ set-up

    def listen(self) -> list[Listening]:
        """Bind the plain port (unless ``tls.require``) and the TLS port (when TLS is on); return
        what was bound (port 0 becomes the real port). Certificate problems raise ServerError
        before anything is bound."""
        tls = self.settings.tls
        if tls.enabled:
            try:
                self.tls = tls_setup.load(tls)
            except tls_setup.TlsSetupError as exc:
                raise ServerError(str(exc)) from None
        bound: list[Listening] = []
        if not (tls.enabled and tls.require):
            bound.append(self._bind(self.settings.port, None))
        if self.tls is not None:
            bound.append(self._bind(tls.port, self.tls.context))
        return bound

    def _bind(self, port: int, context: ssl.SSLContext | None) -> Listening:
        host = self.settings.host
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
            raise ServerError(_bind_error(where, exc, tls=context is not None)) from None
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, functools.partial(self._accept, sock, context))
        self.listeners.append(sock)
        bound = sock.getsockname()
        return Listening(str(bound[0]), int(bound[1]), context is not None)

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
                if data.__class__ is _Conn:
                    if mask & selectors.EVENT_READ:
                        self._read(data)
                    if mask & selectors.EVENT_WRITE:
                        # Flushed below, after the commit: nothing leaves before it is durable.
                        core.dirty.add(data.client)
                else:  # a listener, the waker or a TLS handshake in progress: a handler
                    data(mask)
            now = time.monotonic()
            if now >= next_tick:
                core.tick()
                advertiser = self.advertiser
                if advertiser is not None and advertiser.users_due(now):
                    advertiser.set_users(sum(1 for _ in core.registered_clients()), now)
                self._reap_closing(now)
                self.noise.flush()
                next_tick = now + TICK_SECONDS
            if core.held:
                core.release_held()
            core.commit()
            self._flush_dirty()
        self._shutdown(self._stop_reason)

    def _drain_waker(self, _mask: int) -> None:
        with contextlib.suppress(OSError):
            self._waker_r.recv(4096)

    def _accept(self, listener: socket.socket, context: ssl.SSLContext | None, _mask: int) -> None:
        for _ in range(ACCEPTS_PER_ITERATION):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # EMFILE and friends: log, keep serving the connections we have.
                self.noise.log(logging.WARNING, "failed accepts", "accept failed: %s", exc.strerror)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            host = str(addr[0])
            refusal = self.core.admission(host)  # TLS handshakes in progress count too
            if refusal is not None:
                if context is None:  # a TLS client could not read a plain-text ERROR anyway
                    with contextlib.suppress(OSError):
                        sock.send(f"ERROR :{refusal}\r\n".encode())
                sock.close()
                self.noise.log(logging.WARNING, "refused connections", "refused %s: %s", host, refusal)
                continue
            self._next_id += 1
            if context is not None:
                self._start_tls(sock, context, host)
                continue
            client = self.core.connect(self._next_id, host)
            conn = _Conn(sock, client)
            self.conns[client.id] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)

    # ---------------------------------------------------------------------------- TLS

    def _start_tls(self, sock: socket.socket, context: ssl.SSLContext, host: str) -> None:
        """Wrap an accepted socket; the handshake runs as the selector reports readiness. The
        client exists in the core from now on, so the registration timeout also ends a
        handshake that never finishes (see :meth:`_reap_closing`)."""
        try:
            tls_sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            self.noise.log(
                logging.INFO, "failed TLS handshakes", "TLS connection from %s failed: %s",
                host, tls_setup.handshake_failure(exc),
            )  # fmt: skip
            sock.close()
            return
        client = self.core.connect(self._next_id, host, secure=True)
        conn = _Conn(tls_sock, client)
        self.handshakes[client.id] = conn
        self.selector.register(tls_sock, selectors.EVENT_READ, functools.partial(self._handshake, conn))

    def _handshake(self, conn: _Conn, _mask: int) -> None:
        sock = cast(ssl.SSLSocket, conn.sock)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._handshake_waits(conn, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._handshake_waits(conn, selectors.EVENT_WRITE)
            return
        except OSError as exc:  # ssl.SSLError included: a port scanner, plain IRC, garbage
            self.noise.log(
                logging.INFO, "failed TLS handshakes", "TLS handshake with %s failed: %s",
                conn.client.host, tls_setup.handshake_failure(exc),
            )  # fmt: skip
            self._close(conn, "TLS handshake failed")
            return
        del self.handshakes[conn.client.id]
        self.conns[conn.client.id] = conn
        self.selector.modify(sock, selectors.EVENT_READ, conn)
        log.debug("connection %d: %s, %s", conn.client.id, sock.version(), (sock.cipher() or ("?",))[0])
        self._read(conn)  # the first lines may have come with the handshake's last flight

    def _handshake_waits(self, conn: _Conn, events: int) -> None:
        self.selector.modify(conn.sock, events, functools.partial(self._handshake, conn))

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
            if conn.client.secure and data:
                data += _decrypted_rest(cast(ssl.SSLSocket, conn.sock))
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
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
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                sent = 0  # TLS: the retry sends the same bytes first, as OpenSSL requires
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
        for conn in list(self.handshakes.values()):
            if conn.client.closing:  # timed out mid-handshake: its ERROR line cannot be sent, drop it
                self.noise.log(
                    logging.INFO, "failed TLS handshakes", "TLS handshake with %s did not finish in time",
                    conn.client.host,
                )  # fmt: skip
                self._close(conn, "TLS handshake timed out")

    def _close(self, conn: _Conn, reason: str) -> None:
        if self.conns.pop(conn.client.id, None) is None and self.handshakes.pop(conn.client.id, None) is None:
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
        for conn in [*self.conns.values(), *self.handshakes.values()]:
            self._close(conn, reason)
        self.core.history.close()
        self.core.accounts.close()
        self.selector.close()
        self._waker_r.close()
        self._waker_w.close()


def _decrypted_rest(sock: ssl.SSLSocket) -> bytes:
    """Bytes OpenSSL decrypted beyond what the last recv returned: the kernel has handed them
    over already, so select would not wake us for them."""
    rest = b""
    while pending := sock.pending():
        rest += sock.recv(pending)
    return rest


def _socket_reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return "TLS error: " + (exc.reason or exc.strerror or str(exc)).replace("_", " ").lower()
    if exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "Connection reset by peer"
    if exc.errno == errno.ETIMEDOUT:
        return "Connection timed out"
    return exc.strerror or str(exc)


def _bind_error(where: str, exc: OSError, *, tls: bool = False) -> str:
    if exc.errno == errno.EADDRINUSE:
        choose = "tls.port in the config file" if tls else "--port"
        return (
            f"cannot listen on {where}: the port is already in use — is another server running? "
            f"Stop it, or choose another port with {choose}."
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
        make_data_dir(settings.data_dir)
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
    _log_start(loop, bound)
    loop.advertiser = _advertise(settings, bound, loop.core.version)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        loop.request_stop("Server shutting down")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        loop.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if loop.advertiser is not None:
            loop.advertiser.close()
    log.info("server stopped")
    return 0


def _advertise(settings: Settings, bound: list[Listening], version: str) -> Advertiser | None:
    """Announce what was bound on the LAN (mDNS); returns at once, and never stops the server."""
    from chat.server import advertise

    plain = next((b.port for b in bound if not b.tls), None)
    secure = next((b.port for b in bound if b.tls), None)
    return advertise.start(settings, plain_port=plain, tls_port=secure, version=version)


def _log_start(loop: ServerLoop, bound: list[Listening]) -> None:
    """Where the server listens and what others should type, including the TLS fingerprint
    that users compare once with what their client shows on its first TLS connection."""
    settings = loop.settings
    plain = [b for b in bound if not b.tls]
    secure = [b for b in bound if b.tls]
    if plain:
        tls_also = f" and on {secure[0].host}:{secure[0].port} (TLS)" if secure else ""
        log.info("chat server %s listening on %s:%d%s", loop.core.version, plain[0].host, plain[0].port, tls_also)
    else:
        log.info("chat server %s listening on %s:%d (TLS only)", loop.core.version, secure[0].host, secure[0].port)
    if loop.tls is not None:
        log.info(
            "TLS certificate fingerprint: %s (users compare it once, on their first TLS connection)",
            loop.tls.fingerprint,
        )
    where = "memory only: lost on restart" if settings.history.store == "memory" else str(settings.data_dir)
    log.info("message history: %s", where)
    # Who may get in is as much the admin's setting as where: said once, the password never.
    if settings.auth.password:
        log.info("a server password is required (auth.password)")
    if settings.auth.reserve_nicks:
        log.info("registered nicks are reserved for their accounts")
    log.info("from other machines on the LAN: %s", connect_advice(bound, container=in_container()))


def connect_advice(bound: list[Listening], *, container: bool) -> str:
    """What to type on another machine, in one form throughout: the plain port while it is open
    (TLS named as the other way in), else ``--tls`` and the TLS port everywhere, so a TLS-only
    server is never shown with a command that cannot reach it.

    In a container on a wildcard address, our own addresses are the container network's: the
    LAN uses the host's address and whatever port Docker publishes for ours."""
    plain = next((b for b in bound if not b.tls), None)
    secure = next((b for b in bound if b.tls), None)
    first = plain or secure
    assert first is not None, "serve() logs only after something was bound"
    also_tls = secure if plain is not None else None

    def command(listening: Listening, where: str) -> str:
        return "chat connect " + ("--tls " if listening.tls else "") + where

    first_here, *others = connect_hints(first.host, first.port)
    here = command(first, first_here) + (f" (or {', '.join(others)})" if others else "")
    if also_tls is not None:
        here += "; with TLS: " + command(also_tls, connect_hints(also_tls.host, also_tls.port)[0])
    if not (container and first.host in ("0.0.0.0", "::", "")):
        return here
    outside = command(
        first, f"<the LAN address of the machine running this container>:<the port it publishes for {first.port}>"
    )
    if also_tls is not None:
        outside += "; with TLS: " + command(also_tls, f"<that address>:<the port it publishes for {also_tls.port}>")
    return f"{outside}; inside the container's network: {here}"
