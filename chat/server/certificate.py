"""``chat cert``: a self-signed certificate and key for a LAN server, made with ``cryptography``.

A LAN has no public name a CA would sign, so the server gets its own certificate and clients
pin its fingerprint on first contact (see chat/client/pins.py). The certificate still lists
every name and address a client may type (subject alternative names), so that stock IRC
clients that do check names can be told to trust it once and then work.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chat.fingerprint import fingerprint
from chat.server.addresses import lan_addresses
from chat.server.datafiles import DIR_MODE

__all__ = ["CertificateExists", "Made", "default_names", "make_pair", "write_pair"]

DEFAULT_DAYS = 3650


class CertificateExists(Exception):
    """The files are there already; overwriting would lock out every client that pinned them."""


@dataclass(frozen=True, slots=True)
class Made:
    cert: Path
    key: Path
    fingerprint: str
    names: tuple[str, ...]
    not_after: datetime.datetime


def default_names() -> list[str]:
    """What clients on the LAN may type to reach this machine: loopback, its host names and
    its LAN addresses. Read locally; nothing is asked of a name server."""
    host = socket.gethostname().strip()
    names = ["localhost", "127.0.0.1", "::1"]
    if host and host != "localhost":
        short = host.split(".")[0]
        names += [host, f"{short}.local"]
    names += lan_addresses()
    return names


def _unique(names: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for name in names:
        name = name.strip()
        if name and name.lower() not in (n.lower() for n in seen):
            seen.append(name)
    return seen


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_pair(names: Iterable[str], days: int = DEFAULT_DAYS) -> tuple[bytes, bytes, tuple[str, ...]]:
    """(certificate PEM, unencrypted key PEM, the names it covers) for an ECDSA P-256 key."""
    listed = tuple(_unique(names))
    if not listed:
        raise ValueError("a certificate needs at least one name")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, listed[0] if listed[0] != "localhost" else "chat")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clocks on a LAN are rarely in step
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in listed]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert_pem, key_pem, listed


def write_pair(directory: Path, names: Iterable[str], *, days: int = DEFAULT_DAYS, force: bool = False) -> Made:
    """Make a pair and write ``cert.pem`` and ``key.pem`` (mode 0600) into ``directory``."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    existing = [p for p in (cert_path, key_path) if p.exists()]
    if existing and not force:
        raise CertificateExists(
            f"{existing[0]} already exists; clients that connected before have pinned its fingerprint "
            "and would refuse a new one until they forget the old pin. Use --force to replace it anyway."
        )
    cert_pem, key_pem, listed = make_pair(names, days)
    # Private like the data directory it sits in (chat/server/datafiles.py); an existing one is
    # left as the admin made it. Missing parents get the usual mode: callers make data_dir first.
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert_pem, 0o644)
    cert = x509.load_pem_x509_certificate(cert_pem)
    return Made(
        cert_path,
        key_path,
        fingerprint(cert.public_bytes(serialization.Encoding.DER)),
        listed,
        cert.not_valid_after_utc,
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Created with its final mode (the key is never readable by others, not even briefly),
    then moved into place so a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        os.fchmod(fd, mode)  # the umask may have taken bits away from a 0644 certificate
        out.flush()
        os.fsync(fd)
    tmp.replace(path)
