"""Finding chat servers on the LAN by their mDNS/DNS-SD announcement (chat/server/advertise.py).

:func:`browse` listens for a few seconds and returns every server that answered; a server that
offers both plain and TLS ports is announced twice (``_irc._tcp`` and ``_ircs._tcp``) under one
name and comes back as one :class:`Found`. :func:`resolver` is what the reconnecting
:class:`~chat.client.connection.Connection` calls before each new attempt: it asks for the
server by name again, so a server that came back on another address (DHCP, a moved container)
is found there. Both user interfaces use these functions; neither talks to zeroconf itself.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import zeroconf
from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from chat import mdns
from chat.client.address import format_address

__all__ = ["BROWSE_SECONDS", "Found", "Resolver", "Service", "browse", "merge", "resolve", "resolver"]

log = logging.getLogger(__name__)

#: How long ``chat connect`` / ``chat gui`` listen before deciding; answers usually take well
#: under a second, a server that has just started needs about two to claim its name.
BROWSE_SECONDS = 2.5
#: How long one look-up of a known name may take before a reconnect attempt goes on without it.
RESOLVE_SECONDS = 3.0

#: Looks the server up again; (host, port) where it is now, or None when it did not answer.
Resolver = Callable[[], tuple[str, int] | None]


@dataclass(frozen=True, slots=True)
class Service:
    """One resolved DNS-SD service, as zeroconf reported it (kept apart for tests)."""

    service_type: str
    name: str  # the full service name, "Office chat._irc._tcp.local."
    addresses: tuple[str, ...]
    port: int
    properties: dict[bytes, bytes | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Found:
    """A chat server on the LAN: its announced name, where to reach it, and what it said."""

    name: str  # the instance name, "Office chat"
    addresses: tuple[str, ...]
    port: int | None = None  # plain-text port; None when the server speaks TLS only
    tls_port: int | None = None
    txt: mdns.Txt = field(default_factory=mdns.Txt)

    @property
    def host(self) -> str:
        return self.addresses[0]

    def endpoint(self, tls: bool) -> tuple[str, int, bool]:
        """(host, port, tls) to connect to: plain text unless TLS was asked for or is all the
        server offers — the same default as for a typed address. Raises ValueError when TLS
        was asked for and the server has none."""
        if tls or self.port is None:
            if self.tls_port is None:
                raise ValueError(f'"{self.name}" does not offer TLS; connect without --tls')
            return self.host, self.tls_port, True
        return self.host, self.port, False

    def where(self) -> str:
        """``192.168.1.20:6667``, or the TLS port when that is the only one."""
        host, port, _tls = self.endpoint(False)
        return format_address(host, port)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.where(),
            "addresses": list(self.addresses),
            "port": self.port,
            "tls_port": self.tls_port,
            "tls": self.tls_port is not None,
            "password": self.txt.password,
            "users": self.txt.users,
            "server": self.txt.server_name,
            "network": self.txt.network,
            "version": self.txt.version,
        }


def _ordered(addresses: Iterable[str]) -> tuple[str, ...]:
    """IPv4 first (what our servers announce for the LAN), then IPv6; no duplicates."""
    unique = list(dict.fromkeys(addresses))
    return tuple(sorted(unique, key=lambda a: ipaddress.ip_address(a.split("%", 1)[0]).version))


def merge(services: Iterable[Service]) -> list[Found]:
    """One :class:`Found` per announced name, sorted by name: the ``_irc`` and ``_ircs``
    records of one server become its plain and TLS ports. Services without an address are
    left out, since nobody could connect to them."""
    by_name: dict[str, Found] = {}
    for service in services:
        if not service.addresses:
            continue
        name = mdns.printable(mdns.instance_of(service.name, service.service_type))
        txt = mdns.parse_txt(service.properties)
        seen = by_name.get(name, Found(name, ()))
        addresses = _ordered((*seen.addresses, *service.addresses))
        if service.service_type == mdns.TLS_TYPE:
            by_name[name] = Found(name, addresses, seen.port, service.port, seen.txt if seen.addresses else txt)
        else:
            tls_port = seen.tls_port if seen.tls_port is not None else txt.tls_port
            by_name[name] = Found(name, addresses, service.port, tls_port, txt)
    return sorted(by_name.values(), key=lambda f: (f.name.casefold(), f.name))


def _service(info: ServiceInfo) -> Service | None:
    if info.port is None:
        return None
    return Service(info.type, info.name, tuple(info.parsed_scoped_addresses()), info.port, dict(info.properties))


def _lookup(zc: Zeroconf, service_type: str, name: str, timeout: float) -> Service | None:
    """One service's record, or None when it does not answer or is malformed: what one machine
    on the LAN announces (a name with control characters, say) must not hide all the others."""
    try:
        info = ServiceInfo(service_type, name)
        if not info.load_from_cache(zc) and not info.request(zc, timeout * 1000):
            return None
        return _service(info)
    except (zeroconf.Error, ValueError, UnicodeError) as err:  # e.g. BadTypeInNameException
        log.debug("ignored a malformed announcement %r: %s", name, err)
        return None


def browse(timeout: float = BROWSE_SECONDS) -> list[Found]:
    """Every chat server that answers within ``timeout`` seconds. Raises OSError when this
    machine cannot do mDNS at all (no network, port 5353 unusable)."""
    names: dict[tuple[str, str], None] = {}
    lock = threading.Lock()

    def changed(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        with lock:
            if state_change is ServiceStateChange.Removed:
                names.pop((service_type, name), None)
            else:
                names[(service_type, name)] = None

    zc = Zeroconf()
    try:
        browser = ServiceBrowser(zc, [mdns.PLAIN_TYPE, mdns.TLS_TYPE], handlers=[changed])
        time.sleep(timeout)
        browser.cancel()
        with lock:
            wanted = list(names)
        services = [s for t, n in wanted if (s := _lookup(zc, t, n, 1.0)) is not None]
    finally:
        zc.close()
    found = merge(services)
    log.debug("found %d chat servers on the LAN: %s", len(found), ", ".join(f.name for f in found))
    return found


def resolve(name: str, tls: bool, timeout: float = RESOLVE_SECONDS) -> tuple[str, int] | None:
    """Where the server announced as ``name`` is now, on its TLS or plain port; None when it
    does not answer. A new Zeroconf has an empty cache, so an address the server no longer
    has cannot come back from it."""
    service_type = mdns.TLS_TYPE if tls else mdns.PLAIN_TYPE
    zc = Zeroconf()
    try:
        service = _lookup(zc, service_type, f"{name}.{service_type}", timeout)
    finally:
        zc.close()
    if service is None or not service.addresses:
        return None
    return _ordered(service.addresses)[0], service.port


def resolver(found: Found, tls: bool, timeout: float = RESOLVE_SECONDS) -> Resolver:
    """For :class:`Connection`'s ``resolve``: where ``found`` is now, on the kind of port
    chosen at the start (``tls`` as in :meth:`Found.endpoint`); None when it does not answer,
    and the connection then tries the address it had."""

    def again() -> tuple[str, int] | None:
        try:
            return resolve(found.name, tls, timeout)
        except OSError as exc:
            log.warning("cannot look up %s on the LAN (mDNS): %s", found.name, exc.strerror or exc)
            return None

    return again
