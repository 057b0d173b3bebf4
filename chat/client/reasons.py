"""Why a connection failed or ended, in words a user can act on.

Socket errors arrive as errno values and exception classes; the user needs "is the server
running?" rather than ``[Errno 111]``. Every reason names the address, because with several
servers on a LAN "connection refused" alone does not say which one.
"""

from __future__ import annotations

import errno
import socket

__all__ = [
    "connect_failure",
    "dead_link",
    "link_failure",
    "not_let_in",
    "server_closed",
]


def connect_failure(host: str, address: str, exc: OSError, timeout: float) -> str:
    """Reason for a failed connection attempt to ``address`` (``host`` is the name as typed)."""
    if isinstance(exc, socket.gaierror):
        return f'cannot resolve "{host}": {_lower(exc.strerror or str(exc))} — check the server name'
    if isinstance(exc, ConnectionRefusedError):
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
