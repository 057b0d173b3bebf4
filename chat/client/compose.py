"""Cutting what the user typed into PRIVMSG texts that fit in one IRC line each.

IRC lines are limited to 512 bytes *as the server relays them*, with our full
``nick!user@host`` prefix in front, so a long paste must be split before it is sent, on a word
boundary where possible and never inside a UTF-8 character. A pasted block with several lines
becomes several messages, since a line break cannot travel inside one.
"""

from __future__ import annotations

__all__ = ["ACTION_PREFIX", "as_action", "line_budget", "split_text"]

ACTION_PREFIX = "\x01ACTION "
#: Room left for the ``!user@host`` part of our prefix, which only the server knows.
_USERHOST_RESERVE = 1 + 11 + 1 + 64


def line_budget(command: str, target: str, nick: str) -> int:
    """Bytes of text that fit in one ``command target :text`` line once the server relays it."""
    overhead = len(f":{nick} {command} {target} :".encode()) + _USERHOST_RESERVE + 2
    return max(64, 512 - overhead)


def as_action(text: str) -> str:
    """The CTCP ACTION wrapping that ``/me`` uses on the wire."""
    return f"{ACTION_PREFIX}{text}\x01"


def split_text(text: str, budget: int) -> list[str]:
    """Split into non-empty pieces of at most ``budget`` UTF-8 bytes, one or more per line."""
    pieces: list[str] = []
    # Only a line feed (and CRLF) ends a line: str.splitlines() would also cut at \x1d and \x1e,
    # the italic and strikethrough codes.
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        while len(line.encode()) > budget:
            cut = _cut_point(line, budget)
            head, line = line[:cut].rstrip(" "), line[cut:].lstrip(" ")
            if head:
                pieces.append(head)
        if line.strip():
            pieces.append(line)
    return pieces


def _cut_point(line: str, budget: int) -> int:
    """Index of the longest prefix within ``budget`` bytes, pulled back to a space if one is near."""
    size = 0
    end = 0
    for index, ch in enumerate(line):
        size += len(ch.encode())
        if size > budget:
            end = index
            break
    else:
        return len(line)
    space = line.rfind(" ", 0, end + 1)
    if space > end // 2:
        return space
    return max(end, 1)
