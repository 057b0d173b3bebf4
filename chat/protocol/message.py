"""IRC messages with IRCv3 tags: one parser and one formatter, shared by the server and the clients.

The grammar follows RFC 1459/2812 as clarified by Modern IRC and the IRCv3 message-tags
specification. Parsing is lenient where real clients are sloppy (repeated spaces, lowercase
commands); formatting is strict, so that whatever we emit parses back to the same message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Message",
    "ParseError",
    "escape_tag_value",
    "format_tags",
    "parse",
    "parse_tags",
    "unescape_tag_value",
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


def format_tags(tags: dict[str, str]) -> str:
    """Format tags (without the leading ``@``); empty values are written as bare keys."""
    return ";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in tags.items())


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

    def encode(self) -> bytes:
        """The message as it goes on the wire: UTF-8 with CRLF."""
        return (self.to_line() + "\r\n").encode("utf-8")

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
