"""Turning what a person types as a server address into a (host, port) pair, and back.

People type ``server``, ``server:6667``, ``10.0.0.5``, ``[::1]:6667`` or a bare ``::1``; a typo
must come back as a sentence that says what is wrong, not as a socket error much later.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["format_address", "parse_address", "parse_server"]

PLAIN_PORT = 6667
TLS_PORT = 6697

_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?\Z")


def parse_address(text: str, default_port: int = 6667) -> tuple[str, int]:
    """Split ``text`` into host and port; raise ``ValueError`` with a readable message for junk."""
    raw = text.strip()
    if not raw:
        raise ValueError("no server address given: expected host or host:port, e.g. 10.0.0.5:6667")
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise ValueError(f'bad address "{raw}": missing "]" after the IPv6 address')
        host, rest = raw[1:close], raw[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f'bad address "{raw}": expected ":port" after "]"')
        port = _port(rest[1:], raw) if rest else default_port
        _check_ipv6(host, raw)
        return host, port
    if raw.count(":") > 1:
        _check_ipv6(raw, raw)
        return raw, default_port
    host, sep, port_text = raw.partition(":")
    port = _port(port_text, raw) if sep else default_port
    _check_host(host, raw)
    return host, port


def parse_server(text: str, *, tls: bool = False) -> tuple[str, int, bool]:
    """(host, port, tls) from what a user typed, also as ``ircs://host[:port]`` (TLS) or
    ``irc://host[:port]``; the default port is 6697 with TLS and 6667 without."""
    raw = text.strip()
    lower = raw.lower()
    if lower.startswith("ircs://"):
        tls, raw = True, raw[len("ircs://") :]
    elif lower.startswith("irc://"):
        if tls:
            raise ValueError(f'"{text.strip()}" asks for plain text (irc://) but TLS was asked for: use ircs://')
        raw = raw[len("irc://") :]
    elif "://" in raw:
        raise ValueError(f'bad address "{raw}": only irc:// and ircs:// addresses are understood')
    host, port = parse_address(raw.rstrip("/"), TLS_PORT if tls else PLAIN_PORT)
    return host, port, tls


def format_address(host: str, port: int) -> str:
    """The inverse of :func:`parse_address`, for messages: brackets around IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f'bad port "{text}" in "{whole}": expected a number 1–65535')
    return int(text)


def _check_ipv6(host: str, whole: str) -> None:
    address = host.split("%", 1)[0]  # fe80::1%eth0: the zone is for the OS, not for us
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise ValueError(f'bad IPv6 address "{host}" in "{whole}"') from None


def _check_host(host: str, whole: str) -> None:
    if not host:
        raise ValueError(f'no host name in "{whole}": expected host or host:port, e.g. 10.0.0.5:6667')
    if not _HOSTNAME.match(host):
        raise ValueError(f'bad host name "{host}" in "{whole}": use letters, digits, dots and dashes')
