"""Accounts (tenants) and their users: creation, changes, policy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from livelens import clock
from livelens.config import REGIONS
from livelens.errors import Conflict, DuplicateEmail, InvalidInput, NotFound
from livelens.identity import display_names, emails, passwords
from livelens.identity.roles import parse_role
from livelens.services import account_policy, audit, live_sockets, signin_guard, subscription
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.store.encryption import new_data_key
from livelens.store.records import Role, Tenant, User, new_id
from livelens.store.repository import TenantStore

MAX_NAME = 100

T = TypeVar("T")
# What an administrator (or the operator) does to one user: (ctx, tenant, user, who).
UserAction = Callable[[Context, str, str, Actor], Awaitable[T]]


def _validate_name(name: str) -> str:
    value = " ".join(name.split())
    if not value or len(value) > MAX_NAME:
        raise InvalidInput(f"Account name must be 1 to {MAX_NAME} characters.")
    return value


def _validate_region(region: str) -> str:
    if region not in REGIONS:
        raise InvalidInput(f"Region must be one of: {', '.join(REGIONS)}.")
    return region


async def create_tenant(
    ctx: Context, name: str, region: str, admin_email: str, admin_password: str, actor: Actor
) -> tuple[Tenant, User]:
    """Create an account with its first administrator."""
    name = _validate_name(name)
    region = _validate_region(region)
    email = emails.validate(admin_email)
    passwords.check_policy(admin_password)
    if await ctx.store.locate_email(email) is not None:  # the operator may know this
        raise DuplicateEmail(f"A user with e-mail {email} already exists.")
    tenant_id = new_id()
    wrapped = ctx.keyring.wrap(tenant_id, new_data_key())
    tenant = Tenant(
        id=tenant_id,
        name=name,
        region=region,
        created_at=clock.now(),
        wrapped_data_key=wrapped.sealed,
        master_key_id=wrapped.master_key_id,
    )
    await ctx.store.create_tenant(tenant)
    scope = ctx.store.scoped(tenant.id)
    await audit.record(scope, "account.created", actor, target=name, region=region)
    admin = await create_user(ctx, tenant.id, email, "admin", admin_password, actor)
    return tenant, admin


async def find_tenant(ctx: Context, name: str) -> Tenant:
    tenant_id = await ctx.store.find_tenant_id_by_name(" ".join(name.split()))
    tenant = await ctx.store.scoped(tenant_id).get_tenant() if tenant_id else None
    if tenant is None:
        raise NotFound(f"No account named {name!r}.")
    return tenant


# Addresses are unique on the whole instance (sign-in finds the account from the
# address alone), so a new user's address may be taken by another account. The refusal
# is the same whichever account has it, and says nothing of that account.
ADDRESS_TAKEN = (
    "This e-mail address cannot be used for a new user. If it belongs to a user of this "
    "account, find them in the user list; otherwise use another address."
)


async def create_user(
    ctx: Context,
    tenant_id: str,
    email: str,
    role: str,
    password: str,
    actor: Actor,
    display_name: str | None = None,
) -> User:
    email = emails.validate(email)
    checked_role = parse_role(role)
    name = display_names.validate(display_name) if display_name else ""
    passwords.check_policy(password)
    scope = ctx.store.scoped(tenant_id)
    await subscription.take_seat(scope, await scope.get_tenant())  # a new user is active
    now = clock.now()
    user = User(
        id=new_id(),
        tenant_id=tenant_id,
        email=email,
        role=checked_role,
        password_hash=await ctx.hashing.hash_async(password),
        created_at=now,
        updated_at=now,
        display_name=name or display_names.from_address(email),
    )
    try:
        await scope.create_user(user)
    except DuplicateEmail as exc:
        raise DuplicateEmail(ADDRESS_TAKEN) from exc
    await audit.record(scope, "user.created", actor, target=email, role=checked_role)
    return user


async def get_user(scope: TenantStore, user_id: str) -> User:
    user = await scope.get_user(user_id)
    if user is None:
        raise NotFound("No such user in this account.")
    return user


async def _ensure_another_active_admin(scope: TenantStore, leaving: User) -> None:
    admins = [u for u in await scope.list_users() if u.role == "admin" and not u.disabled]
    if leaving.role == "admin" and not leaving.disabled and len(admins) <= 1:
        raise Conflict("An account must keep at least one active administrator.")


async def update_user(
    ctx: Context,
    tenant_id: str,
    user_id: str,
    actor: Actor,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> User:
    scope = ctx.store.scoped(tenant_id)
    user = await get_user(scope, user_id)
    new_role: Role = user.role if role is None else parse_role(role)
    new_disabled = user.disabled if disabled is None else disabled
    if user.role == "admin" and (new_role != "admin" or new_disabled):
        await _ensure_another_active_admin(scope, user)
    if password is not None:
        passwords.check_policy(password)
    if new_role == user.role and new_disabled == user.disabled and password is None:
        return user
    if user.disabled and not new_disabled:  # enabled again: takes a seat
        await subscription.take_seat(scope, await scope.get_tenant())
    updated = replace(
        user,
        role=new_role,
        disabled=new_disabled,
        password_hash=await ctx.hashing.hash_async(password) if password else user.password_hash,
        updated_at=clock.now(),
    )
    await scope.save_user(updated)
    if new_disabled or password is not None:
        # A disabled user, or one whose password was reset, must sign in again.
        await live_sockets.end_every_sign_in(ctx, tenant_id, user.id)
    if password is not None:
        await signin_guard.lift(ctx, user.email)  # the new password is tried at once
    await audit.record(
        scope,
        "user.updated",
        actor,
        target=user.email,
        role=new_role,
        disabled=new_disabled,
        password_reset=password is not None,
    )
    return updated


async def delete_user(ctx: Context, tenant_id: str, user_id: str, actor: Actor) -> None:
    scope = ctx.store.scoped(tenant_id)
    user = await get_user(scope, user_id)
    if actor.user_id == user.id:
        raise Conflict("You cannot delete your own user.")
    await _ensure_another_active_admin(scope, user)
    await live_sockets.end_every_sign_in(ctx, tenant_id, user.id)
    await scope.delete_user(user.id)
    await audit.record(scope, "user.deleted", actor, target=user.email)


async def reset_second_factor(ctx: Context, tenant_id: str, user_id: str, actor: Actor) -> User:
    """Turn two-factor authentication off (a lost phone and lost recovery codes); the user
    is signed out everywhere and, where the account requires it, enrols again at the next
    sign-in."""
    scope = ctx.store.scoped(tenant_id)
    user = replace(await get_user(scope, user_id), totp_secret=None, totp_pending=None,
                   recovery_codes=(), updated_at=clock.now())  # fmt: skip
    await scope.save_user(user)
    await live_sockets.end_every_sign_in(ctx, tenant_id, user.id)
    await audit.record(scope, "totp.reset", actor, target=user.email)
    return user


async def unlock_user(ctx: Context, tenant_id: str, user_id: str, actor: Actor) -> None:
    """Lift the sign-in lockout on the user's address."""
    scope = ctx.store.scoped(tenant_id)
    user = await get_user(scope, user_id)
    await signin_guard.lift(ctx, user.email)
    await audit.record(scope, "auth.unlocked", actor, target=user.email)


async def seconds_locked(ctx: Context, users: list[User]) -> dict[str, int]:
    """How long each user's address stays locked, by user id (locked ones only)."""
    seconds = await asyncio.gather(*(signin_guard.seconds_locked(ctx, u.email) for u in users))
    return {user.id: locked for user, locked in zip(users, seconds, strict=True) if locked}


async def revoke_sessions(ctx: Context, tenant_id: str, user_id: str, actor: Actor) -> int:
    scope = ctx.store.scoped(tenant_id)
    user = await get_user(scope, user_id)
    count = await live_sockets.end_every_sign_in(ctx, tenant_id, user.id)
    await audit.record(scope, "user.sessions_revoked", actor, target=user.email, count=count)
    return count


async def set_policy(ctx: Context, tenant_id: str, actor: Actor, **wanted: object) -> Tenant:
    """Change account policies by name (services.account_policy has them and their
    bounds); only what changes is saved and audited."""
    return await account_policy.change(ctx, tenant_id, actor, account_policy.parse(wanted))
