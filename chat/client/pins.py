"""Trust on first use for TLS servers: the known-servers file, the client's TLS context, and the
words for what happened (first contact, or a changed certificate).

A LAN server has a self-signed certificate no CA vouches for, so the client does what SSH does:
it remembers the SHA-256 of the certificate it saw first for each ``host:port`` and from then on
refuses any other one. The first contact is shown to the user with the fingerprint, to compare
once with what the server's admin says (the server logs it at start-up). A changed certificate
stops the client for good, with a warning that says how to check and how to forget the old pin.

The file is ``$CHAT_KNOWN_SERVERS``, else ``$XDG_CONFIG_HOME/chat/known_servers`` (default
``~/.config/chat/known_servers``): one ``host:port SHA256:AB:…`` line per server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock, the atomic replace still keeps the file whole
    fcntl = None  # type: ignore[assignment]

from chat.client.address import format_address
from chat.fingerprint import fingerprint, normalize

__all__ = [
    "DEFAULT_TLS_PORT",
    "KnownServers",
    "PinMismatch",
    "UnreadablePins",
    "Verdict",
    "changed_warning",
    "client_context",
    "first_use_notice",
    "handshake_failure",
    "known_servers_path",
    "server_key",
    "unsaved_pin_refusal",
    "verify",
    "wrap",
]

DEFAULT_TLS_PORT = 6697
ENV_VAR = "CHAT_KNOWN_SERVERS"


def known_servers_path() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chat" / "known_servers"


def server_key(host: str, port: int) -> str:
    """How a server is named in the file: as typed, lower-cased, with its port."""
    return format_address(host.lower().rstrip("."), port)


class UnreadablePins(Exception):
    """The known-servers file exists but cannot be read, so no certificate can be checked."""


class KnownServers:
    """The pins in one file. Read on every lookup, so two clients (or ``chat trust --forget``)
    running at once see each other's changes. A change is a read-modify-write under a lock
    (``<file>.lock``), re-reading the file inside it, so two clients pinning at once both keep
    their pin; the new file is written whole to a unique temporary file, synced to disk and
    renamed over the old one, so a crash leaves the old file or the new one, never a torn one
    (a lost pin would silently make the next connection a first use again)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else known_servers_path()

    def entries(self) -> dict[str, str]:
        """server key -> fingerprint; a missing file means nothing pinned yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UnreadablePins(f"cannot read the remembered TLS certificates in {self.path}: {why}") from None
        pins: dict[str, str] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and not parts[0].startswith("#"):
                with contextlib.suppress(ValueError):  # a damaged line pins nothing
                    pins[parts[0]] = normalize(parts[1])
        return pins

    def get(self, key: str) -> str | None:
        return self.entries().get(key)

    def remember(self, key: str, print_: str, *, replace: bool = True) -> str:
        """Pin ``print_`` for ``key`` and return the pin now in the file. With ``replace=False``
        (a first use) a pin another client saved meanwhile is kept and returned instead, so
        the caller can check the certificate against it. Raises OSError if it cannot be saved."""
        with self._locked():
            pins = self.entries()
            current = pins.get(key)
            if current == print_ or (current is not None and not replace):
                return current
            pins[key] = print_
            self._write(pins)
            return print_

    def forget(self, key: str) -> bool:
        with self._locked():
            pins = self.entries()
            if pins.pop(key, None) is None:
                return False
            self._write(pins)
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``<file>.lock`` exclusively: one read-modify-write at a time across processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, pins: dict[str, str]) -> None:
        lines = ["# chat: TLS certificates seen first for each server (see chat trust --help)"]
        lines += [f"{key} {value}" for key, value in sorted(pins.items())]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable, where the OS allows it
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def client_context() -> ssl.SSLContext:
    """TLS 1.2 or newer, without CA checks: the pin is the check (LAN certificates are self-signed)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def wrap(sock: socket.socket, host: str, timeout: float) -> ssl.SSLSocket:
    """Do the TLS handshake on a connected socket (blocking, at most ``timeout`` seconds)."""
    sock.settimeout(timeout)
    try:
        ipaddress.ip_address(host.split("%")[0])
        name: str | None = None  # no SNI for an address
    except ValueError:
        name = host
    return client_context().wrap_socket(sock, server_hostname=name)


