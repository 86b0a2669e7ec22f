"""Soft lockout after repeated failed sign-ins, as rules over reserved attempts.

Counted per e-mail address (hashed), whether or not an account has it, so the
lockout itself does not reveal which addresses exist.

Every attempt takes a numbered ticket *before* its password or code is checked
(a reservation), so that forty parallel guesses get five tickets between them and
the other thirty-five are refused unchecked. A round has ``MAX_FAILURES`` tickets:
taking the last one starts the lock, which a success with that ticket lifts. A
success resets the count by opening the next round; so does the lock running out.
A correct password that still needs its second factor gives its ticket back.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass

from livelens.store.records import LoginTicket

MAX_FAILURES = 5
LOCK_SECONDS = 300


def guard_key(email: str, pepper: bytes) -> str:
    """Keyed hash of a normalised e-mail address: the store never holds the address here."""
    return hmac.new(pepper, email.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RoundState:
    """Where an address stands, read from the tickets of its newest round."""

    round: int
    free: tuple[int, ...]  # ticket numbers still free, lowest first
    locked_until: float  # when every ticket is taken: the lock's end

    def seconds_locked(self, now: float) -> int:
        """Seconds until sign-in is allowed again; 0 when not locked."""
        if self.free or self.locked_until <= now:
            return 0
        return max(1, math.ceil(self.locked_until - now))

    def is_over(self, now: float) -> bool:
        """Every ticket was used and the lock has run out: the next round begins."""
        return not self.free and self.locked_until <= now


def round_state(tickets: Sequence[LoginTicket]) -> RoundState:
    """The state of the newest round among ``tickets`` (round 0, all free, if none)."""
    if not tickets:
        return RoundState(0, tuple(range(1, MAX_FAILURES + 1)), 0.0)
    newest = max(t.round for t in tickets)
    taken = [t for t in tickets if t.round == newest and t.number > 0]
    numbers = {t.number for t in taken}
    free = tuple(n for n in range(1, MAX_FAILURES + 1) if n not in numbers)
    # The lock starts when the last ticket is taken (tickets may be taken out of order).
    locked_until = max(t.at for t in taken) + LOCK_SECONDS if not free else 0.0
    return RoundState(newest, free, locked_until)


def is_last(ticket: LoginTicket) -> bool:
    """Whether this ticket's failure leaves the address locked (tickets are taken lowest
    first, so the last number is taken last)."""
    return ticket.number == MAX_FAILURES
