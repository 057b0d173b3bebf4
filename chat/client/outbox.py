"""Messages the user sent that the server has not confirmed yet.

A message stays here from the moment the user presses Enter until its echo comes back
(IRCv3 ``echo-message``), so a script can wait until everything it said really arrived, and
so that a later reconnect can send again what the server never saw. Items are kept in order
and keyed by a client id (``cid``) that travels with the message as the ``+chat/cid`` tag.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from chat.protocol import casefold

__all__ = ["CID_TAG", "Outbox", "Pending"]

#: Client-only tag carrying the outbox id; the server relays ``+`` tags, so it comes back in the echo.
CID_TAG = "+chat/cid"


@dataclass(slots=True)
class Pending:
    """One outgoing chat message. ``written``: handed to the socket at least once."""

    cid: str
    command: str  # PRIVMSG or NOTICE
    target: str
    text: str
    written: bool = False


class Outbox:
    """A thread-safe FIFO of :class:`Pending` messages, keyed by cid."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._changed = threading.Condition()
        self._closed = False

    @staticmethod
    def new_cid() -> str:
        return uuid.uuid4().hex

    def add(self, command: str, target: str, text: str, cid: str | None = None) -> Pending:
        item = Pending(cid or self.new_cid(), command, target, text)
        with self._changed:
            self._items[item.cid] = item
            self._changed.notify_all()
        return item

    def unwritten(self) -> list[Pending]:
        """Items never handed to the socket, oldest first."""
        with self._changed:
            return [item for item in self._items.values() if not item.written]

    def in_flight(self) -> int:
        """Items written and not yet confirmed."""
        with self._changed:
            return sum(1 for item in self._items.values() if item.written)

    def rewind(self) -> None:
        """A new link: whatever the old one wrote may never have arrived, so all of it goes
        out again, in order (the server drops what it already stored, by cid)."""
        with self._changed:
            for item in self._items.values():
                item.written = False

    def mark_written(self, cid: str) -> None:
        with self._changed:
            item = self._items.get(cid)
            if item is not None:
                item.written = True

    def acknowledge(self, cid: str) -> Pending | None:
        """Remove and return the item with this cid, if it is still pending."""
        with self._changed:
            item = self._items.pop(cid, None)
            self._changed.notify_all()
            return item

    def acknowledge_match(self, command: str, target: str, text: str) -> Pending | None:
        """For echoes without our tag: the oldest written item with the same content."""
        with self._changed:
            for cid, item in self._items.items():
                if item.written and item.command == command and item.target == target and item.text == text:
                    del self._items[cid]
                    self._changed.notify_all()
                    return item
        return None

    def reject(self, target: str | None = None) -> Pending | None:
        """The server refused a message to ``target`` (no such nick, not in the channel...), or
        a line without naming its target (``None``: too long): it answers in order, so it is the
        oldest written one (to that target)."""
        key = casefold(target) if target is not None else None
        with self._changed:
            for cid, item in self._items.items():
                if item.written and (key is None or casefold(item.target) == key):
                    del self._items[cid]
                    self._changed.notify_all()
                    return item
        return None

    def __contains__(self, cid: object) -> bool:
        with self._changed:
            return cid in self._items

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def wait_until_empty(self, timeout: float) -> bool:
        """Block until nothing is pending, the outbox is closed, or ``timeout`` seconds passed;
        True if nothing is pending."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._items and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return not self._items

    def close(self) -> None:
        """No acknowledgement can come any more: wake everyone waiting. Pending items stay
        listed, so a caller can still tell the user what was not delivered."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def snapshot(self) -> list[Pending]:
        with self._changed:
            return [Pending(i.cid, i.command, i.target, i.text, i.written) for i in self._items.values()]
