"""Seats and subscription: what the instance's operator sets for an account
(``livelens tenant set``), and what follows from it.

- Seats: how many users (agents and administrators) may be active at once; disabled
  users take none. Adding or enabling a user beyond them is refused (409
  ``no_free_seat``); lowering the seats below the users already active disables nobody,
  it only stops new ones. No seats set: no limit.
- Subscription end: its last day (UTC). From the next day on nobody starts a session
  or sends a new link (403 ``subscription_ended``); sessions already running go on, and
  administrators still read and export everything. No end set: it does not end.

90 days after the subscription ended, the retention job deletes the account's session
content (lifecycle.retention).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Final

from livelens import clock
from livelens.errors import Conflict, Forbidden, InvalidInput
from livelens.services import account_policy, audit
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.store.records import Tenant
from livelens.store.repository import TenantStore

MAX_SEATS = 100_000
UNLIMITED: Final = "unlimited"  # what the operator types for no seat limit
NO_END: Final = "none"  # and for no subscription end


class NoFreeSeat(Conflict, code="no_free_seat"):
    """Every seat of the account is taken by an active user."""


class SubscriptionEnded(Forbidden, code="subscription_ended"):
    """The account's subscription has ended: no new sessions."""


def parse_seats(value: str) -> int | None:
    """``--seats``: a whole number from 1, or "unlimited" (None)."""
    text = value.strip().lower()
    if text == UNLIMITED:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_SEATS:
        raise InvalidInput(
            f"Seats must be a whole number from 1 to {MAX_SEATS}, or {UNLIMITED!r} for no "
            f"limit (got {value!r})."
        )
    return int(text)


def parse_end(value: str) -> str | None:
    """``--subscription-ends``: the last day, YYYY-MM-DD, or "none" (None)."""
    text = value.strip()
    if text.lower() == NO_END:
        return None
    try:
        day: date | None = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or len(text) != len("YYYY-MM-DD"):
        raise InvalidInput(
            f"The subscription end must be a date, YYYY-MM-DD, or {NO_END!r} (got {value!r})."
        )
    return day.isoformat()


def ends_at(tenant: Tenant) -> float | None:
    """The moment the subscription has ended: the start of the day after its last day."""
    if tenant.subscription_ends is None:
        return None
    after = date.fromisoformat(tenant.subscription_ends) + timedelta(days=1)
    return datetime(after.year, after.month, after.day, tzinfo=UTC).timestamp()


def active(tenant: Tenant, now: float | None = None) -> bool:
    end = ends_at(tenant)
    return end is None or (clock.now() if now is None else now) < end


def require_active(tenant: Tenant) -> None:
    """Raises SubscriptionEnded once the account's subscription has ended."""
    if not active(tenant):
        raise SubscriptionEnded(
            f"This account's subscription ended on {tenant.subscription_ends}, so no new "
            "sessions can be started. Administrators can still read and export the "
            "account's data; ask your provider to renew the subscription.",
            subscription_ends=tenant.subscription_ends,
        )


async def seats_used(scope: TenantStore) -> int:
    return sum(not user.disabled for user in await scope.list_users())


async def take_seat(scope: TenantStore, tenant: Tenant | None) -> None:
    """Check that one more user may be active; raises NoFreeSeat when none is free."""
    if tenant is None or tenant.seats is None:
        return
    used = await seats_used(scope)
    if used >= tenant.seats:
        raise NoFreeSeat(
            f"All {tenant.seats} seats of this account are taken ({used} active users). "
            "Disable or delete a user first, or ask your provider for more seats.",
            seats=tenant.seats,
            used=used,
        )


def view(tenant: Tenant, used: int) -> dict[str, object]:
    """Seats and subscription as administrators see them."""
    return {
        "seats": {"used": used, "total": tenant.seats},
        "subscription_ends": tenant.subscription_ends,
        "subscription_active": active(tenant),
    }


async def set_terms(
    ctx: Context, tenant: Tenant, actor: Actor, *, seats: int | None, ends: str | None
) -> Tenant:
    """Set the seats and the subscription end (the operator's); audited with the old and
    new values (``account.subscription_changed``) when anything changed."""
    updated = replace(tenant, seats=seats, subscription_ends=ends)
    changed = account_policy.changes(tenant, updated, ("seats", "subscription_ends"))
    if changed:
        scope = ctx.store.scoped(tenant.id)
        await scope.save_tenant(updated)
        await audit.record(scope, "account.subscription_changed", actor, target=tenant.name,
                           **changed)  # fmt: skip
    return updated
