"""The one connection both user interfaces share: a background thread that owns the socket.

The UI thread calls :class:`Connection` methods (``say``, ``join``, ``quit``...) and reads
:mod:`chat.client.events` from ``connection.events``; it never touches the socket and never
blocks on the network. The I/O thread connects, registers, keeps the link alive with PINGs,
notices a dead link even when the OS reports nothing, and reconnects with jittered exponential
backoff, re-joining the channels it was in. Chat messages wait in an :class:`Outbox` until the
server's echo confirms them, so a script can exit only once what it said has arrived; after a
reconnect they are sent again, in order, and :class:`~chat.client.catchup.CatchUp` fetches
what was said meanwhile.

With ``tls=True`` the socket is wrapped right after connecting and the server's certificate is
checked against the pin in the known-servers file (:mod:`chat.client.pins`) — for a server
found on the LAN, first against the pin of its announced name (``service_name``): pinned on first
contact (a :class:`~chat.client.events.CertificatePinned` event), refused for good when it
changed (:class:`~chat.client.events.CertificateChanged`, then no more attempts).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import re
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from chat.client import events as ev
from chat.client import pins, reasons
from chat.client.address import format_address
from chat.client.catchup import CatchUp
from chat.client.compose import as_action, line_budget, split_text
from chat.client.outbox import CID_TAG, Outbox, Pending
from chat.client.session import WANTED_CAPS, Session, Step
from chat.fingerprint import fingerprint
from chat.protocol import LineReader, LineTooLong, Message, ParseError, casefold, parse
from chat.protocol import numerics as rpl
from chat.protocol.message import FORMATTING_CODES

__all__ = ["Connection", "Status", "backoff_delay"]

log = logging.getLogger(__name__)

#: Errors that answer a PRIVMSG/NOTICE we sent, naming its target as their first parameter.
_REJECTIONS = frozenset({rpl.ERR_NOSUCHNICK, rpl.ERR_NOSUCHCHANNEL, rpl.ERR_CANNOTSENDTOCHAN})
#: Errors that answer the oldest line the server has not answered yet without naming a target:
#: a line too long for the server is dropped unread, so not even a label comes back for it.
#: (No recipient / no text cannot answer an outbox line: those always have both.)
_UNNAMED_REJECTIONS = frozenset({rpl.ERR_INPUTTOOLONG})

#: Why a labeled message was settled without an echo: the server took it and delivered it to
#: nobody (a NOTICE gets no error, RFC 2812), or answered a later line first, so it dropped it.
_DELIVERED_TO_NOBODY = (
    "{target} did not get it: the server delivered it to no one (no such nick or channel, or you cannot send there)"
)
_DROPPED = "the server dropped the message to {target} without an answer"

#: Errors that answer a JOIN: the room will not be rejoined, so there is nothing to catch up on.
_JOIN_FAILURES = frozenset({"403", "405", "471", "473", "474", "475", "476", "477"})

#: Lines from the server may be longer than what we may send (tags, relayed prefixes): be lenient.
_READ_LIMIT = 16384


#: Messages written and not yet echoed by the server. Below the server's default flood burst
#: (limits.flood_burst, 16), so a well-behaved client is never slowed down or cut off for flooding.
SEND_WINDOW = 8


#: What may not go out in a message: C0 control characters other than the IRC formatting codes
#: (bold, colour, reset, reverse, italic, strikethrough, underline), and DEL. A line feed is not
#: text but the break between two messages (split_text), so it stays for the split.
_UNSENDABLE = re.compile(
    "[" + "".join(chr(c) for c in (*range(0x20), 0x7F) if chr(c) not in FORMATTING_CODES + "\n") + "]"
)
#: Lone surrogates: what undecodable input bytes become (surrogateescape); they cannot be UTF-8.
_SURROGATES = re.compile("[\ud800-\udfff]")


def sendable(text: str) -> str:
    """``text`` as it may be sent, whichever UI it was typed in: NUL and CR cannot travel in an
    IRC line, and other control characters (a paste, a stray key) are noise or terminal escapes
    for the people reading; the formatting codes are kept, since people type them on purpose."""
    return _SURROGATES.sub("\ufffd", _UNSENDABLE.sub("", text))


def backoff_delay(attempt: int, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before attempt number ``attempt`` (1, 2, 4, 8 ... up to ``cap``), ±20% jitter
    so that every client of a restarted server does not knock at the same instant."""
    base = min(cap, 2.0 ** max(0, attempt - 1))
    return base * (rng or random).uniform(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class Status:
    """A snapshot of the connection for a status line; replaced whole, so reading it is safe."""

    state: str  # "connecting", "connected", "reconnecting", "closed"
    address: str
    nick: str
    channels: tuple[str, ...] = ()
    server: str = ""
    attempt: int = 0
    retry_at: float | None = None  # time.monotonic() of the next attempt while reconnecting
    reason: str = ""  # why the last link ended


class _LinkEnded(Exception):
    """Internal: the current link is over; the message is the reason for the user."""


class _Refused(_LinkEnded):
    """Internal: the link is over and no other may follow — trying again unchanged cannot help
    (a changed certificate, a refused password, a KILL)."""


class Connection:
    """A chat connection to one server, reconnecting until :meth:`quit` or :meth:`close`."""

    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        *,
        channels: Iterable[str] = (),
        reconnect: bool = True,
        backoff_cap: float = 30.0,
        ping_interval: float = 30.0,
        ping_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        quit_timeout: float = 2.0,
        realname: str = "chat user",
        username: str | None = None,
        caps: Iterable[str] = WANTED_CAPS,
        events: queue.Queue[ev.Event] | None = None,
        password: str | None = None,
        account: tuple[str, str] | None = None,
        tls: bool = False,
        fingerprint: str | None = None,
        known_servers: pins.KnownServers | None = None,
        plaintext_login: bool = False,
        resolve: Callable[[], tuple[str, int] | None] | None = None,
        service_name: str | None = None,
    ) -> None:
        """``password`` is the server password (PASS); ``account`` is (name, password) to log in
        with SASL on every connection. Neither is ever logged. An account password (and /oper's)
        is only sent over TLS unless ``plaintext_login`` (trusted test setups, servers with
        ``auth.sasl_plaintext``). ``resolve`` (for a server found on the LAN, see
        :func:`chat.client.discovery.resolver`) is asked where the server is before every new
        attempt, so one that came back on another address is found there; ``service_name`` is
        the name it was announced under, whose certificate pin is checked first at any address."""
        self.host = host
        self.port = port
        self.address = format_address(host, port)
        self.tls = tls or fingerprint is not None
        self.fingerprint = fingerprint  # SHA256:… the user was told by the admin, checked before any pin
        self.known_servers = known_servers if known_servers is not None else pins.KnownServers()
        self.events: queue.Queue[ev.Event] = events if events is not None else queue.Queue()
        self.reconnect = reconnect
        self.backoff_cap = backoff_cap
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.connect_timeout = connect_timeout
        self.quit_timeout = quit_timeout
        self.realname = realname
        self.username = username or "chat"
        self.wanted_caps = tuple(caps)  # fewer only to talk to odd servers, or to test without echo
        self._password = password
        self._account = account
        self.plaintext_login = plaintext_login
        self._resolve = resolve  # I/O thread only
        self.service_name = service_name
        # The server will not have us (bad password, failed login, KILL) or its certificate
        # changed: trying again unchanged cannot help, so no retry.
        self._refused = False
        self._lock = threading.Lock()
        self._wanted_nick = nick
        self._wanted: dict[str, str] = {casefold(c): c for c in channels}
        self._requests: deque[Message] = deque()
        self._outbox = Outbox()
        self._catchup = CatchUp()  # I/O thread only
        self._token: str | None = None  # the server's proof of our session, for taking our nick back
        self._registered = False
        self._caps: frozenset[str] = frozenset()
        self._quit_reason: str | None = None
        self._closing = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name=f"chat-connection {self.address}", daemon=True)
        self._started = False
        self._shut = False
        self._status = Status("connecting", self.address, nick)

    # ------------------------------------------------------------------ UI-thread API

    @property
    def login_allowed(self) -> bool:
        """Whether passwords (SASL, /oper) may be sent: over TLS, or when the user said so."""
        return self.tls or self.plaintext_login

    @property
    def status(self) -> Status:
        return self._status

    @property
    def nick(self) -> str:
        return self._status.nick

    @property
    def channels(self) -> tuple[str, ...]:
        return self._status.channels

    def start(self) -> Connection:
        """Start the I/O thread (once); returns ``self`` so ``Connection(...).start()`` reads well."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        self._thread.start()
        return self

    def say(self, target: str, text: str) -> list[str]:
        """Send ``text`` to a channel or nick; returns the outbox ids of the message(s)."""
        return self._chat("PRIVMSG", target, text, action=False)

    def action(self, target: str, text: str) -> list[str]:
        """``/me``: a CTCP ACTION, shown by clients as ``* alice waves``."""
        return self._chat("PRIVMSG", target, text, action=True)

    def notice(self, target: str, text: str) -> list[str]:
        return self._chat("NOTICE", target, text, action=False)

    def join(self, channel: str) -> None:
        """Join now if connected; either way, be in this channel after every reconnect."""
        self._check_name(channel, "channel")
        with self._lock:
            self._wanted[casefold(channel)] = channel
            if self._registered:
                self._requests.append(Message("JOIN", [channel]))
        self._wake()

    def part(self, channel: str, reason: str = "") -> None:
        self._check_name(channel, "channel")
        with self._lock:
            self._wanted.pop(casefold(channel), None)
            if self._registered:
                self._requests.append(Message("PART", [channel, reason] if reason else [channel]))
        self._wake()

    def set_nick(self, nick: str) -> None:
        """Ask for a new nick; while disconnected it becomes the nick used on the next attempt."""
        self._check_name(nick, "nick")
        with self._lock:
            if self._registered:
                self._requests.append(Message("NICK", [nick]))
            else:
                self._wanted_nick = nick
        self._wake()

    def send_raw(self, line: Message | str) -> None:
        """Send any IRC command (``/raw``); a string is parsed first so a typo fails here."""
        msg = line if isinstance(line, Message) else parse(line)
        msg.encode()  # raises ValueError (UnicodeEncodeError included) for what cannot go on the wire
        with self._lock:
            self._requests.append(msg)
        self._wake()

    def pending_count(self) -> int:
        """Messages said but not yet confirmed by the server."""
        return len(self._outbox)

    def pending(self) -> list[Pending]:
        return self._outbox.snapshot()

    def wait_until_settled(self, timeout: float) -> bool:
        """Block until every message said so far is confirmed (True) or ``timeout`` passed, or
        the connection closed with some still unconfirmed (False)."""
        return self._outbox.wait_until_empty(timeout)

    def quit(self, reason: str = "") -> None:
        """Say goodbye (QUIT), wait briefly for the server to hang up, and stop for good."""
        with self._lock:
            self._quit_reason = reason
        self._stop.set()
        self._wake()
        self._finish(self.quit_timeout + 1.0)

    def close(self) -> None:
        """Stop at once, without a QUIT (the server will see the link drop)."""
        with self._lock:
            self._closing = True
        self._stop.set()
        self._wake()
        self._finish(2.0)

    def _finish(self, timeout: float) -> None:
        with self._lock:
            started = self._started
            self._started = True  # a later start() must not run a finished connection
        if not started:
            self._shut_down("")
            return
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.debug("connection thread for %s is still connecting; left to finish alone", self.address)

    def _chat(self, command: str, target: str, text: str, *, action: bool) -> list[str]:
        self._check_name(target, "target")
        text = sendable(text)
        budget = line_budget(command, target, self.nick) - (len(as_action("")) if action else 0)
        cids = []
        with self._lock:
            offline = not self._registered
        for piece in split_text(text, budget):
            cid = self._outbox.new_cid()
            # Queued first: once in the outbox, the I/O thread may send it and see its echo at once.
            self._emit(ev.Queued(cid, target, piece, action=action, notice=command == "NOTICE", offline=offline))
            self._outbox.add(command, target, as_action(piece) if action else piece, cid)
            cids.append(cid)
        if cids:
            self._wake()
        return cids

    @staticmethod
    def _check_name(name: str, what: str) -> None:
        if not name or any(ch in name for ch in " ,\r\n\0") or name.startswith(":") or not name.isprintable():
            raise ValueError(f'"{name}" cannot be used as a {what}')

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (already woken) or closed (thread finished)
            self._wake_w.send(b"\0")

    # --------------------------------------------------------------------- I/O thread

    def _emit(self, event: ev.Event) -> None:
        self.events.put(event)

    def _publish(self, **changes: object) -> None:
        self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def _run(self) -> None:
        reason = ""
        try:
            reason = self._attempts()
        except Exception:
            log.exception("connection thread for %s failed", self.address)
            reason = "the connection stopped after an internal error (details are in the log)"
            self._emit(ev.Error(reason))
        finally:
            self._shut_down(reason)

    def _shut_down(self, reason: str) -> None:
        with self._lock:
            if self._shut:
                return
            self._shut = True
        self._outbox.close()
        self._publish(state="closed", retry_at=None, channels=())
        for sock in (self._wake_r, self._wake_w):
            sock.close()
        self._emit(ev.Closed(reason))

    def _attempts(self) -> str:
        """Connect, run, and reconnect until told to stop; return the final reason."""
        attempt, failures = 1, 0  # the number of the next attempt; failed ones since the last success
        first = True
        while True:
            if not first:
                self._find_again()
            first = False
            self._publish(state="connecting", retry_at=None, attempt=attempt)
            self._emit(ev.Connecting(self.address, attempt))
            reason, registered = self._one_link()
            self._catchup.link_lost()
            with self._lock:
                self._registered = False
                quitting = self._quit_reason is not None or self._closing
            self._publish(channels=(), reason=reason)
            self._emit(ev.Disconnected(reason))
            if quitting or not self.reconnect or self._refused:
                return reason
            if registered:  # the link was up: this is the first attempt of a new outage
                attempt, failures = 1, 1
            else:
                attempt, failures = attempt + 1, failures + 1
            delay = backoff_delay(failures, self.backoff_cap)
            self._publish(state="reconnecting", attempt=attempt, retry_at=time.monotonic() + delay)
            self._emit(ev.Reconnecting(attempt, delay))
            if self._stop.wait(delay):
                return self._stop_reason()

    def _find_again(self) -> None:
        """Before a new attempt: ask where a discovered server is now (it may have a new address)."""
        if self._resolve is None:
            return
        try:
            where = self._resolve()
        except Exception as exc:  # a failed look-up must not end the connection: the old address may still work
            log.warning("looking up %s again failed: %s", self.address, exc)
            return
        if where is None or where == (self.host, self.port):
            return
        old = self.address
        self.host, self.port = where
        self.address = format_address(*where)
        self._publish(address=self.address)
        log.info("the server moved from %s to %s", old, self.address)
        self._emit(ev.Info(f"the server is now at {self.address} (was {old}); found again on the LAN"))

    def _one_link(self) -> tuple[str, bool]:
        """One TCP connection from connect to disconnect: (reason it ended, whether we registered)."""
        if self._stop.is_set():
            return self._stop_reason(), False
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            reason = reasons.connect_failure(
                self.host, self.address, exc, self.connect_timeout, port=self.port, tls=self.tls
            )
            return reason, False
        if self.tls:
            try:
                sock = self._secure(sock)
            except _LinkEnded as ended:
                sock.close()
                self._refused |= isinstance(ended, _Refused)
                return str(ended), False
        link = _Link(self, sock)
        try:
            return link.run(), link.session.registered
        except _LinkEnded as ended:
            self._refused |= isinstance(ended, _Refused)
            return str(ended), link.session.registered
        except OSError as exc:
            reason = reasons.link_failure(self.address, exc)
            if isinstance(exc, ConnectionResetError | BrokenPipeError):
                reason = link.before_irc(reason)
            return reason, link.session.registered
        except Exception as exc:
            log.exception("error on the connection to %s", self.address)
            self._emit(ev.Error(f"internal error in the connection ({exc.__class__.__name__}); reconnecting"))
            reason = f"the connection to {self.address} stopped after an internal error"
            return reason, link.session.registered
        finally:
            sock.close()

    def _secure(self, sock: socket.socket) -> ssl.SSLSocket:
        """TLS handshake and the pin check, before a single IRC line is sent."""
        try:
            secured, der = pins.handshake(sock, self.host, self.address, self.connect_timeout)
        except pins.HandshakeFailed as failed:
            raise _LinkEnded(str(failed)) from None
        try:
            verdict = pins.verify(
                self.known_servers, self.host, self.port, der, self.fingerprint, name=self.service_name
            )
        except pins.PinMismatch as bad:
            secured.close()
            self._emit(ev.CertificateChanged(bad.address, bad.expected, bad.got, str(bad.file), bad.given, bad.name))
            who = f'"{bad.name}" at {self.address}' if bad.name else self.address
            raise _Refused(
                f"refused to talk to {who}: its TLS certificate is not the one "
                + ("you gave with --fingerprint" if bad.given else "remembered from the first connection")
            ) from None
        except pins.UnreadablePins as exc:  # cannot check: as unsafe as a mismatch, and retrying will not help
            secured.close()
            raise _Refused(str(exc)) from None
        except OSError as exc:
            where = self.known_servers.path
            if self.fingerprint is not None:  # it matched what the user gave: that is the check
                why = exc.strerror or exc
                self._emit(ev.Error(f"cannot remember the certificate of {self.address} in {where}: {why}"))
                return secured
            # Fail closed: an unsaved pin makes every connection a first use, which checks nothing.
            secured.close()
            raise _Refused(pins.unsaved_pin_refusal(self.address, fingerprint(der), where, exc)) from None
        if verdict.pinned_now:
            path = str(self.known_servers.path)
            self._emit(
                ev.CertificatePinned(self.address, verdict.fingerprint, path, verdict.given, verdict.replaced or "")
            )
        return secured

    def _stop_reason(self) -> str:
        with self._lock:
            if self._quit_reason is not None:
                return "you left the chat"
            return "the connection was closed"


class _Link:
    """The I/O loop of one TCP connection, driven by the selector; lives on the I/O thread."""

    def __init__(self, conn: Connection, sock: socket.socket) -> None:
        self.conn = conn
        self.sock = sock
        with conn._lock:
            nick = conn._wanted_nick
            join = list(conn._wanted.values())
        self.session = Session(
            nick,
            address=conn.address,
            username=conn.username,
            realname=conn.realname,
            join=join,
            caps=conn.wanted_caps,
            token=conn._token,
            password=conn._password,
            account=conn._account,
            secure=conn.tls,
            plaintext_login=conn.plaintext_login,
        )
        conn._outbox.rewind()
        self.reader = LineReader(max_body=_READ_LIMIT, max_tags=_READ_LIMIT)
        self.wbuf = bytearray()
        self.written = 0  # bytes handed to the socket since connect
        self.marks: deque[tuple[int, Pending]] = deque()  # (end offset, item) to confirm on write
        self.last_rx = time.monotonic()
        self.ping_sent = False
        self.awaiting: deque[str] = deque()  # labels written, in order, whose answer has not ended
        self.label_batches: dict[str, str] = {}  # open labeled-response batch reference -> label
        self.quit_deadline: float | None = None  # set at /quit: the whole goodbye ends by then
        self.quit_sent = False
        self.register_by = self.last_rx + conn.ping_timeout  # a server that never lets us in is as dead
        self.heard = False  # a whole line came from the server: it speaks IRC here
        self.tls_reply = False  # its first bytes were a TLS record: a TLS port

    def before_irc(self, reason: str) -> str:
        """``reason`` for the link ending, with a hint when a plain link ended before the server
        said one IRC line: the usual cause is a TLS port, which hangs up on plain text."""
        if self.conn.tls or self.heard:
            return reason
        return reasons.plain_to_tls_port(reason, self.conn.port, tls_reply=self.tls_reply)

    def run(self) -> str:
        conn = self.conn
        self.sock.setblocking(False)
        for msg in self.session.start():
            self.queue(msg)
        with selectors.DefaultSelector() as sel:
            sel.register(self.sock, selectors.EVENT_READ)
            sel.register(conn._wake_r, selectors.EVENT_READ)
            while True:
                if self.session.registered:
                    self.flush_requests()
                    self.flush_outbox()
                self.check_stop()  # after the flush, so that a QUIT follows what was said before it
                want = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.wbuf else 0)
                sel.modify(self.sock, want)
                for key, mask in sel.select(self.timeout()):
                    if key.fileobj is conn._wake_r:
                        with contextlib.suppress(BlockingIOError):
                            conn._wake_r.recv(4096)
                        continue
                    if mask & selectors.EVENT_WRITE:
                        self.write()
                    if mask & selectors.EVENT_READ:
                        self.read()
                self.keepalive()
                self.apply(conn._catchup.expire())

    # ----------------------------------------------------------------- stop / quit

    def check_stop(self) -> None:
        conn = self.conn
        with conn._lock:
            quit_reason, closing = conn._quit_reason, conn._closing
        if closing:
            raise _LinkEnded("the connection was closed")
        if quit_reason is None:
            return
        now = time.monotonic()
        if self.quit_deadline is None:
            # One deadline for the whole goodbye, so /quit never takes longer than quit_timeout.
            self.quit_deadline = now + conn.quit_timeout
        if not self.quit_sent:
            if self.session.registered and conn._outbox.unwritten() and now < self.quit_deadline:
                return  # the send window still holds lines said before /quit: they go first
            self.queue(Message("QUIT", [quit_reason] if quit_reason else []))
            self.quit_sent = True
            if now >= self.quit_deadline:
                with contextlib.suppress(OSError):
                    self.write()  # out of time: one try to say goodbye before hanging up
        if now >= self.quit_deadline:
            raise _LinkEnded("you left the chat")

    def timeout(self) -> float:
        now = time.monotonic()
        conn = self.conn
        deadline = self.last_rx + (conn.ping_timeout if self.ping_sent else conn.ping_interval)
        deadline = min(deadline, self.last_rx + conn.ping_timeout)
        if self.quit_deadline is not None:
            deadline = min(deadline, self.quit_deadline)
        if not self.session.registered:
            deadline = min(deadline, self.register_by)
        return max(0.0, min(deadline - now, 5.0))

    def keepalive(self) -> None:
        conn = self.conn
        now = time.monotonic()
        silent = now - self.last_rx
        if silent >= conn.ping_timeout:
            raise _LinkEnded(reasons.dead_link(conn.address, silent))
        if not self.session.registered and now >= self.register_by:
            raise _LinkEnded(reasons.not_let_in(conn.address, conn.ping_timeout))
        if silent >= conn.ping_interval and not self.ping_sent:
            self.ping_sent = True
            self.queue(Message("PING", [f"chat-{int(time.time())}"]))

    # ------------------------------------------------------------------------ output

    def queue(self, msg: Message) -> None:
        self.wbuf += msg.encode()

    def flush_requests(self) -> None:
        conn = self.conn
        with conn._lock:
            requests = list(conn._requests)
            conn._requests.clear()
        for msg in requests:
            self.queue(msg)

    def flush_outbox(self) -> None:
        """Write what the user said, at most :data:`SEND_WINDOW` unconfirmed at a time: a pasted
        page or a long backlog after a reconnect then trickles out as the server confirms each
        line, instead of tripping the server's flood limit (which would drop the link, and the
        resend after the reconnect would trip it again)."""
        conn = self.conn
        caps = self.session.caps
        echo, labels = "echo-message" in caps, self.labels
        room = SEND_WINDOW - conn._outbox.in_flight() if echo else None
        for item in conn._outbox.unwritten():
            # Without labels a NOTICE is settled once written (nothing answers one the server
            # cannot deliver), so it takes no slot: it must not hold back what follows.
            settles_on_write = not echo or (not labels and item.command == "NOTICE")
            if room is not None and not settles_on_write:
                if room <= 0:
                    break
                room -= 1
            tags = {CID_TAG: item.cid} if "message-tags" in caps else {}
            if labels:
                tags["label"] = item.cid  # unique, and short enough for a label (64 bytes at most)
            try:
                self.queue(Message(item.command, [item.target, item.text], tags=tags))
            except ValueError as err:  # it can never be sent: refuse it instead of retrying forever
                if conn._outbox.acknowledge(item.cid) is not None:
                    conn._emit(ev.Rejected(item.cid, item.target, f"cannot be sent: {err}"))
                continue
            conn._outbox.mark_written(item.cid)
            if settles_on_write:
                self.marks.append((self.written + len(self.wbuf), item))
            elif labels:
                self.awaiting.append(item.cid)

    def write(self) -> None:
        try:
            sent = self.sock.send(self.wbuf)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return  # TLS: the retry starts with the same bytes, as OpenSSL requires
        del self.wbuf[:sent]
        self.written += sent
        while self.marks and self.marks[0][0] <= self.written:
            _, item = self.marks.popleft()
            self.confirm_written(item)

    def confirm_written(self, item: Pending) -> None:
        """Without echo-message (or, for a NOTICE, without labeled-response), the socket taking
        the bytes is the best proof we get. With echo-message the echo, if one comes, is what
        shows the message: showing it here too would show it twice."""
        conn = self.conn
        if conn._outbox.acknowledge(item.cid) is None:
            return
        if "echo-message" in self.session.caps:
            conn._emit(ev.Acknowledged(item.cid, item.target))
            return
        text, action = item.text, False
        if text.startswith("\x01ACTION ") and item.command == "PRIVMSG":
            text, action = text[len("\x01ACTION ") :].rstrip("\x01"), True
        event = ev.Message(
            item.target,
            self.session.nick,
            text,
            action=action,
            notice=item.command == "NOTICE",
            own=True,
            cid=item.cid,
        )
        conn._catchup.shown_elsewhere(event)  # its copy in history must not come back as missed
        conn._emit(event)
        conn._emit(ev.Acknowledged(item.cid, item.target))

    # ------------------------------------------------------------------------- input

    def read(self) -> None:
        sock = self.sock
        try:
            data = sock.recv(65536)
            if isinstance(sock, ssl.SSLSocket):
                # Already decrypted, so the selector will not report it: take it now.
                while data and (pending := sock.pending()):
                    data += sock.recv(pending)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        if not data:
            if self.quit_sent:
                raise _LinkEnded("you left the chat")
            raise _LinkEnded(self.before_irc(reasons.server_closed(self.conn.address, self.session.error_text)))
        self.last_rx = time.monotonic()
        self.ping_sent = False
        if not self.heard and not self.tls_reply:
            self.tls_reply = reasons.looks_like_tls(data)
        for line in self.reader.feed(data):
            self.heard = True
            if isinstance(line, LineTooLong):
                log.warning("ignoring a %d-byte line from %s", line.length, self.conn.address)
                continue
            try:
                msg = parse(line.decode("utf-8", "replace"))
            except ParseError:
                continue
            self.handle(msg)

    def handle(self, msg: Message) -> None:
        conn = self.conn
        catchup = conn._catchup
        command = msg.command
        label = msg.tags.get("label") if self.labels else None
        if command == "BATCH":
            if not self.labeled_batch(msg, label):
                self.apply(catchup.batch(msg))
            return
        if command == "ACK":
            if label is not None:
                self.answered(label)
            return
        answers = label if label is not None else self.label_batches.get(msg.tags.get("batch") or "")
        if command == "CHATHISTORY" and msg.param(0) == "TARGETS":
            catchup.target(msg)
            return
        if command == "FAIL" and msg.param(0) == "CHATHISTORY" and catchup.active:
            self.apply(catchup.fail(msg))  # handled by falling back; nothing the user must read
            return
        step = self.session.handle(msg)
        conn._token = self.session.token
        for out in step.send:
            self.queue(out)
        rejected = self.rejection(msg, answers)
        if command in _JOIN_FAILURES:
            self.apply(catchup.join_failed(msg.param(1)))
        for event in step.events:
            if isinstance(event, ev.Message):
                self.show_message(event, command, msg.tags.get("batch"), answers)
                continue
            if isinstance(event, ev.Connected):
                with conn._lock:
                    conn._registered = True
                conn._caps = self.session.caps
                conn._publish(state="connected", nick=event.nick, server=event.server, attempt=0, reason="")
            elif isinstance(event, ev.Joined | ev.Parted) and event.own:
                self.track_channel(event)
            elif isinstance(event, ev.NickChanged) and event.own:
                with conn._lock:
                    conn._wanted_nick = event.new
                conn._publish(nick=event.new)
            conn._emit(event)
            if isinstance(event, ev.Connected):
                # What waited in the outbox goes out before any catch-up request, so that the
                # server's answer to a resend (the original msgid) arrives before history does.
                self.flush_requests()
                self.flush_outbox()
                rooms = list(self.session.join)
                self.apply(catchup.registered(rooms, self.session.caps, self.session.isupport))
            elif isinstance(event, ev.Joined) and event.own:
                self.apply(catchup.joined(event.channel))
        if rejected is not None:
            reason = next((e.text for e in step.events if isinstance(e, ev.Error)), "refused by the server")
            conn._emit(ev.Rejected(rejected.cid, rejected.target, reason))
        if label is not None:  # a single labeled line is the whole answer
            self.answered(label)
        if self.session.refused is not None:
            # Reconnecting with the same password would only be refused again (and count as
            # more failed attempts), so this link ends and no other follows.
            raise _Refused(self.session.refused.reason)

    @property
    def labels(self) -> bool:
        """Whether every outbox line carries a label, so the server answers each one (IRCv3
        labeled-response: the echo, an error, or an ACK when the line produced nothing)."""
        caps = self.session.caps
        return "labeled-response" in caps and "echo-message" in caps

    def labeled_batch(self, msg: Message, label: str | None) -> bool:
        """``BATCH +ref labeled-response`` opens the answer to one label, ``BATCH -ref`` ends it.
        Returns whether the line was such a batch (then it is not the catch-up's)."""
        ref = msg.param(0)
        if ref.startswith("+") and label is not None and msg.param(1) == "labeled-response":
            self.label_batches[ref[1:]] = label
            return True
        if ref.startswith("-") and ref[1:] in self.label_batches:
            self.answered(self.label_batches.pop(ref[1:]))
            return True
        return False

    def rejection(self, msg: Message, answers: str | None) -> Pending | None:
        """The outbox item an error reply refuses, if any: with labels the one it answers, else
        the oldest written one to the target it names, or simply the oldest written one."""
        outbox = self.conn._outbox
        command = msg.command
        is_error = command == "FAIL" or (command.isdigit() and command[0] in "45")
        if answers is not None:
            return outbox.acknowledge(answers) if is_error else None
        if command in _REJECTIONS:
            return outbox.reject(msg.param(1))
        if command in _UNNAMED_REJECTIONS:
            return outbox.reject(None)
        return None

    def answered(self, label: str) -> None:
        """The server's whole answer to a labeled line has arrived. If it did not settle the
        message (no echo: delivered to nobody), it is settled now as not delivered; and as the
        server answers in order, any line written before it still unanswered was dropped."""
        if label not in self.awaiting:
            return
        conn = self.conn
        while self.awaiting:
            cid = self.awaiting.popleft()
            item = conn._outbox.acknowledge(cid)
            if item is not None:
                reason = (_DELIVERED_TO_NOBODY if cid == label else _DROPPED).format(target=item.target)
                conn._emit(ev.Error(reason))
                conn._emit(ev.Rejected(cid, item.target, reason))
            if cid == label:
                return

    def apply(self, step: Step) -> None:
        """What the catch-up asks for: requests to send, messages and a summary to show."""
        for out in step.send:
            self.queue(out)
        for event in step.events:
            self.conn._emit(event)

    def show_message(self, event: ev.Message, command: str, batch: str | None, answers: str | None) -> None:
        """A chat message: settle our own at once (the server has it), show it once, in order."""
        conn = self.conn
        if event.cid and not event.own and event.cid in conn._outbox:
            event = replace(event, own=True)  # ours, sent under a nick we no longer have
        settled = None
        if event.own:
            # An echo with our tag is matched by it alone; only an untagged one by its content.
            settled = self.settle(event, command, answers, by_content=batch is None and not event.cid)
        for shown in conn._catchup.message(replace(event, cid=event.cid or settled), batch):
            conn._emit(shown)
        if settled is not None:  # even when the copy was a duplicate or is held back for order
            conn._emit(ev.Acknowledged(settled, event.target, event.msgid))

    def settle(self, event: ev.Message, command: str, answers: str | None, *, by_content: bool) -> str | None:
        """Our own message came back, so the server has it: the outbox entry it settles (by
        our tag, else by the label it answers, else by its content)."""
        outbox = self.conn._outbox
        if "echo-message" not in self.session.caps:
            return None  # then writing it was the confirmation (confirm_written)
        cid = event.cid or answers
        item = outbox.acknowledge(cid) if cid else None
        if item is None and by_content:
            wire_text = as_action(event.text) if event.action else event.text
            item = outbox.acknowledge_match(command, event.target, wire_text)
        return item.cid if item else None

    def track_channel(self, event: ev.Joined | ev.Parted) -> None:
        conn = self.conn
        key = casefold(event.channel)
        with conn._lock:
            if isinstance(event, ev.Joined):
                conn._wanted[key] = event.channel
            else:  # parted or kicked: do not come back on the next reconnect
                conn._wanted.pop(key, None)
        conn._publish(channels=tuple(self.session.channels.values()))
