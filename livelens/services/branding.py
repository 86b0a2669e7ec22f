"""The branding of an account's customer page: the company's name as customers see it,
its logo and its accent colour, set by administrators and shown to the customers who
joined one of the account's sessions.

The rules live in :mod:`.brand_colors` (contrast) and :mod:`.logo_images` (what a logo
may be, and its re-encoding); this module reads and writes the account's
:class:`~livelens.store.records.Branding` and audits every change. A logo is decoded
and re-encoded off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

from livelens import clock
from livelens.errors import InvalidInput, NotFound
from livelens.services import audit, brand_colors, logo_images, support
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.store.records import Branding
from livelens.store.repository import TenantStore

FIELDS = ("display_name", "accent_color")
ADMIN_LOGO_PATH = "/api/account/branding/logo"
CUSTOMER_LOGO_PATH = "/api/join/logo"


def logo_version(logo: bytes) -> str:
    """Changes with the logo: its URLs carry it, so a browser never shows an old one."""
    return hashlib.sha256(logo).hexdigest()[:16]


@dataclass(frozen=True)
class Brand:
    """What the customer's page shows of the account."""

    name: str  # the display name, else the account's name
    accent_color: str | None
    logo_url: str | None  # for the customer's browser (its join cookies)

    def view(self) -> dict[str, object]:
        return {"name": self.name, "accent_color": self.accent_color, "logo_url": self.logo_url}


def _text(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"Field {name!r} must be a string or null.", field=name)
    if len(value) > 1024:
        raise InvalidInput(f"Field {name!r} is too long.", field=name)
    return value


def parse(body: Mapping[str, object]) -> dict[str, str]:
    """The name and colour a ``PUT`` asks for, checked; absent, null or empty: not set
    (the account's name, LiveLens's colour)."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0][:40]!r}; the fields are: "
                           f"{', '.join(FIELDS)}.", field=unknown[0][:40])  # fmt: skip
    name = support.case_text(_text(body, "display_name"), "display name") or ""
    color = _text(body, "accent_color")
    return {"display_name": name, "accent_color": brand_colors.check_accent(color) if color else ""}


async def get(scope: TenantStore) -> Branding:
    """The account's branding; one with nothing set if it has none yet."""
    found = await scope.get_branding()
    return found or Branding(scope.tenant_id, updated_at=0.0)


def _shown(value: str) -> str:
    return value or "none"


async def change(ctx: Context, tenant_id: str, actor: Actor, wanted: Mapping[str, str]) -> Branding:
    """Set the display name and accent colour (see :func:`parse`); the logo stays.
    Audited with old and new values when anything changed."""
    scope = ctx.store.scoped(tenant_id)
    before = await get(scope)
    after = replace(before, display_name=wanted["display_name"],
                    accent_color=wanted["accent_color"])  # fmt: skip
    changed = {name: f"{_shown(getattr(before, name))} → {_shown(getattr(after, name))}"
               for name in FIELDS if getattr(before, name) != getattr(after, name)}  # fmt: skip
    if not changed:
        return before
    after = replace(after, updated_at=clock.now())
    await scope.save_branding(after)
    await audit.record(scope, "account.branding_changed", actor, **changed)
    return after


async def set_logo(ctx: Context, tenant_id: str, actor: Actor, data: bytes) -> Branding:
    """Check the image, re-encode it from its pixels and keep it as the account's logo
    (audited with its type, size and dimensions)."""
    logo_images.inspect(data)  # the quick refusals, before a thread is taken
    logo = await asyncio.to_thread(logo_images.reencode, data)
    scope = ctx.store.scoped(tenant_id)
    updated = replace(await get(scope), logo=logo.data, logo_type=logo.media_type,
                      updated_at=clock.now())  # fmt: skip
    await scope.save_branding(updated)
    await audit.record(scope, "account.logo_set", actor, media_type=logo.media_type,
                       width=logo.width, height=logo.height, bytes=len(logo.data))  # fmt: skip
    return updated


async def remove_logo(ctx: Context, tenant_id: str, actor: Actor) -> Branding:
    """The customer page goes back to LiveLens's mark (audited); NotFound without one."""
    scope = ctx.store.scoped(tenant_id)
    branding = await get(scope)
    if branding.logo is None:
        raise NotFound("The account has no logo.")
    updated = replace(branding, logo=None, logo_type="", updated_at=clock.now())
    await scope.save_branding(updated)
    await audit.record(scope, "account.logo_removed", actor)
    return updated


def logo_of(branding: Branding) -> tuple[bytes, str]:
    """The logo and its media type; NotFound when the account has none."""
    if branding.logo is None:
        raise NotFound("The account has no logo.")
    return branding.logo, branding.logo_type


def _url(path: str, branding: Branding) -> str | None:
    return None if branding.logo is None else f"{path}?v={logo_version(branding.logo)}"


def admin_view(branding: Branding, account_name: str) -> dict[str, object]:
    """The branding as administrators see it, with what customers are shown."""
    return {
        "display_name": branding.display_name or None,
        "accent_color": branding.accent_color or None,
        "logo_url": _url(ADMIN_LOGO_PATH, branding),
        "logo_type": branding.logo_type or None,
        "logo_bytes": None if branding.logo is None else len(branding.logo),
        "shown_name": branding.display_name or account_name,
        "updated_at": branding.updated_at or None,
    }


async def for_customer(ctx: Context, tenant_id: str, account_name: str) -> Brand:
    """What the page of a customer who joined one of the account's sessions shows."""
    branding = await get(ctx.store.scoped(tenant_id))
    return Brand(branding.display_name or account_name, branding.accent_color or None,
                 _url(CUSTOMER_LOGO_PATH, branding))  # fmt: skip
