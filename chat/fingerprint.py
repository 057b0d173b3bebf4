"""Certificate fingerprints as people compare them: ``SHA256:AB:CD:...`` over the DER bytes.

The server logs this form at start-up and the client shows and stores it, so an admin can
read one aloud and a user can compare it with what their client says. It is the SHA-256 that
``openssl x509 -noout -fingerprint -sha256 -in cert.pem`` prints, only with a shorter label.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["PREFIX", "fingerprint", "normalize"]

PREFIX = "SHA256:"
_HEX = re.compile(r"[0-9A-F]{64}")


def fingerprint(der: bytes) -> str:
    """``SHA256:`` and the digest of ``der`` as upper-case hex pairs joined by colons."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return PREFIX + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalize(text: str) -> str:
    """A typed or pasted fingerprint in the canonical form; ``ValueError`` in words for junk.

    Accepts it with or without ``SHA256:``/``sha256 Fingerprint=``, in any case, with colons,
    spaces or nothing between the pairs, as people copy it from logs and from openssl.
    """
    raw = text.strip()
    for label in ("sha256 fingerprint=", "sha256:", "sha256="):
        if raw.lower().startswith(label):
            raw = raw[len(label) :]
            break
    digits = re.sub(r"[\s:]", "", raw).upper()
    if not _HEX.fullmatch(digits):
        raise ValueError(
            f'"{text.strip()}" is not a SHA-256 fingerprint: expected 64 hex digits, '
            "e.g. SHA256:AB:CD:… as the server log shows"
        )
    return PREFIX + ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))
