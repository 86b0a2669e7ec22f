"""Account policies: what an administrator decides for every user and session of the
account (``PATCH /api/account/policy``).

A change names only the policies it changes; each is checked, and what really changed
is audited with its old and new value (``account.policy_changed``). Sessions take the
policy in force when they are created (signalling.session_policy); the join link's
validity and the PIN apply whenever a link is made, and a PIN is refused as soon as
PIN joining is turned off (services.support); the retention job deletes session content
older than the retention (services.retention); whether sessions are recorded is fixed
when each is created (signalling.recording).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from livelens.errors import InvalidInput, NotFound
from livelens.services import audit
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.store.records import RECORDING_MODES, Tenant

# On or off.
SWITCHES = ("require_totp", "two_way_audio", "snapshots", "chat", "pin_joining",
            "customer_rating")  # fmt: skip
# Whole numbers within bounds.
JOIN_LINK_MINUTES = (1, 1440)  # a minute to a day
RETENTION_DAYS = (1, 3650)  # a day to ten years
NUMBERS: dict[str, tuple[int, int]] = {
    "join_link_minutes": JOIN_LINK_MINUTES,
    "retention_days": RETENTION_DAYS,
}
# One of a few words.
CHOICES: dict[str, tuple[str, ...]] = {"recording": RECORDING_MODES}
FIELDS = (*SWITCHES, *NUMBERS, *CHOICES)

PolicyValue = bool | int | str


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _check(name: str, value: object) -> PolicyValue:
    if name in SWITCHES:
        if not isinstance(value, bool):
            raise InvalidInput(f"Field {name!r} must be true or false.", field=name)
        return value
    if name in NUMBERS:
        low, high = NUMBERS[name]
        number = _whole(value)
        if number is None or not low <= number <= high:
            raise InvalidInput(f"Field {name!r} must be a whole number from {low} to {high}.",
                               field=name)  # fmt: skip
        return number
    choices = CHOICES[name]
    if value not in choices:
        raise InvalidInput(f"Field {name!r} must be one of: {', '.join(choices)}.", field=name)
    assert isinstance(value, str)
    return value


def parse(body: Mapping[str, object]) -> dict[str, PolicyValue]:
    """The policies a request changes, checked: at least one, none unknown."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown policy {unknown[0][:40]!r}; the policies are: "
                           f"{', '.join(FIELDS)}.", field=unknown[0][:40])  # fmt: skip
    if not body:
        raise InvalidInput(f"Name at least one policy to change: {', '.join(FIELDS)}.")
    return {name: _check(name, value) for name, value in body.items()}


def view(tenant: Tenant) -> dict[str, object]:
    """Every policy of the account, as the API shows them."""
    return {name: getattr(tenant, name) for name in FIELDS}


def join_ttl(tenant: Tenant) -> float:
    """Seconds a join link or PIN made now stays usable (until first used)."""
    return tenant.join_link_minutes * 60.0


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)


def changes(before: Tenant, after: Tenant, names: tuple[str, ...]) -> dict[str, str]:
    """What changed, as the audit log shows it: ``{"chat": "on → off"}``."""
    return {
        name: f"{_shown(getattr(before, name))} → {_shown(getattr(after, name))}"
        for name in names
        if getattr(before, name) != getattr(after, name)
    }


async def change(
    ctx: Context, tenant_id: str, actor: Actor, wanted: Mapping[str, PolicyValue]
) -> Tenant:
    """Apply checked changes (see :func:`parse`); audited when anything changed."""
    scope = ctx.store.scoped(tenant_id)
    tenant = await scope.get_tenant()
    if tenant is None:
        raise NotFound("No such account.")
    fields: dict[str, Any] = {name: _check(name, value) for name, value in wanted.items()}
    updated = replace(tenant, **fields)
    changed = changes(tenant, updated, FIELDS)
    if changed:
        await scope.save_tenant(updated)
        await audit.record(scope, "account.policy_changed", actor, **changed)
    return updated
