"""The server's TLS context, loaded once at start-up with errors that name ``tls.cert``/``tls.key``.

``ssl`` reports a missing file, a key that belongs to another certificate and a passphrase
prompt in very different ways (one of them blocks on the terminal). Each is turned into one
sentence the admin can act on, so the server stops at start-up instead of failing every
handshake later.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from chat.config import Tls
from chat.fingerprint import fingerprint

__all__ = ["TlsSetup", "TlsSetupError", "handshake_failure", "load"]

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_MAKE_ONE = "make a pair with: chat cert"
#: OpenSSL's reasons when the first bytes on the TLS port were not a TLS ClientHello.
_NOT_TLS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "UNEXPECTED_MESSAGE",
        "RECORD_LENGTH_MISMATCH",
        "UNEXPECTED_RECORD",
    }
)


class TlsSetupError(Exception):
    """The certificate or key cannot be used; the message names the setting and the file."""


@dataclass(frozen=True, slots=True)
class TlsSetup:
    context: ssl.SSLContext
    fingerprint: str  # of the server's own (first) certificate, for the admin to tell users


def load(tls: Tls) -> TlsSetup:
    """An SSL server context for ``tls.cert`` and ``tls.key`` (TLS 1.2 at least)."""
    if tls.cert is None or tls.key is None:
        raise TlsSetupError(f"TLS needs both tls.cert and tls.key ({_MAKE_ONE})")
    cert_text = _read("tls.cert", tls.cert)
    _read("tls.key", tls.key)
    found = _PEM_CERT.search(cert_text)
    if found is None:
        raise TlsSetupError(f"tls.cert: {tls.cert}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)")
    try:
        der = ssl.PEM_cert_to_DER_cert(found.group(0))
    except ValueError:
        raise TlsSetupError(f"tls.cert: {tls.cert}: the certificate in it is damaged") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    asked: list[bool] = []

    def no_passphrase() -> bytes:
        asked.append(True)  # would otherwise prompt on the terminal and hang a service
        return b""

    try:
        context.load_cert_chain(tls.cert, tls.key, password=no_passphrase)
    except ssl.SSLError as exc:
        if asked:
            raise TlsSetupError(
                f"tls.key: {tls.key}: the key is protected by a passphrase; the server needs it unencrypted "
                f"(openssl pkey -in {tls.key} -out key.pem), or {_MAKE_ONE}"
            ) from None
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsSetupError(
                f"tls.key: {tls.key}: this key does not belong to the certificate in tls.cert ({tls.cert})"
            ) from None
        if exc.reason in ("CA_MD_TOO_WEAK", "EE_KEY_TOO_SMALL"):
            raise TlsSetupError(f"tls.cert: {tls.cert}: the certificate is too weak ({_words(exc)})") from None
        raise TlsSetupError(f"tls.key: {tls.key}: not a usable PEM private key ({_words(exc)})") from None
    return TlsSetup(context, fingerprint(der))


def _read(setting: str, path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise TlsSetupError(f"{setting}: {path}: no such file ({_MAKE_ONE})") from None
    except IsADirectoryError:
        raise TlsSetupError(f"{setting}: {path}: is a directory, not a PEM file") from None
    except PermissionError:
        raise TlsSetupError(f"{setting}: {path}: permission denied (the server's user needs to read it)") from None
    except OSError as exc:
        raise TlsSetupError(f"{setting}: {path}: cannot read: {exc.strerror or exc}") from None


def _words(exc: ssl.SSLError) -> str:
    """``NO_START_LINE`` -> ``no start line``: OpenSSL's reason without the shouting."""
    return (exc.reason or exc.strerror or str(exc)).replace("_", " ").lower()


def handshake_failure(exc: OSError) -> str:
    """Why a client's TLS handshake failed, for one log line (no traceback: it is the peer's fault)."""
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        if reason in _NOT_TLS:
            return f"not a TLS client ({_words(exc)}; plain IRC on the TLS port?)"
        if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
            return "closed before the handshake finished"
        return _words(exc)
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "closed before the handshake finished"
    return exc.strerror or str(exc)
