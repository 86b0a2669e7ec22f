"""The life of a support session as a state machine with no I/O.

waiting → joined (customer opened the link; device bound) → consented (customer
agreed to share) → live (media flowing) → ended. Declining ends the session at
once; a join link that is not used in time expires. Only ``consented`` and
``live`` sessions may forward customer media to agents: the relay's gate follows
:func:`media_allowed`, so consent is enforced by the server, not the page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from livelens.errors import Conflict, Forbidden
from livelens.store.records import Outcome, SupportSession

CONSENT_SCOPES = ("camera", "microphone")


class SessionEnded(Conflict):
    code = "session_ended"


class DeviceMismatch(Forbidden):
    code = "link_used"


@dataclass(frozen=True)
class CustomerJoined:
    device_hash: str
    at: float


@dataclass(frozen=True)
class ConsentGiven:
    scopes: tuple[str, ...]
    at: float


@dataclass(frozen=True)
class ConsentDeclined:
    at: float


@dataclass(frozen=True)
class MediaConnected:
    at: float


@dataclass(frozen=True)
class Ended:
    by: str  # "agent", "customer" or "system"
    outcome: Outcome
    at: float


Event = CustomerJoined | ConsentGiven | ConsentDeclined | MediaConnected | Ended


def is_expired(session: SupportSession, now: float) -> bool:
    """A link nobody used before its deadline can no longer be used."""
    return session.status == "waiting" and now >= session.join_expires_at


def media_allowed(session: SupportSession) -> bool:
    return session.status in ("consented", "live")


def apply(session: SupportSession, event: Event) -> SupportSession:
    """The session after ``event``; raises when the event is not allowed now."""
    if session.status == "ended":
        if isinstance(event, Ended):
            return session  # ending twice is harmless: both sides may press "end"
        raise SessionEnded("This session has ended.")
    match event:
        case CustomerJoined(device_hash, at):
            return _join(session, device_hash, at)
        case ConsentGiven(scopes, at):
            if session.status == "joined":
                unknown = set(scopes) - set(CONSENT_SCOPES)
                if unknown or not scopes:
                    raise Conflict(f"Consent scopes must be among {', '.join(CONSENT_SCOPES)}.")
                return replace(session, status="consented", consent_at=at, consent_scopes=scopes)
            _require(session, ("consented", "live"), "consent")
            return session
        case ConsentDeclined(at):
            _require(session, ("joined",), "decline")
            return _end(session, "customer", "declined", at)
        case MediaConnected(at):
            if session.status == "consented":
                return replace(session, status="live", live_at=at)
            _require(session, ("live",), "go live")
            return session
        case Ended(by, outcome, at):
            return _end(session, by, outcome, at)


def _join(session: SupportSession, device_hash: str, at: float) -> SupportSession:
    if session.customer_device_hash is None:
        if is_expired(session, at):
            raise SessionEnded("This link has expired.")
        return replace(session, status="joined", customer_device_hash=device_hash, joined_at=at)
    if session.customer_device_hash != device_hash:
        raise DeviceMismatch("This link has already been used on another device.")
    return session  # the same device coming back after a drop


def _end(session: SupportSession, by: str, outcome: Outcome, at: float) -> SupportSession:
    return replace(
        session, status="ended", ended_at=at, outcome=outcome, ended_by=by, pin_hash=None
    )


def _require(session: SupportSession, allowed: tuple[str, ...], action: str) -> None:
    if session.status not in allowed:
        raise Conflict(f"Cannot {action} while the session is {session.status}.")
