"""IRC messages with IRCv3 tags: one parser and one formatter, shared by the server and the clients.

The grammar follows RFC 1459/2812 as clarified by Modern IRC and the IRCv3 message-tags
specification. Parsing is lenient where real clients are sloppy (repeated spaces, lowercase
commands); formatting is strict, so that whatever we emit parses back to the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "FORMATTING_CODES",
    "Message",
    "ParseError",
    "clean_text",
    "clip_utf8",
    "escape_tag_value",
    "format_tags",
    "middle_param",
    "parse",
    "parse_tags",
    "unescape_tag_value",
    "valid_tag_key",
]


class ParseError(ValueError):
    """The line is not an IRC message (for example it is empty or has no command)."""


_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def escape_tag_value(value: str) -> str:
    """Escape a tag value so it can stand in a tag section (IRCv3 message-tags)."""
    if not any(ch in value for ch in _ESCAPES):
        return value
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


def unescape_tag_value(raw: str) -> str:
    """Undo :func:`escape_tag_value`; an unknown escape yields the character, a lone trailing
    backslash is dropped, exactly as the specification requires."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\\":
            if i + 1 < n:
                nxt = raw[i + 1]
                out.append(_UNESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_tags(section: str) -> dict[str, str]:
    """Parse the tag section without its leading ``@``. A tag without a value maps to ``""``;
    when a key repeats, the last one wins."""
    tags: dict[str, str] = {}
    for item in section.split(";"):
        if not item:
            continue
        key, sep, raw = item.partition("=")
        if not key:
            continue
        tags[key] = unescape_tag_value(raw) if sep else ""
    return tags


#: IRCv3 message-tags: ``[+][vendor/]name``, the vendor a host name, the name letters, digits, '-'.
_TAG_KEY = re.compile(r"\+?(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9-]+\Z")


def valid_tag_key(key: str) -> bool:
    """Whether ``key`` is a tag name by the grammar; anything else a server drops rather than relays."""
    return _TAG_KEY.match(key) is not None


def format_tags(tags: dict[str, str]) -> str:
    """Format tags (without the leading ``@``); empty values are written as bare keys."""
    return ";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in tags.items())


#: Control characters kept in free text: IRC formatting (bold, colour, hex colour, reset,
#: monospace, reverse, italic, strikethrough, underline). The rest of C0, DEL and C1 can only
#: confuse a terminal or hide text, so topics, away messages, real names and reasons lose them.
FORMATTING_CODES = "\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f"
_CONTROLS = re.compile(
    "[" + "".join(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in FORMATTING_CODES) + "]"
)


def clean_text(text: str) -> str:
    """``text`` without the control characters that are not IRC formatting."""
    return _CONTROLS.sub("", text)


def middle_param(text: str) -> str:
    """``text`` made fit to stand as a middle parameter (no space, no leading colon, not empty),
    for replies that echo what a client typed, such as a ``FAIL``'s context."""
    if text and " " not in text and not text.startswith(":"):
        return text
    return text.replace(" ", "_").lstrip(":") or "*"


def clip_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that fits in ``max_bytes`` of UTF-8, never half a character."""
    if len(text) * 4 <= max_bytes:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[: max(max_bytes, 0)].decode("utf-8", "ignore")


@dataclass(slots=True)
class Message:
    """One IRC message. ``params`` holds every parameter, the trailing one included."""

    command: str
    params: list[str] = field(default_factory=list)
    prefix: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def nick(self) -> str | None:
        """The nick part of a ``nick!user@host`` prefix (or the server name)."""
        if self.prefix is None:
            return None
        return self.prefix.split("!", 1)[0].split("@", 1)[0]

    def param(self, index: int, default: str = "") -> str:
        return self.params[index] if index < len(self.params) else default

    def to_line(self) -> str:
        """Format without the line terminator. Raises ``ValueError`` for a message that could not
        be parsed back the same (a middle parameter with a space, an empty command, a newline)."""
        parts: list[str] = []
        if self.tags:
            parts.append("@" + format_tags(self.tags))
        if self.prefix:
            parts.append(":" + self.prefix)
        if not self.command or " " in self.command:
            raise ValueError(f"bad command {self.command!r}")
        parts.append(self.command)
        if self.params:
            *middle, last = self.params
            for p in middle:
                if not p or " " in p or p.startswith(":"):
                    raise ValueError(f"bad middle parameter {p!r}")
                parts.append(p)
            if not last or " " in last or last.startswith(":"):
                parts.append(":" + last)
            else:
                parts.append(last)
        line = " ".join(parts)
        if "\r" in line or "\n" in line or "\0" in line:
            raise ValueError("a message cannot contain CR, LF or NUL")
        return line

    def encode(self, limit: int | None = None) -> bytes:
        """The message as it goes on the wire: UTF-8 with CRLF.

        With ``limit`` (the 512 of RFC 1459, CRLF included, tags not counted) a line that would
        be longer is shortened the way servers do it: the last parameter loses its end, and if
        the middle ones alone are too long the line is cut. Receivers refuse longer lines, and
        the parts a server puts in (prefix, numerics) can push an echo of a client's own
        maximum-length line over the limit.
        """
        line = self.to_line()
        data = (line + "\r\n").encode("utf-8")
        if limit is None:
            return data
        tags = len(format_tags(self.tags).encode("utf-8")) + 2 if self.tags else 0
        excess = len(data) - tags - limit
        if excess <= 0:
            return data
        if self.params:
            last = self.params[-1].encode("utf-8")
            if len(last) >= excess:
                shorter = Message(self.command, [*self.params[:-1], clip_utf8(self.params[-1], len(last) - excess)],
                                  self.prefix, self.tags)  # fmt: skip
                data = (shorter.to_line() + "\r\n").encode("utf-8")
                if len(data) - tags <= limit:
                    return data
        cut = data[: tags + limit - 2].decode("utf-8", "ignore").encode("utf-8")
        return cut + b"\r\n"

    def __str__(self) -> str:
        return self.to_line()


def parse(line: str) -> Message:
    """Parse one line (terminator already removed). The command is upper-cased."""
    rest = line.lstrip(" ")
    tags: dict[str, str] = {}
    prefix: str | None = None
    if rest.startswith("@"):
        section, _, rest = rest[1:].partition(" ")
        tags = parse_tags(section)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    trailing: str | None = None
    if " :" in rest:
        rest, _, trailing = rest.partition(" :")
    elif rest.startswith(":"):
        # Only possible with no command, which is an error below.
        rest, trailing = "", rest[1:]
    words = [w for w in rest.split(" ") if w]  # only spaces separate, not tabs etc.
    if not words:
        raise ParseError("no command")
    command = words[0].upper()
    params = words[1:]
    if trailing is not None:
        params.append(trailing)
    return Message(command, params, prefix or None, tags)
