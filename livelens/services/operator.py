"""What the instance's operator (someone with shell access) can do to get people back
in: find a user by address on any account, reset a password or second factor, lift a
lockout, disable, enable or change a role. Every change is audited in the user's
account, by "cli"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from livelens.errors import NotFound
from livelens.identity import emails
from livelens.services import accounts, audit, signin_guard
from livelens.services.audit import CLI
from livelens.services.context import Context
from livelens.store.records import Tenant, User

T = TypeVar("T")


@dataclass(frozen=True)
class Located:
    tenant: Tenant
    user: User


async def locate_user(ctx: Context, email: str) -> Located:
    """The user with this address, on whichever account has it."""
    address = emails.normalise(email)
    tenant_id = await ctx.store.locate_email(address)
    scope = ctx.store.scoped(tenant_id) if tenant_id else None
    user = await scope.find_user_by_email(address) if scope else None
    tenant = await scope.get_tenant() if scope else None
    if user is None or tenant is None:
        raise NotFound(f"No user has the address {address!r}.")
    return Located(tenant, user)


async def list_tenants(ctx: Context) -> list[Tenant]:
    tenants = []
    for tenant_id in await ctx.store.list_tenant_ids():
        tenant = await ctx.store.scoped(tenant_id).get_tenant()
        if tenant is not None:
            tenants.append(tenant)
    return sorted(tenants, key=lambda t: t.name.lower())


async def list_users(ctx: Context, tenant_name: str | None) -> list[tuple[Tenant, User]]:
    """Users of one account, or of every account, by account then address."""
    tenants = (
        [await accounts.find_tenant(ctx, tenant_name)] if tenant_name else await list_tenants(ctx)
    )
    rows = []
    for tenant in tenants:
        users = await ctx.store.scoped(tenant.id).list_users()
        rows += [(tenant, user) for user in sorted(users, key=lambda u: u.email)]
    return rows


async def on_user(ctx: Context, email: str, action: accounts.UserAction[T]) -> T:
    """Do to the user with this address, on whichever account has it, what an
    administrator of that account could (by accounts' rules), audited as "cli"."""
    found = await locate_user(ctx, email)
    return await action(ctx, found.tenant.id, found.user.id, CLI)


async def unlock(ctx: Context, email: str) -> None:
    """Lift the sign-in lockout of an address (known to an account or not)."""
    address = emails.normalise(email)
    await signin_guard.lift(ctx, address)
    tenant_id = await ctx.store.locate_email(address)
    if tenant_id is not None:
        await audit.record(ctx.store.scoped(tenant_id), "auth.unlocked", CLI, target=address)
