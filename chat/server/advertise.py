"""Announcing the server on the LAN with mDNS/DNS-SD, so clients find it without an address.

Nobody on a LAN knows the server's IP address, and DHCP changes it. The server therefore
announces ``<name>._irc._tcp.local.`` (and ``._ircs._tcp`` with TLS) with python-zeroconf, which
answers queries from its own thread. The chat loop stays single-threaded and never waits for
it: it hands the :class:`Advertiser` a user count now and then (a queue put), and everything
that can block (binding port 5353, probing for a name clash, the goodbye packets) happens on the
advertiser's thread. Announcing is a convenience, so any failure is one WARNING and the server
goes on; clients can still be given the address.

Records are built by plain functions (:func:`build_records`) so tests can check what is
announced without any network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from zeroconf import IPVersion, ServiceInfo, Zeroconf

from chat import mdns
from chat.config import Settings
from chat.protocol import clip_utf8
from chat.server.addresses import lan_addresses

__all__ = ["Advertiser", "Record", "advertised_addresses", "announced_name", "build_records", "start"]

log = logging.getLogger(__name__)

#: The built-in server.name: every unconfigured server has it, so it names no machine.
DEFAULT_SERVER_NAME = Settings().server_name
#: How often the user count in the TXT record may change: each change is a multicast packet
#: to every machine on the LAN, and "users" is a hint, not a live figure.
USERS_EVERY = 30.0
#: How long a graceful shutdown waits for the goodbye packets that withdraw the records.
WITHDRAW_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class Record:
    """One DNS-SD service: SRV (host, port) + TXT + the host's A/AAAA records."""

    service_type: str  # mdns.PLAIN_TYPE or mdns.TLS_TYPE
    instance: str  # "Office chat"
    port: int
    addresses: tuple[str, ...]
    host: str  # the SRV target, e.g. "office-pc.local."
    txt: mdns.Txt

    @property
    def service_name(self) -> str:
        return f"{self.instance}.{self.service_type}"


def short_hostname(hostname: str | None = None) -> str:
    """This machine's name as one mDNS label: ``office-pc`` from ``office-pc.example.com``."""
    first = (hostname if hostname is not None else socket.gethostname()).split(".", 1)[0]
    label = re.sub(r"[^A-Za-z0-9-]+", "-", first).strip("-")[:63]
    return label or "chat-server"


def announced_name(settings: Settings, hostname: str | None = None) -> str:
    """``discovery.name``, else ``server.name``; while that is still the built-in ``chat.lan``
    it names no machine, so the host name tells two unconfigured servers apart."""
    if settings.discovery.name:
        return _label(settings.discovery.name)
    if settings.server_name != DEFAULT_SERVER_NAME:
        return _label(settings.server_name)
    return short_hostname(hostname)


def _label(name: str) -> str:
    """A DNS-SD instance name is one label of at most 63 UTF-8 bytes without control
    characters; a longer name would not be announced at all, so it is cut on a character."""
    text = "".join(c for c in name if c.isprintable())
    return clip_utf8(text, 63).strip() or "chat-server"


def advertised_addresses(listen_host: str, lan: Sequence[str]) -> tuple[str, ...]:
    """Where clients can reach a server listening on ``listen_host``: for a wildcard, this
    machine's LAN addresses (loopback alone when it has none: then only this machine can
    connect); otherwise exactly the address it listens on, since no other one would work."""
    if listen_host in ("0.0.0.0", "::", ""):
        return tuple(lan) or ("127.0.0.1",)
    try:
        return (str(ipaddress.ip_address(listen_host.split("%", 1)[0])),)
    except ValueError:  # a host name: whatever it resolves to here
        with contextlib.suppress(OSError):
            infos = socket.getaddrinfo(listen_host, None, type=socket.SOCK_STREAM)
            return tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        return ()


def build_records(
    settings: Settings,
    *,
    plain_port: int | None,
    tls_port: int | None,
    addresses: Sequence[str],
    hostname: str | None = None,
    version: str = "",
    users: int | None = None,
) -> list[Record]:
    """The services to announce for the ports actually bound (a TLS-only server has no plain
    record). The plain record also names the TLS port, so a client that found it can choose.
    The user count is left out when a password is required: who is online is for members."""
    password = bool(settings.auth.password)
    txt = mdns.Txt(
        server_name=settings.server_name,
        network=settings.network,
        version=version,
        password=password,
        users=None if password else users,
    )
    instance = announced_name(settings, hostname)
    host = short_hostname(hostname) + ".local."
    found = tuple(addresses)
    records: list[Record] = []
    if plain_port is not None:
        records.append(Record(mdns.PLAIN_TYPE, instance, plain_port, found, host, replace(txt, tls_port=tls_port)))
    if tls_port is not None:
        records.append(Record(mdns.TLS_TYPE, instance, tls_port, found, host, txt))
    return records


