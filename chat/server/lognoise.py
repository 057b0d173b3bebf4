"""Log lines that an attacker can cause at will, kept to a readable trickle.

Refused connections and failed TLS handshakes are worth one line each when they are rare (a
typo'd port, a client without TLS), but a port scanner or a connection flood would otherwise
write thousands of lines a second and fill the disk. Each kind gets a few lines per period; the
rest are counted and summed up in one line when the period ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Throttle:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = 10,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.burst = burst
        self.period = period
        self.clock = clock
        self._window: dict[str, tuple[float, int]] = {}  # kind -> (window start, lines in it)

    def log(self, level: int, kind: str, message: str, *args: object) -> None:
        """Log ``message`` unless ``kind`` already used its lines in this period."""
        now = self.clock()
        start, count = self._window.get(kind, (now, 0))
        if now - start >= self.period:
            self._summarise(kind, count)
            start, count = now, 0
        self._window[kind] = (start, count + 1)
        if count < self.burst:
            self.logger.log(level, message, *args)

    def flush(self) -> None:
        """Called now and then (the loop's tick): close the periods that are over."""
        now = self.clock()
        for kind, (start, count) in list(self._window.items()):
            if now - start >= self.period:
                self._summarise(kind, count)
                del self._window[kind]

    def _summarise(self, kind: str, count: int) -> None:
        if count > self.burst:
            self.logger.warning(
                "%d more %s in the last %d s (only the first %d logged)",
                count - self.burst, kind, int(self.period), self.burst,
            )  # fmt: skip
