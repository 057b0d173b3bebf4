"""How many wrong passwords an address may cost the server: a token bucket per address.

The server runs one single-threaded loop, and checking a password (scrypt) stalls that loop for
tens of milliseconds. Without a limit, a few dozen connections sending wrong logins freeze the
chat for everybody for seconds. Each failed check takes a token from its address's bucket
(``burst`` deep, refilled at ``rate`` per second); with no token left the next attempt is
refused before any scrypt runs. Successful logins cost nothing, so a reconnect storm of people
who know their passwords is never held back.

Plain data with an injected clock, like the rest of the core, so it is testable without waiting.
"""

from __future__ import annotations

from collections.abc import Callable

#: Failed verifications an address may have at once, and how fast it earns new ones.
BURST = 3
RATE = 1.0
#: Addresses remembered at most. Beyond that the longest-quiet ones are forgotten (a LAN has far
#: fewer), so a flood of made-up addresses cannot grow the table without bound.
MAX_ADDRESSES = 4096


class FailureBudget:
    """Per-address budget of failed password checks."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        burst: int = BURST,
        rate: float = RATE,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self._clock = clock
        self.burst = float(burst)
        self.rate = rate
        self.max_addresses = max_addresses
        # address -> (tokens, when counted); insertion order = least recently failed first
        self._buckets: dict[str, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def allows(self, address: str) -> bool:
        """Whether one more password check from ``address`` may run (it may fail)."""
        return self._tokens(address, self._clock()) >= 1.0

    def failed(self, address: str) -> None:
        """Count one failed check from ``address``."""
        now = self._clock()
        tokens = max(0.0, self._tokens(address, now) - 1.0)
        self._buckets.pop(address, None)
        if len(self._buckets) >= self.max_addresses:
            self._forget_some(now)
        self._buckets[address] = (tokens, now)

    def _tokens(self, address: str, now: float) -> float:
        entry = self._buckets.get(address)
        if entry is None:
            return self.burst
        tokens, at = entry
        return min(self.burst, tokens + max(0.0, now - at) * self.rate)

    def _forget_some(self, now: float) -> None:
        """Drop the addresses whose buckets are full again (they are as good as new); if none
        is, drop the one that failed longest ago."""
        full = [a for a, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.burst]
        for address in full:
            del self._buckets[address]
        if len(self._buckets) >= self.max_addresses:
            del self._buckets[next(iter(self._buckets))]
