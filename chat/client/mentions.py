"""Whether a message is addressed to us, and how often to ring for it.

A mention is our nick as a whole word, compared the way the server compares nicks (its
``CASEMAPPING``, so ``[bob]`` and ``{BOB}`` are one nick on an rfc1459 server), or any private
message. Both UIs ask here, so they highlight the same lines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from chat.client.formatting import strip
from chat.protocol import is_channel
from chat.protocol.names import fold

__all__ = ["BURST_GAP", "NOTICES_PER_BURST", "Bell", "Notices", "is_mention", "mentions_nick"]

#: Mentions closer together than this (seconds) are one burst: one bell, not one per line.
BURST_GAP = 10.0
#: At most this many desktop notifications in one burst, whatever the number of conversations.
NOTICES_PER_BURST = 3
#: What may stand next to a nick that is a word on its own: anything but nick characters.
_NICK_CHAR = r"A-Za-z0-9\[\]\\`_^{|}~-"


def mentions_nick(text: str, nick: str, casemapping: str = "rfc1459") -> bool:
    """Whether ``nick`` is in ``text`` as a word (``bob:``, ``@bob``, ``hi bob!``, not ``bobby``)."""
    if not nick:
        return False
    haystack = fold(strip(text), casemapping)
    pattern = rf"(?<![{_NICK_CHAR}]){re.escape(fold(nick, casemapping))}(?![{_NICK_CHAR}])"
    return re.search(pattern, haystack) is not None


def is_mention(target: str, text: str, nick: str, casemapping: str = "rfc1459", *, own: bool = False) -> bool:
    """A message (to ``target``) the user should notice: private, or naming them. Never our own."""
    if own:
        return False
    return not is_channel(target) or mentions_nick(text, nick, casemapping)


class Bell:
    """Rings once per burst of mentions: a busy conversation does not turn into a siren."""

    def __init__(self, gap: float = BURST_GAP, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = gap
        self.clock = clock
        self._last: float | None = None

    def ring(self) -> bool:
        """A mention arrived: True when this one should ring (the first after a quiet spell)."""
        now = self.clock()
        quiet = self._last is None or now - self._last >= self.gap
        self._last = now
        return quiet


class Notices:
    """Decides which mentions get a desktop notification: each one is a process and a popup,
    so fifty private messages while the window is in the background must not be fifty of them.
    A conversation notifies once per burst of its own (like :class:`Bell`), and all together
    at most ``most`` per burst across conversations; the sidebar still flashes for every one."""

    def __init__(
        self, gap: float = BURST_GAP, most: int = NOTICES_PER_BURST, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.gap = gap
        self.most = most
        self.clock = clock
        self._each: dict[str, Bell] = {}
        self._overall = Bell(gap, clock)
        self._shown = 0

    def allow(self, key: str) -> bool:
        """A mention in conversation ``key``: True when it should be shown on the desktop."""
        bell = self._each.get(key)
        if bell is None:
            bell = self._each[key] = Bell(self.gap, self.clock)
        fresh = bell.ring()
        if self._overall.ring():
            self._shown = 0
        if not fresh or self._shown >= self.most:
            return False
        self._shown += 1
        return True
