"""Token buckets for anything that must not be hammered: PIN guesses, messages.

Pure: callers pass the time in, so tests drive it without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:  # first use: full
            self.tokens, self.updated = self.capacity, now
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class KeyedLimiter:
    """One bucket per key (an IP address, a session id), with a bound on memory."""

    def __init__(self, capacity: float, per_second: float, max_keys: int = 100_000) -> None:
        self._capacity, self._rate, self._max = capacity, per_second, max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max:
                self._evict_full(now)
            bucket = self._buckets[key] = TokenBucket(self._capacity, self._rate)
        return bucket.take(now)

    def _evict_full(self, now: float) -> None:
        # Buckets that have refilled completely carry no information: drop them first.
        for key in [
            k for k, b in self._buckets.items() if b.take(now, 0) and b.tokens >= b.capacity
        ]:
            del self._buckets[key]
        while len(self._buckets) >= self._max:
            self._buckets.pop(next(iter(self._buckets)))


@dataclass
class JoinLimits:
    """How fast PINs may be tried: per address, and over the whole instance to slow a
    guesser spread over many addresses."""

    per_ip: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(10, 10 / 600))
    instance: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(200, 1.0))


# (capacity, refill per second) for each class of signalling message (messages.RATE_CLASS).
MESSAGE_BUDGETS: dict[str, tuple[float, float]] = {
    # A pen stroke streams ~20 batches a second; a laser pointer as many. Twice that
    # sustained, with a generous burst, is more than a person can draw.
    "marks": (80, 40),
    "chat": (8, 1),  # a burst of quick lines, then one a second
    "quality": (6, 2),  # reports every couple of seconds
    "other": (40, 20),
}


class MessageLimits:
    """One connection's budgets, a bucket per message class."""

    def __init__(self) -> None:
        self._buckets = {name: TokenBucket(c, r) for name, (c, r) in MESSAGE_BUDGETS.items()}

    def allow(self, rate_class: str, now: float) -> bool:
        return self._buckets.get(rate_class, self._buckets["other"]).take(now)
