"""Trust on first use for TLS servers: the known-servers file, the client's TLS context, and the
words for what happened (first contact, or a changed certificate).

A LAN server has a self-signed certificate no CA vouches for, so the client does what SSH does:
it remembers the SHA-256 of the certificate it saw first for each ``host:port`` and from then on
refuses any other one. The first contact is shown to the user with the fingerprint, to compare
once with what the server's admin says (the server logs it at start-up). A changed certificate
stops the client for good, with a warning that says how to check and how to forget the old pin.

The file is ``$CHAT_KNOWN_SERVERS``, else ``$XDG_CONFIG_HOME/chat/known_servers`` (default
``~/.config/chat/known_servers``): one ``host:port SHA256:AB:…`` line per server.

A server found on the LAN (mDNS, :mod:`chat.client.discovery`) is also pinned under its announced
instance name, in a ``mdns:<name> SHA256:AB:…`` line (the name lower-cased, with ``%``, spaces and
control characters written ``%XX``). Its address may change (DHCP); its name and certificate do
not, so the name's pin is checked first: the same certificate at a new address is that server
(and the new ``host:port`` is pinned too), another certificate under the name is refused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shlex
import socket
import ssl
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock, the atomic replace still keeps the file whole
    fcntl = None  # type: ignore[assignment]

from chat.client.address import TLS_PORT, format_address, parse_server
from chat.fingerprint import fingerprint, normalize

__all__ = [
    "KnownServers",
    "PinMismatch",
    "UnreadablePins",
    "Verdict",
    "changed_warning",
    "client_context",
    "first_use_notice",
    "handshake_failure",
    "known_servers_path",
    "name_key",
    "parse_key",
    "server_key",
    "unsaved_pin_refusal",
    "verify",
    "wrap",
]

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


NAME_PREFIX = "mdns:"


def name_key(name: str) -> str:
    """How a server found on the LAN is named in the file: ``mdns:`` and its announced instance
    name, lower-cased (DNS names compare so), one word (``%``, white space and control characters
    as ``%XX`` of their UTF-8 bytes)."""
    word = "".join(
        "".join(f"%{byte:02X}" for byte in ch.encode("utf-8"))
        if ch == "%" or ch.isspace() or not ch.isprintable()
        else ch
        for ch in name.lower().rstrip(".")
    )
    return NAME_PREFIX + word


def parse_key(typed: str) -> str:
    """The key for what a user typed after ``chat trust --forget``: ``mdns:NAME`` (as listed, or
    with the name as announced) or a server address. Raises ValueError for a bad address."""
    if typed[: len(NAME_PREFIX)].lower() == NAME_PREFIX:
        return name_key(urllib.parse.unquote(typed[len(NAME_PREFIX) :]))
    host, port, _tls = parse_server(typed, tls=True)
    return server_key(host, port)


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
        return self.remember_all([key], print_, replace=replace)[key]

    def remember_all(self, keys: Iterable[str], print_: str, *, replace: bool = True) -> dict[str, str]:
        """:meth:`remember` for several keys of one server at once (one read-modify-write):
        key -> the pin now in the file."""
        with self._locked():
            pins = self.entries()
            now: dict[str, str] = {}
            changed = False
            for key in keys:
                current = pins.get(key)
                if current is None or (replace and current != print_):
                    pins[key] = current = print_
                    changed = True
                now[key] = current
            if changed:
                self._write(pins)
            return now

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


class HandshakeFailed(Exception):
    """The TLS handshake did not complete; the message says why, in words a user can act on."""


def handshake(sock: socket.socket, host: str, address: str, timeout: float) -> tuple[ssl.SSLSocket, bytes]:
    """TLS on a connected socket: the secured socket and the server's certificate (DER), for
    :func:`verify`. On failure ``sock`` is closed and :class:`HandshakeFailed` raised."""
    try:
        secured = wrap(sock, host, timeout)
    except OSError as exc:
        sock.close()
        raise HandshakeFailed(handshake_failure(address, exc, timeout)) from None
    try:
        return secured, secured.getpeercert(binary_form=True) or b""
    except OSError as exc:
        secured.close()
        raise HandshakeFailed(handshake_failure(address, exc, timeout)) from None


def handshake_failure(address: str, exc: OSError, timeout: float) -> str:
    """Why the TLS handshake with ``address`` failed, in words a user can act on."""
    hint = f"is that the server's TLS port (usually {TLS_PORT}), and is TLS on there?"
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
    """The server's certificate is not the remembered (or the given) one: do not talk to it.
    ``name``: the pin it failed is the one of the server announced on the LAN under that name."""

    def __init__(self, address: str, expected: str, got: str, file: Path, given: bool, name: str = "") -> None:
        super().__init__(changed_warning(address, expected, got, file, given=given, name=name))
        self.address = address
        self.expected = expected
        self.got = got
        self.file = file
        self.given = given
        self.name = name


def verify(
    store: KnownServers,
    host: str,
    port: int,
    der: bytes,
    expected: str | None = None,
    *,
    pin: bool = True,
    name: str | None = None,
) -> Verdict:
    """Check ``der`` against ``expected`` (``--fingerprint``) or else the pin; pin it on first use.

    A fingerprint given by the user wins over an older pin and replaces it once it matches:
    that is how a user accepts a new certificate after checking it with the admin.
    ``name``: the server was found on the LAN under that instance name; the name's pin is checked
    first, and a certificate it vouches for is pinned at the new address without a first use.
    Raises OSError when a pin cannot be saved (the certificate itself was fine).
    """
    got = fingerprint(der)
    address = format_address(host, port)
    keys = [server_key(host, port)]
    if name:
        keys.insert(0, name_key(name))
    pinned = {key: store.get(key) for key in keys}
    if expected is not None:
        if got != expected:
            raise PinMismatch(address, expected, got, store.path, given=True)
        old = next((value for value in pinned.values() if value not in (None, got)), None)
        unpinned = [key for key, value in pinned.items() if value != got]
        if unpinned and pin:
            store.remember_all(unpinned, got)
        return Verdict(got, pinned_now=bool(unpinned), given=True, replaced=old if pin else None)
    by_name = pinned[keys[0]] if name else None
    if by_name is not None:
        if by_name != got:
            raise PinMismatch(address, by_name, got, store.path, given=False, name=name or "")
        # The server we pinned under this name, at an address that may be new to us (or that
        # another server had before): pin it there too, with nothing for the user to compare.
        # The name's pin was the check, so a file that cannot be written does not stop it.
        if pin and pinned[keys[-1]] != got:
            with contextlib.suppress(OSError):
                store.remember(keys[-1], got)
        return Verdict(got, pinned_now=False)
    by_address = pinned[keys[-1]]
    if by_address is not None and by_address != got:
        raise PinMismatch(address, by_address, got, store.path, given=False)
    missing = [key for key in keys if pinned[key] is None]
    if pin and missing:
        # Another client may have pinned this server since we read the file: its pin wins.
        try:
            now = store.remember_all(missing, got, replace=False)
        except OSError:
            if by_address is None:  # a first use: without a saved pin nothing would ever be checked
                raise
            return Verdict(got, pinned_now=False)  # its address pin was the check; the name waits
        for key, value in now.items():
            if value != got:
                named = (name or "") if key != keys[-1] else ""
                raise PinMismatch(address, value, got, store.path, given=False, name=named)
    # Known at this address (pinned under the name only now, e.g. from before names were pinned).
    return Verdict(got, pinned_now=by_address is None)


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
    address: str,
    expected: str,
    got: str,
    file: Path,
    *,
    given: bool = False,
    window: bool = False,
    name: str = "",
) -> str:
    """The refusal of a certificate that is not the expected one, with what to do about it;
    ``window``: for the desktop client, whose user has no command line to retype (the way out
    is ``chat trust --forget`` in a terminal, then Connect). ``name``: the pin refused is that of
    the server announced on the LAN under this name (now found at ``address``)."""
    if given:
        return (
            f"WARNING: the TLS certificate of {address} is not the one you asked for with --fingerprint: "
            f"expected {expected}, the server sent {got}. Not connecting. Check the fingerprint with the server admin."
        )
    server = f'the server announced on the LAN as "{name}" (now at {address})' if name else address
    key = shlex.quote(name_key(name)) if name else address
    if window:
        again = f"`chat gui --fingerprint {got}" + ("` and pick it again" if name else f" {address}`")
        accept = (
            f"run `chat trust --forget {key}` in a terminal (or delete its line in {file}), then press "
            f"Connect again; or start the window with {again}."
        )
    else:
        accept = (
            f"forget the old pin with `chat trust --forget {key}` (or delete its line in {file}) and "
            f"connect again, or connect with --fingerprint {got}."
        )
    return (
        f"WARNING: the TLS certificate of {server} has CHANGED since you first connected: remembered "
        f"{expected}, the server now sends {got}. Not connecting. This may be someone pretending to be "
        "the server (an attacker on the network), or the admin made a new certificate. Ask the admin for "
        f"the fingerprint the server log shows at start-up. If it is the new one, {accept}"
    )
