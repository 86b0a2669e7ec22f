"""The counting rules of HTTP connections, without sockets (see :mod:`.connections`):
who is open, who is idle and since when, whom to shed for a newcomer or whether to
refuse it; and notices logged once per interval rather than once per connection."""

from __future__ import annotations

import enum
import logging
from collections import Counter
from dataclasses import dataclass

from livelens import clock

log = logging.getLogger("livelens.http")


class Admission(enum.Enum):
    ADMIT = "admit"
    SHED = "shed"  # close the victim first, then take the new connection
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    admission: Admission
    victim: int | None = None
    reason: str = ""  # "per_client" or "full"


@dataclass
class _Entry:
    client: str
    requests: int = 0


class ConnectionTable:
    """The counting rules, without sockets: who is open and idle, whom to shed."""

    def __init__(self, max_connections: int, per_client: int) -> None:
        self.max_connections = max_connections
        self.per_client = per_client
        self._entries: dict[int, _Entry] = {}
        self._per_client: Counter[str] = Counter()
        # Idle connections, oldest idle first (dicts keep insertion order).
        self._idle: dict[int, None] = {}
        self._idle_of: dict[str, dict[int, None]] = {}
        self._next_key = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def count(self, client: str) -> int:
        return self._per_client[client]

    def idle(self) -> list[int]:
        """Idle connections, oldest first."""
        return list(self._idle)

    def full(self) -> bool:
        return len(self._entries) >= self.max_connections

    def can_accept(self) -> bool:
        """Whether a new connection could get in (perhaps by shedding an idle one)."""
        return not self.full() or bool(self._idle)

    def oldest_idle(self) -> int | None:
        return next(iter(self._idle), None)

    def admit(self, client: str) -> Decision:
        """What to do with a new connection from ``client``."""
        if self.per_client and self._per_client[client] >= self.per_client:
            victim = next(iter(self._idle_of.get(client, ())), None)
            if victim is None:
                return Decision(Admission.REFUSE, reason="per_client")
            return Decision(Admission.SHED, victim, "per_client")
        if self.full():
            victim = self.oldest_idle()
            if victim is None:
                return Decision(Admission.REFUSE, reason="full")
            return Decision(Admission.SHED, victim, "full")
        return Decision(Admission.ADMIT)

    def open(self, client: str) -> int:
        """A new connection: idle until its first request's head arrives."""
        self._next_key += 1
        key = self._next_key
        self._entries[key] = _Entry(client)
        self._per_client[client] += 1
        self._set_idle(key, client)
        return key

    def waiting(self, key: int) -> bool:
        """The connection waits for a request's head again; True for its first request."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        entry.requests += 1
        self._set_idle(key, entry.client)
        return entry.requests == 1

    def busy(self, key: int) -> None:
        """A request's head arrived: not idle until the next one is awaited."""
        entry = self._entries.get(key)
        if entry is not None:
            self._unset_idle(key, entry.client)

    def close(self, key: int) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._unset_idle(key, entry.client)
        self._per_client[entry.client] -= 1
        if not self._per_client[entry.client]:
            del self._per_client[entry.client]

    def _set_idle(self, key: int, client: str) -> None:
        if key not in self._idle:  # keeps its place if already idle
            self._idle[key] = None
            self._idle_of.setdefault(client, {})[key] = None

    def _unset_idle(self, key: int, client: str) -> None:
        self._idle.pop(key, None)
        mine = self._idle_of.get(client)
        if mine is not None:
            mine.pop(key, None)
            if not mine:
                del self._idle_of[client]


class Notices:
    """Log each kind of condition at most once per interval, saying how often it occurred."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._since: dict[str, float] = {}
        self._counts: Counter[str] = Counter()

    def __call__(self, kind: str, message: str) -> None:
        self._counts[kind] += 1
        now = clock.now()
        last = self._since.get(kind)
        if last is not None and now - last < self.interval:
            return
        count = self._counts.pop(kind)
        self._since[kind] = now
        if last is None:
            log.warning("%s", message)
        else:
            log.warning("%s (%d times in the last %.0f s)", message, count, now - last)
