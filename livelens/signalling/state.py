"""The life of a support session as a state machine with no I/O.

waiting → joined (customer opened the link; device bound) → consented (customer
agreed to share) → live (media flowing) → ended. Declining ends the session at
once; a join link that is not used in time expires. Only ``consented`` and
``live`` sessions may forward customer media to agents: the relay's gate follows
:func:`media_allowed`, so consent is enforced by the server, not the page.

This is the record's life only; what makes a running session end (who is present,
deadlines, leaving) is room_core.py's, which applies these events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from livelens.errors import Conflict, Forbidden
from livelens.signalling import recording
from livelens.store.records import Outcome, SupportSession

CONSENT_SCOPES = recording.BASE_SCOPES  # and "recording", where the session is recorded


class SessionEnded(Conflict, code="session_ended"): ...


class DeviceMismatch(Forbidden, code="link_used"): ...


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
    by: str  # the role: "agent", "customer" or "system"
    outcome: Outcome
    at: float
    user_id: str | None = None  # the agent who ended it (the owner or an expert)
    name: str | None = None  # their display name when they did, as every view shows it


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
                # The scopes as kept: the recording's among them if the customer agreed.
                kept = recording.consent_scopes(session, scopes)
                return replace(session, status="consented", consent_at=at, consent_scopes=kept)
            _require(session, ("consented", "live"), "consent")
            return session
        case ConsentDeclined(at):
            _require(session, ("joined",), "decline")
            return _end(session, Ended("customer", "declined", at))
        case MediaConnected(at):
            if session.status == "consented":
                return replace(session, status="live", live_at=at)
            _require(session, ("live",), "go live")
            return session
        case Ended():
            return _end(session, event)


def _join(session: SupportSession, device_hash: str, at: float) -> SupportSession:
    if session.customer_device_hash is None:
        if is_expired(session, at):
            raise SessionEnded(
                "This link has expired. Ask your support agent for a new one.", outcome="expired"
            )
        return replace(session, status="joined", customer_device_hash=device_hash, joined_at=at)
    if session.customer_device_hash != device_hash:
        raise DeviceMismatch("This link has already been used on another device.")
    return session  # the same device coming back after a drop


def _end(session: SupportSession, event: Ended) -> SupportSession:
    return replace(
        session, status="ended", ended_at=event.at, outcome=event.outcome, ended_by=event.by,
        ended_by_user_id=event.user_id, ended_by_name=event.name, pin_hash=None,
    )  # fmt: skip


def ended_error(session: SupportSession, *, customer: bool = False) -> SessionEnded:
    """The refusal for anything tried on an ended session; ``outcome`` in its details."""
    if session.outcome == "expired":
        text = "This link has expired. Ask your support agent for a new one."
    elif customer:
        text = "This session has ended. Ask your support agent for a new link."
    else:
        text = "This session has ended."
    return SessionEnded(text, outcome=session.outcome)


LIFE_ORDER = ("waiting", "joined", "consented", "live", "ended")


def merge(stored: SupportSession, ours: SupportSession) -> SupportSession:
    """Our version of a record, replayed on a newer stored one (our compare-and-set save
    lost to another writer): the record further along its life wins, with the experts
    invited in either; the stored version, so that the next save can succeed."""
    ahead = LIFE_ORDER.index(ours.status) > LIFE_ORDER.index(stored.status)
    base = ours if ahead else stored
    experts = stored.experts + tuple(e for e in ours.experts if e not in stored.experts)
    return replace(base, experts=experts, version=stored.version)


def _require(session: SupportSession, allowed: tuple[str, ...], action: str) -> None:
    if session.status not in allowed:
        raise Conflict(f"Cannot {action} while the session is {session.status}.")
