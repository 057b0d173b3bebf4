"""Nick and channel grammar and case mapping: what counts as the same name, and what is a name.

The server advertises ``CASEMAPPING=ascii``: only A–Z fold to a–z. It is what Modern IRC
recommends for new servers, and every client implements it identically.
"""

from __future__ import annotations

import re

__all__ = ["CHANTYPES", "casefold", "fold", "is_channel", "valid_channel", "valid_nick"]

CHANTYPES = "#&"
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: Other servers' CASEMAPPING values (RPL_ISUPPORT): RFC 1459 also folds []\~ to {}|^, the
#: "strict" variant leaves ~ and ^ apart. A client that has not heard the server yet assumes
#: rfc1459, as the spec says.
_FOLDS = {
    "ascii": _ASCII_FOLD,
    "rfc1459": str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^"),
    "strict-rfc1459": str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\", "abcdefghijklmnopqrstuvwxyz{}|"),
}
_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*\Z")
#: Besides the RFC's space, comma, colon and BEL: every control character (C0, DEL, C1), the
#: Unicode spaces and line separators, and the bidi and zero-width marks that make one room's
#: name look like another's.
_CHANNEL_FORBIDDEN = re.compile("[\x00-\x20,:\x7f-\xa0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]")


def casefold(name: str) -> str:
    """The key under which a nick or channel is unique (``ascii`` case mapping)."""
    return name.translate(_ASCII_FOLD)


def fold(name: str, casemapping: str = "rfc1459") -> str:
    """``name`` folded the way a server with this ``CASEMAPPING`` compares names; an unknown
    mapping (``rfc7613`` ...) falls back to rfc1459, then folds the rest of Unicode too."""
    table = _FOLDS.get(casemapping.lower())
    if table is None:
        return name.translate(_FOLDS["rfc1459"]).lower()
    return name.translate(table)


def is_channel(target: str) -> bool:
    return bool(target) and target[0] in CHANTYPES


def valid_nick(nick: str, max_len: int) -> bool:
    """RFC 2812 nick grammar: a letter or special first, then letters, digits, specials, '-'."""
    return 0 < len(nick) <= max_len and _NICK.match(nick) is not None


def valid_channel(name: str, max_len: int) -> bool:
    """A channel prefix, then anything but spaces, commas, colons and control characters.
    Non-ASCII letters are allowed so a room can be called ``#گفتگو``; ``max_len`` counts UTF-8
    bytes, as CHANNELLEN does, so a name of four-byte characters cannot crowd a line."""
    return (
        1 < len(name) <= max_len
        and len(name.encode("utf-8", "surrogatepass")) <= max_len
        and is_channel(name)
        and _CHANNEL_FORBIDDEN.search(name[1:]) is None
    )
