"""Which addresses people on the LAN can use to reach this machine, for the start-up log line.

Read from the interfaces themselves (no packet is sent, no name server asked), so it works on
an air-gapped network and inside a container.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from pathlib import Path

SIOCGIFADDR = 0x8915
VIRTUAL_INTERFACES = ("docker", "br-", "veth", "virbr", "lo")


def _linux_interface_addresses() -> list[str]:
    import fcntl

    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            if name.startswith(VIRTUAL_INTERFACES):
                continue  # container bridges are not reachable from the LAN
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # interface without an IPv4 address
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine other than loopback, most useful first (private ranges)."""
    candidates: list[str] = []
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            candidates = _linux_interface_addresses()
    if not candidates:
        with contextlib.suppress(OSError):
            candidates = [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    unique: list[ipaddress.IPv4Address] = []
    for text in candidates:
        addr = ipaddress.IPv4Address(text)
        if not addr.is_loopback and not addr.is_link_local and addr not in unique:
            unique.append(addr)
    unique.sort(key=lambda a: (not a.is_private, a))
    return [str(a) for a in unique]


def in_container() -> bool:
    """Docker and Podman leave these marks; inside, our own addresses are the bridge's, not the LAN's."""
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


def connect_hints(host: str, port: int) -> list[str]:
    """What to type on another machine to reach a server bound to ``host``."""
    if host in ("0.0.0.0", "::", ""):
        addresses = lan_addresses() or ["127.0.0.1"]
    else:
        addresses = [host]
    return [f"{a}:{port}" if ":" not in a else f"[{a}]:{port}" for a in addresses]


def address_group(host: str) -> str:
    """What counts as one machine for ``limits.max_clients_per_ip``: the IPv4 address, or the
    IPv6 /64 (one host may hold many addresses in its /64: privacy addresses, SLAAC)."""
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))
