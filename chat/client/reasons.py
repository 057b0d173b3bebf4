"""Why a connection failed or ended, in words a user can act on.

Socket errors arrive as errno values and exception classes; the user needs "is the server
running?" rather than ``[Errno 111]``. Every reason names the address, because with several
servers on a LAN "connection refused" alone does not say which one.
"""

from __future__ import annotations

import errno
import socket

from chat.client.address import PLAIN_PORT, TLS_PORT

__all__ = [
    "connect_failure",
    "dead_link",
    "link_failure",
    "looks_like_tls",
    "not_let_in",
    "plain_to_tls_port",
    "server_closed",
]


def connect_failure(
    host: str, address: str, exc: OSError, timeout: float, *, port: int | None = None, tls: bool = True
) -> str:
    """Reason for a failed connection attempt to ``address`` (``host`` is the name as typed).

    A server can be set to take TLS only (``tls.require``), and then nothing listens on the
    plain IRC port: a refused plain ``port`` 6667 says so too, or the user only hears "is the
    server running?" about a server that is running."""
    if isinstance(exc, socket.gaierror):
        return f'cannot resolve "{host}": {_lower(exc.strerror or str(exc))} — check the server name'
    if isinstance(exc, ConnectionRefusedError):
        if port == PLAIN_PORT and not tls:
            return (
                f"cannot reach {address}: connection refused — is the server running, or does it only "
                f"take TLS (--tls, port {TLS_PORT})?"
            )
        return f"cannot reach {address}: connection refused — is the server running?"
    if isinstance(exc, TimeoutError):
        return f"cannot reach {address}: no answer within {timeout:g} s — is the address right?"
    if exc.errno == errno.EHOSTUNREACH:
        return f"cannot reach {address}: no route to host — check the address and the network"
    if exc.errno == errno.ENETUNREACH:
        return f"cannot reach {address}: network is unreachable — are you connected to the LAN?"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot reach {address}: that address is not available from this machine"
    return f"cannot reach {address}: {_lower(exc.strerror or str(exc))}"


def link_failure(address: str, exc: OSError) -> str:
    """Reason for an established connection that broke."""
    if isinstance(exc, ConnectionResetError):
        return f"the connection to {address} was reset"
    if isinstance(exc, BrokenPipeError):
        return f"the connection to {address} was cut off"
    if isinstance(exc, TimeoutError):
        return f"the connection to {address} timed out"
    return f"the connection to {address} failed: {_lower(exc.strerror or str(exc))}"


def looks_like_tls(data: bytes) -> bool:
    """Whether ``data``, the first bytes a server sent, start a TLS record (an alert or a
    handshake, version 3.x) rather than IRC text: a TLS port answering a plain connection."""
    return len(data) >= 2 and data[0] in (0x15, 0x16) and data[1] == 0x03


def plain_to_tls_port(reason: str, port: int, *, tls_reply: bool = False) -> str:
    """``reason`` for a plain connection that ended before the server said a single IRC line,
    with the likely cause: a TLS port, which drops (or resets) a client that does not start TLS.
    Without the hint the user only reads "the connection was reset" and blames the server."""
    if tls_reply:
        return f"{reason} — the server answered in TLS: connect with --tls"
    if port == TLS_PORT:
        return f"{reason} — port {TLS_PORT} is usually the TLS port: connect with --tls"
    return f"{reason} — is that a TLS port? connect with --tls"


def server_closed(address: str, error_text: str | None) -> str:
    """Reason when the server hung up, with its ``ERROR`` text when it sent one."""
    if error_text:
        return f"the server at {address} closed the connection: {error_text}"
    return f"the server at {address} closed the connection"


def dead_link(address: str, silent: float) -> str:
    return f"no reply from {address} for {silent:.0f} s — the connection seems dead"


def not_let_in(address: str, waited: float) -> str:
    return f"the server at {address} answered but did not finish letting us in within {waited:.0f} s"


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