class Advertiser:
    """Keeps the records announced from a thread of its own until :meth:`close`."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = list(records)
        self.publishes_users = bool(records) and not records[0].txt.password
        self._inbox: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="chat-mdns", daemon=True)
        self._users_at = 0.0  # time.monotonic() of the last user count handed over
        self._users: int | None = records[0].txt.users if records else None

    def start(self) -> Advertiser:
        self._thread.start()
        return self

    # ---------------------------------------------------------- called by the chat loop

    def users_due(self, now: float) -> bool:
        """Whether the loop should count its users now; cheap, so the loop can ask every tick."""
        return self.publishes_users and now - self._users_at >= USERS_EVERY and self._thread.is_alive()

    def set_users(self, count: int, now: float | None = None) -> None:
        """Never blocks: the count goes to the advertiser's thread, which re-announces if it changed."""
        self._users_at = time.monotonic() if now is None else now
        if count != self._users:
            self._users = count
            self._inbox.put(count)

    def close(self, timeout: float = WITHDRAW_TIMEOUT) -> None:
        """Withdraw the records (goodbye packets, so clients forget the server at once) and stop."""
        if not self._thread.is_alive():
            return
        self._inbox.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the LAN announcement (mDNS) was not withdrawn within %.0f s; it expires by itself", timeout)

    # ------------------------------------------------------------- advertiser's thread

    def _run(self) -> None:
        try:
            self._announce_until_closed()
        except Exception as exc:  # never fatal for the server: one line, and clients need the address
            log.warning("cannot announce the server on the LAN (mDNS): %s; clients need its address", _why(exc))

    def _announce_until_closed(self) -> None:
        addresses = self.records[0].addresses
        v4 = all(ipaddress.ip_address(a).version == 4 for a in addresses)
        # Announce only on the interfaces whose addresses we announce: a server on 127.0.0.1
        # stays on this machine, one on the LAN is not announced into Docker's bridges.
        zc = Zeroconf(interfaces=list(addresses), ip_version=IPVersion.V4Only) if v4 else Zeroconf()
        try:
            infos: list[ServiceInfo] = []
            for record in self.records:
                info = _info(record, self._users)
                zc.register_service(info, allow_name_change=True)  # "Office chat (2)" on a clash
                infos.append(info)
            where = ", ".join(f"{info.type.removesuffix('.local.')} port {info.port}" for info in infos)
            log.info(
                'announced on the LAN as "%s" (%s) at %s',
                mdns.instance_of(infos[0].name, infos[0].type), where, ", ".join(addresses),
            )  # fmt: skip
            while (count := self._inbox.get()) is not None:
                infos = [_info(_renamed(r, i.name), count) for r, i in zip(self.records, infos, strict=True)]
                for info in infos:
                    zc.update_service(info)
                log.debug("LAN announcement: %d users", count)
            zc.unregister_all_services()
            log.info("LAN announcement withdrawn")
        finally:
            zc.close()


def _renamed(record: Record, service_name: str) -> Record:
    """The record under the name zeroconf settled on after a clash."""
    return replace(record, instance=mdns.instance_of(service_name, record.service_type))


def _info(record: Record, users: int | None) -> ServiceInfo:
    txt = replace(record.txt, users=None if record.txt.password else users)
    return ServiceInfo(
        record.service_type,
        record.service_name,
        port=record.port,
        parsed_addresses=list(record.addresses),
        server=record.host,
        properties=txt.encode(),
    )


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


def start(settings: Settings, *, plain_port: int | None, tls_port: int | None, version: str) -> Advertiser | None:
    """Start announcing (returns at once), or None when ``discovery.enabled`` is false."""
    if not settings.discovery.enabled:
        log.info("not announced on the LAN (discovery.enabled is false): clients need the address")
        return None
    addresses = advertised_addresses(settings.host, lan_addresses())
    if not addresses:
        log.warning("cannot announce the server on the LAN (mDNS): %s has no address here", settings.host)
        return None
    records = build_records(
        settings, plain_port=plain_port, tls_port=tls_port, addresses=addresses, version=version, users=0
    )
    return Advertiser(records).start()
