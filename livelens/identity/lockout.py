"""Soft lockout after repeated failed sign-ins.

Counted per e-mail address (hashed), whether or not an account has it, so the
lockout itself does not reveal which addresses exist.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from livelens.store.records import LoginGuard

MAX_FAILURES = 5
LOCK_SECONDS = 300


def guard_key(email: str, pepper: bytes) -> str:
    """Keyed hash of a normalised e-mail address: the store never holds the address here."""
    return hmac.new(pepper, email.encode(), hashlib.sha256).hexdigest()


def seconds_locked(guard: LoginGuard | None, now: float) -> int:
    """Seconds until sign-in is allowed again; 0 when not locked."""
    if guard is None or guard.locked_until <= now:
        return 0
    return max(1, math.ceil(guard.locked_until - now))


def should_lock(guard: LoginGuard) -> bool:
    return guard.failures >= MAX_FAILURES
