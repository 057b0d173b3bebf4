"""``chat status``: is the server up, what is it, how many people are on, how fast does it answer.

A small synchronous client on purpose: it registers with a throwaway nick, reads the welcome
burst for the version (004) and the user count (266, or 251), times one PING, and says
goodbye. Exit status 0 means the server answered all of that within the timeout, so it can
serve as a health check for a supervisor or a monitoring script. A server with a password
(``auth.password``) refuses the check with 464 instead of the welcome: that refusal comes from
a running server that read our registration, so it counts as up too (the check has no password
to give, and a health check must not need one).

With ``--tls`` the certificate is checked against the known-servers pin (a changed one fails the
check) but never pinned: a health check should not decide what a user trusts.

With ``--config`` (:func:`own_server`) it checks the server those settings describe, on this
machine: loopback when the server listens on every address, its plain port, or its TLS port
when ``tls.require`` closed the plain one. That is how the container's health check works for
any config. There the certificate is the server's own, read over loopback, and the check runs
where nobody has pinned anything (nor should): no pin is looked up or saved.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from chat.client import pins, reasons
from chat.client.address import format_address, parse_server
from chat.config import Settings
from chat.fingerprint import fingerprint
from chat.protocol import LineReader, LineTooLong, Message, ParseError, parse
from chat.protocol import numerics as rpl

__all__ = ["Report", "StatusError", "main", "own_server", "probe"]

#: A server bound to one of these listens on every address; the check then uses loopback.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}

_USERS_IN_251 = re.compile(r"There are (\d+) users(?: and (\d+) invisible)?")


class StatusError(Exception):
    """The server is not healthy; the message says why in plain words."""


class _PasswordRequired(Exception):
    """464 during registration: the server is up and wants a password we do not have."""


@dataclass(frozen=True, slots=True)
class Report:
    address: str
    server: str
    version: str
    users: int | None  # people online, not counting this check
    rtt_ms: float
    fingerprint: str | None = None  # TLS only
    pinned: bool = False  # TLS only: the fingerprint is the remembered one
    password_required: bool = False  # answered 464: up, but version and users are for members only


def own_server(settings: Settings, *, tls: bool = False) -> tuple[str, bool]:
    """(address, TLS or not) that reaches the server ``settings`` describe from its own machine.

    The plain port unless ``tls.require`` closed it or ``tls`` asks for the TLS one. Raises
    ValueError when that cannot be known (port 0) or TLS is asked of a server without it."""
    host = _WILDCARDS.get(settings.host, settings.host)
    if tls and not settings.tls.enabled:
        raise ValueError("--tls: the server's settings have no tls.cert and tls.key, so it has no TLS port")
    use_tls = tls or (settings.tls.enabled and settings.tls.require)
    port = settings.tls.port if use_tls else settings.port
    if port == 0:
        which = "tls.port" if use_tls else "server.port"
        raise ValueError(f"{which} is 0 (any free port), so only the server's log says which one: give the address")
    return format_address(host, port), use_tls


def main(address: str, timeout: float = 5.0, *, tls: bool = False, check_pin: bool = True) -> int:
    """Print what the server reports about itself; 0 if healthy, 1 if not, 2 for a bad address.

    ``check_pin=False`` (the server's own settings, over loopback) neither reads nor saves pins."""
    try:
        host, port, tls = parse_server(address, tls=tls)
    except ValueError as err:
        print(f"chat status: {err}", file=sys.stderr)
        return 2
    try:
        report = probe(host, port, timeout, tls=tls, check_pin=check_pin)
    except StatusError as err:
        print(f"chat status: {err}", file=sys.stderr)
        return 1
    users = "unknown" if report.users is None else str(report.users)
    print(f"{report.server} is up at {report.address}")
    if report.password_required:
        print("  answers; a server password is required to chat (so no version or user count)")
    else:
        print(f"  version:      {report.version or 'unknown'}")
        print(f"  users online: {users}")
    print(f"  round trip:   {report.rtt_ms:.1f} ms")
    if report.fingerprint is not None:
        if not check_pin:
            known = "not compared with remembered ones: checked from the server's own settings"
        elif report.pinned:
            known = "the remembered one"
        else:
            known = "not remembered yet; chat connect --tls remembers it"
        print(f"  TLS:          {report.fingerprint} ({known})")
    return 0


def probe(
    host: str,
    port: int,
    timeout: float,
    *,
    tls: bool = False,
    known_servers: pins.KnownServers | None = None,
    check_pin: bool = True,
) -> Report:
    """Connect, register, PING once and QUIT; raise :class:`StatusError` on any failure.

    With TLS the certificate must match a remembered pin, if any, unless ``check_pin`` is off."""
    address = format_address(host, port)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=max(timeout, 0.01))
    except OSError as exc:
        raise StatusError(reasons.connect_failure(host, address, exc, timeout, port=port, tls=tls)) from None
    verdict: pins.Verdict | None = None
    if tls:
        try:
            sock, der = pins.handshake(sock, host, address, max(deadline - time.monotonic(), 0.01))
        except pins.HandshakeFailed as failed:
            raise StatusError(str(failed)) from None
        if not check_pin:
            verdict = pins.Verdict(fingerprint(der), pinned_now=True)
        else:
            store = known_servers if known_servers is not None else pins.KnownServers()
            try:
                verdict = pins.verify(store, host, port, der, pin=False)
            except (pins.PinMismatch, pins.UnreadablePins) as exc:
                sock.close()
                raise StatusError(str(exc)) from None
    with sock:
        try:
            report = _Probe(sock, address, deadline, timeout).run()
        except _Silent as ended:  # dropped before a single line: likely a TLS port probed in plain text
            raise StatusError(str(ended) if tls else reasons.plain_to_tls_port(str(ended), port)) from None
    if verdict is None:
        return report
    return replace(report, fingerprint=verdict.fingerprint, pinned=not verdict.pinned_now)


class _Silent(StatusError):
    """The server ended the connection before it sent a single line."""


class _Probe:
    def __init__(self, sock: socket.socket, address: str, deadline: float, timeout: float) -> None:
        self.sock = sock
        self.address = address
        self.deadline = deadline
        self.timeout = timeout
        self.reader = LineReader(max_body=16384, max_tags=16384)
        self.pending: list[Message] = []
        self.server = ""
        self.version = ""
        self.users: int | None = None
        self.error: str | None = None
        self.heard = False  # any line from the server yet

    def run(self) -> Report:
        nick = f"status-{random.randint(1000, 9999)}"
        # chat/probe keeps a health check out of the rooms; a server without it just says NAK.
        self.send(
            Message("CAP", ["REQ", "chat/probe"]),
            Message("NICK", [nick]),
            Message("USER", ["status", "0", "*", "chat status check"]),
            Message("CAP", ["END"]),
        )
        start = time.perf_counter()
        try:
            self.wait_for(self._registered_burst_done)
        except _PasswordRequired:
            rtt_ms = (time.perf_counter() - start) * 1000  # our registration lines to its refusal
            return Report(self.address, self.server or self.address, "", None, rtt_ms, password_required=True)
        token = f"status-{time.monotonic_ns()}"
        start = time.perf_counter()
        self.send(Message("PING", [token]))
        self.wait_for(lambda m: m.command == "PONG" and token in m.params)
        rtt_ms = (time.perf_counter() - start) * 1000
        with contextlib.suppress(StatusError):  # the server already hung up: the check succeeded
            self.send(Message("QUIT", ["status check done"]))
        return Report(self.address, self.server, self.version, self.users, rtt_ms)

    def _registered_burst_done(self, msg: Message) -> bool:
        code = msg.command
        if code == rpl.RPL_WELCOME:
            self.server = msg.prefix or self.server
        elif code == rpl.RPL_MYINFO:
            self.server = msg.param(1) or self.server
            self.version = msg.param(2)
        elif code == "266" and msg.param(1).isdigit():
            self.users = max(0, int(msg.param(1)) - 1)
        elif code == rpl.RPL_LUSERCLIENT and self.users is None:
            found = _USERS_IN_251.search(msg.params[-1] if msg.params else "")
            if found:
                self.users = max(0, int(found.group(1)) + int(found.group(2) or 0) - 1)
        elif code in (rpl.ERR_NICKNAMEINUSE, rpl.ERR_ERRONEUSNICKNAME):
            self.send(Message("NICK", [f"status-{random.randint(1000, 9999)}"]))
        elif code == rpl.ERR_PASSWDMISMATCH:
            self.server = msg.prefix or self.server
            raise _PasswordRequired
        return code in (rpl.RPL_ENDOFMOTD, rpl.ERR_NOMOTD)

    def send(self, *messages: Message) -> None:
        data = b"".join(m.encode() for m in messages)
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise StatusError(reasons.link_failure(self.address, exc)) from None

    def wait_for(self, done: Callable[[Message], bool]) -> Message:
        while True:
            while self.pending:
                msg = self.pending.pop(0)
                if msg.command == "PING":
                    self.send(Message("PONG", msg.params))
                elif msg.command == "ERROR":
                    raise StatusError(reasons.server_closed(self.address, msg.param(0)))
                elif done(msg):
                    return msg
            self.receive()

    def receive(self) -> None:
        silent = f"{self.address} accepted the connection but did not answer within {self.timeout:g} s"
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StatusError(silent)
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise StatusError(silent) from None
        except OSError as exc:
            reason = reasons.link_failure(self.address, exc)
            raise (StatusError(reason) if self.heard else _Silent(reason)) from None
        if not data:
            reason = reasons.server_closed(self.address, None)
            raise StatusError(reason) if self.heard else _Silent(reason)
        for line in self.reader.feed(data):
            self.heard = True
            if isinstance(line, LineTooLong):
                continue
            try:
                self.pending.append(parse(line.decode("utf-8", "replace")))
            except ParseError:
                continue
