"""The one place LiveLens reads time, so tests can move it instead of sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall time, UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


_clock: Clock = SystemClock()


def now() -> float:
    return _clock.now()


def utcnow() -> datetime:
    return datetime.fromtimestamp(_clock.now(), UTC)


def install(clock: Clock) -> Clock:
    """Replace the process clock; returns the previous one so tests can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous
