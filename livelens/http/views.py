"""How records look in API answers: only what a client may see, never a secret."""

from __future__ import annotations

from enum import Enum

from livelens.services import account_policy, subscription
from livelens.services.auth import Principal
from livelens.services.content import Notes
from livelens.signalling import session_policy
from livelens.store.records import AuditEvent, SecurityEvent, SupportSession, Tenant, User


def _pick(record: object, *names: str) -> dict[str, object]:
    return {name: getattr(record, name) for name in names}


def user_brief(user: User) -> dict[str, object]:
    return _pick(user, "id", "email", "display_name", "role", "tenant_id")


def user_admin(user: User, locked_for: int = 0) -> dict[str, object]:
    """A user as administrators see them; ``locked_for``: seconds their sign-in stays
    locked after repeated failures (0: not locked)."""
    names = ("id", "email", "display_name", "role", "disabled", "totp_enabled", "created_at")
    fields = _pick(user, *names, "last_sign_in_at")
    return {**fields, "locked_for": locked_for}


def tenant(t: Tenant) -> dict[str, object]:
    # Whether sessions can be started: the console disables "New session" when not;
    # and the recording policy, for its "Record this session" switch.
    return {"id": t.id, "name": t.name, "region": t.region, "require_totp": t.require_totp,
            "subscription_active": subscription.active(t), "recording": t.recording}  # fmt: skip


def account(t: Tenant, seats_used: int) -> dict[str, object]:
    """The account as its administrators see it: its policies, seats and subscription."""
    return {**tenant(t), **account_policy.view(t), **subscription.view(t, seats_used)}


def me(principal: Principal) -> dict[str, object]:
    return {
        "user": user_brief(principal.user),
        "tenant": tenant(principal.tenant),
        "totp_enabled": principal.user.totp_enabled,
        "totp_enrollment_required": principal.totp_enrollment_required,
    }


def audit_event(e: AuditEvent) -> dict[str, object]:
    return _pick(e, "id", "at", "action", "actor", "ip", "target", "details")


def security_event(e: SecurityEvent) -> dict[str, object]:
    return _pick(e, "id", "at", "kind", "ip", "details")


class _Sealed(Enum):
    SEALED = "sealed"


SEALED = _Sealed.SEALED  # a personal field its caller did not open: left out of the view


def support_session(
    s: SupportSession,
    customer_name: str | _Sealed | None = SEALED,
    rating_comment: str | _Sealed | None = SEALED,
) -> dict[str, object]:
    """``customer_name``: the customer's name, opened (support.customer_name);
    ``rating_comment``: the customer's comment with their rating, opened
    (rating.comment). The record keeps both sealed."""
    opened = {} if customer_name is SEALED else {"customer_name": customer_name}
    rating: dict[str, object] | None = None
    if s.rating is not None:
        rating = {"score": s.rating, "at": s.rated_at}
        if rating_comment is not SEALED:
            rating["comment"] = rating_comment
    return {
        "id": s.id,
        "status": s.status,
        "agent_id": s.agent_id,
        "created_at": s.created_at,
        "join_expires_at": s.join_expires_at,
        "joined_at": s.joined_at,
        "consent_at": s.consent_at,
        "consent_scopes": list(s.consent_scopes),
        "live_at": s.live_at,
        "ended_at": s.ended_at,
        "outcome": s.outcome,
        "ended_by": s.ended_by,  # the role: "agent", "customer" or "system"
        "ended_by_user_id": s.ended_by_user_id,  # the agent who ended it
        "ended_by_name": s.ended_by_name,  # their display name, as everyone is shown it
        "duration": (s.ended_at - s.live_at) if s.ended_at and s.live_at else None,
        "experts": list(s.experts),
        **opened,
        "reference": s.reference,
        "policy": session_policy.view(s),  # what the account's policy allows in it
        "recording": s.recording,  # whether it is recorded: "off", "asked", "always"
        "rating": rating,  # the customer's, once they gave it after the end
    }


def notes(n: Notes) -> dict[str, object]:
    return {"text": n.text, "at": n.at, "author_id": n.author_id}
