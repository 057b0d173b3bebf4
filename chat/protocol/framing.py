"""Line framing: bytes in, complete lines out, with the IRC length limits enforced.

A :class:`LineReader` is fed whatever the socket produced (a partial line, many lines, a
megabyte of garbage) and returns complete lines. It never holds more than one maximum-length
line in memory: input that runs past the limit without a terminator is discarded up to the
next line feed and reported once as :class:`LineTooLong`, so a peer cannot grow our buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_BODY", "MAX_CLIENT_TAGS", "MAX_TAGS", "LineReader", "LineTooLong", "split_tags"]

#: RFC 1459: 512 bytes including CR LF for everything after the tags.
MAX_BODY = 512
#: IRCv3 message-tags: the tag section, ``@`` and trailing space included, may use 8191 bytes.
MAX_TAGS = 8191
#: IRCv3 message-tags: what a *client* may send, ``@`` and trailing space included (4094 bytes of
#: tag data). The rest of the 8191 is the server's, for the tags it adds (time, msgid, batch);
#: a server reading client lines with the bigger limit could relay lines nobody can receive.
MAX_CLIENT_TAGS = 4096


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line exceeded the limit; ``length`` is how many bytes of it were seen (at least)."""

    length: int


def split_tags(line: bytes) -> tuple[int, int]:
    """Byte lengths of (tag section incl. ``@`` and the space, rest of the line)."""
    if line.startswith(b"@"):
        space = line.find(b" ")
        if space < 0:
            return len(line), 0
        return space + 1, len(line) - space - 1
    return 0, len(line)


class LineReader:
    """Incremental splitter for CRLF- or LF-terminated lines.

    ``max_body`` and ``max_tags`` count bytes *without* the terminator's two bytes for the body,
    matching how servers apply the 512-byte rule.
    """

    __slots__ = ("_buf", "_discarded", "_discarding", "max_body", "max_tags")

    def __init__(self, max_body: int = MAX_BODY, max_tags: int = MAX_TAGS) -> None:
        self.max_body = max_body - 2
        self.max_tags = max_tags
        self._buf = b""
        self._discarding = False
        self._discarded = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the end of a line."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | LineTooLong]:
        """Add received bytes; return the lines they completed, without terminators."""
        out: list[bytes | LineTooLong] = []
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                self._discarded += len(data)
                return out
            out.append(LineTooLong(self._discarded + nl))
            self._discarding = False
            self._discarded = 0
            data = data[nl + 1 :]
        buf = self._buf + data if self._buf else data
        if b"\n" not in buf:
            self._hold(buf)
            return out
        *lines, rest = buf.split(b"\n")
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                continue
            tags, body = split_tags(line)
            if body > self.max_body or tags > self.max_tags:
                out.append(LineTooLong(len(line)))
            else:
                out.append(line)
        self._hold(rest)
        return out

    def _hold(self, rest: bytes) -> None:
        if len(rest) > self.max_body + self.max_tags + 2:
            self._buf = b""
            self._discarding = True
            self._discarded = len(rest)
        else:
            self._buf = rest
