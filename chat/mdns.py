"""What a chat server's mDNS/DNS-SD announcement says: the one format both sides agree on.

The server (chat/server/advertise.py) writes it and the clients (chat/client/discovery.py) read
it, so the service types and TXT keys live here and nowhere else. The types are the registered
DNS-SD names for IRC (``_irc._tcp``) and IRC over TLS (``_ircs._tcp``), so other IRC tools that
browse for them see the server too. TXT keys are short and lower case (RFC 6763 §6.4), and
``txtvers`` lets a later version change them without confusing older clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PLAIN_TYPE", "TLS_TYPE", "TXT_VERSION", "Txt", "instance_of", "parse_txt"]

PLAIN_TYPE = "_irc._tcp.local."
TLS_TYPE = "_ircs._tcp.local."
TXT_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Txt:
    """The TXT record's facts about a server (everything but its addresses and ports)."""

    server_name: str = ""  # the IRC server name (server.name), not the announced instance name
    network: str = ""
    version: str = ""  # e.g. chat-0.1.0
    password: bool = False  # a server password (IRC PASS) is required
    tls_port: int | None = None  # on the plain record: the server also speaks TLS on this port
    users: int | None = None  # users online when last announced; absent when unknown or private

    def encode(self) -> dict[str, str]:
        """Key/value pairs for zeroconf's ServiceInfo ``properties``; absent facts are left out."""
        txt = {
            "txtvers": TXT_VERSION,
            "name": self.server_name,
            "network": self.network,
            "version": self.version,
            "password": "yes" if self.password else "no",
        }
        if self.tls_port is not None:
            txt["tls"] = str(self.tls_port)
        if self.users is not None:
            txt["users"] = str(self.users)
        return txt


def parse_txt(properties: Mapping[bytes, bytes | None]) -> Txt:
    """What a TXT record says, leniently: a missing or garbled key reads as unknown, because
    one odd announcement on the LAN must not stop a client from listing the others."""
    text = {
        key.decode("utf-8", "replace").lower(): (value or b"").decode("utf-8", "replace")
        for key, value in properties.items()
    }
    return Txt(
        server_name=printable(text.get("name", "")),
        network=printable(text.get("network", "")),
        version=printable(text.get("version", "")),
        password=text.get("password", "").lower() in ("yes", "true", "1"),
        tls_port=_number(text.get("tls"), 1, 65_535),
        users=_number(text.get("users"), 0, None),
    )


def printable(text: str, limit: int = 100) -> str:
    """Announced text as it may be shown: whatever a machine on the LAN puts in its record is
    printed on terminals, where an escape sequence could retitle the window or worse."""
    return "".join(c for c in text if c.isprintable())[:limit]


def _number(text: str | None, low: int, high: int | None) -> int | None:
    """A TXT number, or None for anything else: any machine on the LAN may announce, so ``²``
    (a digit to ``isdigit``) or five thousand digits must not stop a listing."""
    if text is None or not (text.isascii() and text.isdigit() and len(text) <= 9):
        return None
    value = int(text)
    return value if value >= low and (high is None or value <= high) else None


def instance_of(service_name: str, service_type: str) -> str:
    """``Office chat`` from ``Office chat._irc._tcp.local.``: the name a person reads."""
    suffix = "." + service_type
    return service_name[: -len(suffix)] if service_name.endswith(suffix) else service_name