def handshake_failure(address: str, exc: OSError, timeout: float) -> str:
    """Why the TLS handshake with ``address`` failed, in words a user can act on."""
    hint = "is that the server's TLS port (usually 6697), and is TLS on there?"
    if isinstance(exc, TimeoutError):
        return f"{address} did not complete the TLS handshake within {timeout:g} s — {hint}"
    if isinstance(exc, ssl.SSLError):
        why = (exc.reason or exc.strerror or str(exc)).replace("_", " ").lower()
        return f"cannot start TLS with {address}: {why} — {hint}"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return f"{address} closed the connection during the TLS handshake — {hint}"
    return f"cannot start TLS with {address}: {exc.strerror or exc}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The certificate is trusted; ``pinned_now`` when it was not the remembered one before:
    the first contact, or (``given``) a ``--fingerprint`` that matched, which says nothing new
    to compare but may have ``replaced`` an older pin."""

    fingerprint: str
    pinned_now: bool
    given: bool = False
    replaced: str | None = None


class PinMismatch(Exception):
    """The server's certificate is not the remembered (or the given) one: do not talk to it."""

    def __init__(self, address: str, expected: str, got: str, file: Path, given: bool) -> None:
        super().__init__(changed_warning(address, expected, got, file, given=given))
        self.address = address
        self.expected = expected
        self.got = got
        self.file = file
        self.given = given


def verify(
    store: KnownServers, host: str, port: int, der: bytes, expected: str | None = None, *, pin: bool = True
) -> Verdict:
    """Check ``der`` against ``expected`` (``--fingerprint``) or else the pin; pin it on first use.

    A fingerprint given by the user wins over an older pin and replaces it once it matches:
    that is how a user accepts a new certificate after checking it with the admin.
    Raises OSError when a pin cannot be saved (the certificate itself was fine).
    """
    got = fingerprint(der)
    key = server_key(host, port)
    address = format_address(host, port)
    pinned = store.get(key)
    if expected is not None:
        if got != expected:
            raise PinMismatch(address, expected, got, store.path, given=True)
        replaced = pinned if pin and pinned not in (None, got) else None
        if pinned != got and pin:
            store.remember(key, got)
        return Verdict(got, pinned_now=pinned != got, given=True, replaced=replaced)
    if pinned is None:
        if pin:
            # Another client may have pinned this server since we read the file: its pin wins.
            pinned = store.remember(key, got, replace=False)
            if pinned != got:
                raise PinMismatch(address, pinned, got, store.path, given=False)
        return Verdict(got, pinned_now=True)
    if pinned != got:
        raise PinMismatch(address, pinned, got, store.path, given=False)
    return Verdict(got, pinned_now=False)


def unsaved_pin_refusal(address: str, print_: str, file: Path, exc: OSError) -> str:
    """Why we do not talk to a first-use server whose pin could not be saved, and what to do."""
    why = exc.strerror or str(exc)
    return (
        f"not connecting to {address}: cannot remember its TLS certificate ({print_}) in {file}: {why}. "
        "Without a saved pin, every connection would trust whatever certificate it is shown. Fix the "
        f"permissions of {file.parent}, or set {ENV_VAR} to a file you can write, or connect with "
        "--fingerprint and the fingerprint the server admin gives you."
    )


def first_use_notice(address: str, print_: str, file: Path, *, given: bool = False, replaced: str | None = None) -> str:
    """What a newly remembered certificate means. Only a first contact asks the user to compare
    the fingerprint: one that matched ``--fingerprint`` (``given``) was compared already, and
    saying "first TLS connection" then would be wrong, worse when it ``replaced`` an old pin."""
    if given and replaced:
        return (
            f"the TLS certificate of {address} matches the fingerprint you gave ({print_}); it replaces the "
            f"old pin {replaced} in {file}"
        )
    if given:
        return f"the TLS certificate of {address} matches the fingerprint you gave ({print_}); remembered in {file}"
    return (
        f"first TLS connection to {address}; certificate fingerprint {print_}; remembered in {file} — "
        "compare it with what the server admin says (the server log shows it at start-up)"
    )


def changed_warning(
    address: str, expected: str, got: str, file: Path, *, given: bool = False, window: bool = False
) -> str:
    """The refusal of a certificate that is not the expected one, with what to do about it;
    ``window``: for the desktop client, whose user has no command line to retype (the way out
    is ``chat trust --forget`` in a terminal, then Connect)."""
    if given:
        return (
            f"WARNING: the TLS certificate of {address} is not the one you asked for with --fingerprint: "
            f"expected {expected}, the server sent {got}. Not connecting. Check the fingerprint with the server admin."
        )
    if window:
        accept = (
            f"run `chat trust --forget {address}` in a terminal (or delete its line in {file}), then press "
            f"Connect again; or start the window with `chat gui --fingerprint {got} {address}`."
        )
    else:
        accept = (
            f"forget the old pin with `chat trust --forget {address}` (or delete its line in {file}) and "
            f"connect again, or connect with --fingerprint {got}."
        )
    return (
        f"WARNING: the TLS certificate of {address} has CHANGED since you first connected: remembered "
        f"{expected}, the server now sends {got}. Not connecting. This may be someone pretending to be "
        "the server (an attacker on the network), or the admin made a new certificate. Ask the admin for "
        f"the fingerprint the server log shows at start-up. If it is the new one, {accept}"
    )
