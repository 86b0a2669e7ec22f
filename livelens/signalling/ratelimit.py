"""Token buckets for anything that must not be hammered: PIN guesses, messages.

Pure: callers pass the time in, so tests drive it without sleeping.
"""

from __future__ import annotations

import ipaddress
import math
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

    def give_back(self, cost: float = 1.0) -> None:
        """Return what a request took when it turned out not to count (a success)."""
        self.tokens = min(self.capacity, self.tokens + cost)

    def seconds_until(self, now: float, cost: float = 1.0) -> int:
        """Whole seconds until ``cost`` can be taken (0 if it can now)."""
        self.take(now, 0)
        missing = cost - self.tokens
        if missing <= 0:
            return 0
        return max(1, math.ceil(missing / self.refill_per_second))


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

    def give_back(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.give_back()

    def seconds_until(self, key: str, now: float) -> int:
        bucket = self._buckets.get(key)
        return 0 if bucket is None else bucket.seconds_until(now)

    def _evict_full(self, now: float) -> None:
        # Buckets that have refilled completely carry no information: drop them first.
        for key in [
            k for k, b in self._buckets.items() if b.take(now, 0) and b.tokens >= b.capacity
        ]:
            del self._buckets[key]
        while len(self._buckets) >= self._max:
            self._buckets.pop(next(iter(self._buckets)))


def network_key(ip: str) -> str:
    """The unit a client is limited by: an IPv4 address, or an IPv6 /56 (one home or
    site; a single host often holds a whole /64, so per address would be no limit)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 56), strict=False))
    return str(address)


@dataclass(frozen=True)
class PinTry:
    """A PIN attempt that was let through, to give back if the PIN was right."""

    key: str
    fresh: bool


@dataclass
class JoinLimits:
    """How fast PINs may be tried, so that guessing one is hopeless without letting
    guessers keep customers out.

    What bounds a guesser is how many wrong PINs the instance checks while a PIN is
    usable: one in 10^6 of them may hit a given waiting session. Every check is paid for
    before the store is asked; a right PIN gives its tokens back, so only wrong guesses
    use the budgets up. Three budgets:

    * per network (an IPv4 address or an IPv6 /56): 5 tries, then one per 2 minutes;
    * instance-wide, for a network's first 2 tries in 10 minutes ("fresh"): 300, then
      one a second;
    * instance-wide, for every other try: 60, then one per 5 seconds.

    With N wrong checks a second instance-wide and a PIN usable for T seconds (the join
    TTL, 900 s), a guesser hits a given waiting session with a chance of about
    N*T/10^6. Here at most 300 + 1*900 + 60 + 0.2*900 = 1,440 checks fit in 900 s:
    under 0.15% per waiting session (each further waiting session adds as much to the
    chance of hitting any). The old single instance budget allowed 1,100 checks
    (0.11%), but a few dozen addresses could drain it, after which everyone's PIN was
    refused. Now, guessing from a few networks drains only the budget for retries: a
    customer's first tries, from any network that has not been guessing, still have
    the fresh budget, which takes some 300 new networks every ten minutes to drain.
    No budget stands between a customer and the link's token (256 bits: not guessable).
    """

    per_network: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(5, 1 / 120))
    fresh_per_network: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(2, 2 / 600))
    fresh: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(300, 1.0))
    retries: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(60, 0.2))

    def take(self, ip: str, now: float) -> PinTry | int:
        """The attempt, counted, if it may be checked; else whole seconds to wait."""
        key = network_key(ip)
        if not self.per_network.allow(key, now):
            return self.per_network.seconds_until(key, now)
        fresh = self.fresh_per_network.allow(key, now)
        lane = self.fresh if fresh else self.retries
        if not lane.allow("*", now):
            self.per_network.give_back(key)
            if fresh:
                self.fresh_per_network.give_back(key)
            return lane.seconds_until("*", now)
        return PinTry(key, fresh)

    def give_back(self, attempt: PinTry) -> None:
        """The PIN was right: the attempt counts against nobody."""
        self.per_network.give_back(attempt.key)
        if attempt.fresh:
            self.fresh_per_network.give_back(attempt.key)
        (self.fresh if attempt.fresh else self.retries).give_back("*")


@dataclass
class SignInLimits:
    """How fast passwords may be tried, whatever the e-mail address: per client address
    (password spraying: one address trying many accounts) and over the whole instance
    (each try costs an Argon2 verification). A successful sign-in gives its token back,
    so a shared office address is limited only by its failures."""

    per_ip: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(20, 20 / 600))
    instance: KeyedLimiter = field(default_factory=lambda: KeyedLimiter(200, 20.0))

    def take(self, ip: str, now: float) -> int:
        """0 if this attempt may go on (and is counted), else seconds to wait."""
        if not self.per_ip.allow(ip, now):
            return self.per_ip.seconds_until(ip, now)
        if not self.instance.allow("*", now):
            self.per_ip.give_back(ip)
            return self.instance.seconds_until("*", now)
        return 0

    def give_back(self, ip: str) -> None:
        self.per_ip.give_back(ip)
        self.instance.give_back("*")


class BurstLog:
    """Counts a repeated event per key in memory and says when to write a log row: at
    the first event of a burst, then at most once per ``interval`` with the number of
    events since the last row. A flood against a locked address writes a row a minute,
    not one per request."""

    def __init__(self, interval: float = 60.0, max_keys: int = 10_000) -> None:
        self._interval, self._max = interval, max_keys
        self._pending: dict[str, tuple[float, int]] = {}  # key -> (last row at, since)

    def hit(self, key: str, now: float) -> int | None:
        """The count for a row to write now, or None when this event is only counted."""
        last = self._pending.get(key)
        if last is not None and now - last[0] < self._interval:
            self._pending[key] = (last[0], last[1] + 1)
            return None
        if last is None and len(self._pending) >= self._max:
            self._forget_quiet(now)
        self._pending[key] = (now, 0)
        return 1 if last is None else last[1] + 1

    def _forget_quiet(self, now: float) -> None:
        for key in [k for k, (at, _) in self._pending.items() if now - at >= self._interval]:
            del self._pending[key]
        while len(self._pending) >= self._max:
            self._pending.pop(next(iter(self._pending)))


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
