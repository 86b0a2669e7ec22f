"""Signing in and out, second factors, and the signed-in browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from livelens import clock
from livelens.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    InvalidOtp,
    NotAuthenticated,
    OtpRequired,
)
from livelens.identity import emails, lockout, passwords, totp
from livelens.services import audit, live_sockets, security, signin_guard
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.store.records import AuthSession, Tenant, User
from livelens.store.repository import TenantStore


@dataclass(frozen=True)
class Principal:
    """The user behind a request, with their account and browser session."""

    user: User
    tenant: Tenant
    session_id: str

    @property
    def totp_enrollment_required(self) -> bool:
        return self.tenant.require_totp and not self.user.totp_enabled


@dataclass(frozen=True)
class SignIn:
    principal: Principal
    token: str  # the secret for the cookie; the store keeps only its hash


@dataclass(frozen=True)
class Client:
    ip: str
    user_agent: str


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _totp_purpose(user: User, pending: bool) -> str:
    return f"user/{user.id}/totp" + ("-pending" if pending else "")


async def login(ctx: Context, email: str, password: str, otp: str | None, client: Client) -> SignIn:
    address = emails.normalise(email)
    # Paid for before anything is looked up or checked: a locked address answers the
    # same, in the same time, whether or not an account has it.
    attempt = await signin_guard.reserve(ctx, address, client.ip)
    tenant_id = await ctx.store.locate_email(address)
    scope = ctx.store.scoped(tenant_id) if tenant_id else None
    user = await scope.find_user_by_email(address) if scope else None
    actor = Actor(address, user.id if user else None, client.ip)

    # Verify even for unknown addresses (against a decoy) so timing does not tell.
    check = await ctx.hashing.verify_async(user.password_hash if user else None, password)
    tenant = await scope.get_tenant() if scope else None
    # tenant is None when the account was deleted while the user row remained.
    if user is None or scope is None or tenant is None or not check.ok or user.disabled:
        await _count_failure(ctx, attempt, scope, actor, "auth.login_failed")
        raise InvalidCredentials("Wrong e-mail or password.")

    if user.totp_secret is not None:
        if not otp:
            await signin_guard.give_back(ctx, attempt)
            raise OtpRequired("Enter the 6-digit code from your authenticator app.")
        user = await _check_second_factor(ctx, tenant, user, otp, attempt, scope, actor)

    await signin_guard.succeeded(ctx, attempt)
    if check.needs_rehash:
        new_hash = await ctx.hashing.hash_async(password)
        user = replace(user, password_hash=new_hash, updated_at=clock.now())
        await scope.save_user(user)
    # After the rehash's save (which writes the whole user), and that field alone.
    signed_in_at = clock.now()
    await scope.note_sign_in(user.id, signed_in_at)
    user = replace(user, last_sign_in_at=signed_in_at)
    sign_in = await _open_session(ctx, scope, tenant, user, client)
    await audit.record(scope, "auth.login_succeeded", actor, target=address)
    return sign_in


async def _count_failure(
    ctx: Context,
    attempt: signin_guard.Attempt,
    scope: TenantStore | None,
    actor: Actor,
    action: str,
) -> None:
    """Log a failed check; its ticket stays taken, which is what counts it."""
    tenant_id = scope.tenant_id if scope else None
    failures = attempt.ticket.number
    await security.record(ctx, action, actor.ip, tenant_id, failures=failures)
    if scope:
        await audit.record(scope, action, actor, target=actor.name, failures=failures)
    if signin_guard.locks(attempt):
        await security.record(ctx, "auth.locked", actor.ip, tenant_id)
        if scope:
            await audit.record(
                scope, "auth.locked", actor, target=actor.name, seconds=lockout.LOCK_SECONDS
            )


async def _check_second_factor(
    ctx: Context,
    tenant: Tenant,
    user: User,
    otp: str,
    attempt: signin_guard.Attempt,
    scope: TenantStore,
    actor: Actor,
) -> User:
    assert user.totp_secret is not None
    secret = ctx.cipher(tenant).open(user.totp_secret, _totp_purpose(user, False)).decode()
    now = clock.now()
    # Codes are single-use: the store claims a step or a recovery code atomically, so of
    # two sign-ins racing with one code only one gets through.
    step = totp.matching_step(secret, otp, now, after=user.totp_last_step)
    if step is not None and await scope.claim_totp_step(user.id, step, now):
        return replace(user, totp_last_step=step, updated_at=now)
    used = totp.match_recovery_code(otp, user.recovery_codes)
    if used is not None and await scope.consume_recovery_code(user.id, used, now):
        remaining = tuple(c for c in user.recovery_codes if c != used)
        user = replace(user, recovery_codes=remaining, updated_at=now)
        await audit.record(
            scope, "auth.recovery_code_used", actor, target=user.email, remaining=len(remaining)
        )
        return user
    await _count_failure(ctx, attempt, scope, actor, "auth.otp_failed")
    raise InvalidOtp("That code is not valid. Check your authenticator app's clock.")


async def _recheck_password(
    ctx: Context, principal: Principal, password: str, ip: str, wrong: str
) -> None:
    """A signed-in user's password asked again before a sensitive change. It costs a
    sign-in ticket like any other check, so a stolen session cookie cannot be used to
    guess the password."""
    user = principal.user
    attempt = await signin_guard.reserve(ctx, user.email, ip)
    if not (await ctx.hashing.verify_async(user.password_hash, password)).ok:
        scope = ctx.store.scoped(principal.tenant.id)
        await _count_failure(ctx, attempt, scope, Actor.of(user, ip), "auth.recheck_failed")
        raise InvalidCredentials(wrong)
    await signin_guard.succeeded(ctx, attempt)


async def _open_session(
    ctx: Context, scope: TenantStore, tenant: Tenant, user: User, client: Client
) -> SignIn:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session = AuthSession(
        id=session_id_for(token),
        tenant_id=tenant.id,
        user_id=user.id,
        created_at=now,
        expires_at=now + ctx.settings.auth_session_ttl,
        ip=client.ip,
        user_agent=client.user_agent[:300],
    )
    await scope.create_auth_session(session)
    return SignIn(Principal(user, tenant, session.id), token)


async def authenticate(ctx: Context, tenant_id: str, token: str) -> Principal:
    """The principal of a session cookie, or NotAuthenticated."""
    scope = ctx.store.scoped(tenant_id)
    session = await scope.get_auth_session(session_id_for(token))
    if session is None or session.expires_at <= clock.now():
        raise NotAuthenticated("Please sign in.")
    user = await scope.get_user(session.user_id)
    tenant = await scope.get_tenant()
    if user is None or user.disabled or tenant is None:
        await scope.delete_auth_session(session.id)
        raise NotAuthenticated("Please sign in.")
    return Principal(user, tenant, session.id)


async def logout(ctx: Context, principal: Principal, ip: str) -> None:
    scope = ctx.store.scoped(principal.tenant.id)
    await scope.delete_auth_session(principal.session_id)
    await live_sockets.signed_out(
        ctx, principal.tenant.id, principal.user.id, sign_in=principal.session_id
    )
    await audit.record(scope, "auth.logout", Actor.of(principal.user, ip))


async def revoke_own_sessions(ctx: Context, principal: Principal, ip: str) -> int:
    scope = ctx.store.scoped(principal.tenant.id)
    count = await live_sockets.end_every_sign_in(ctx, principal.tenant.id, principal.user.id)
    actor = Actor.of(principal.user, ip)
    await audit.record(scope, "user.sessions_revoked", actor, target=actor.name, count=count)
    return count


async def change_password(
    ctx: Context, principal: Principal, current: str, new: str, ip: str
) -> None:
    user = principal.user
    passwords.check_policy(new)
    await _recheck_password(ctx, principal, current, ip, "Your current password is not correct.")
    scope = ctx.store.scoped(principal.tenant.id)
    new_hash = await ctx.hashing.hash_async(new)
    await scope.save_user(replace(user, password_hash=new_hash, updated_at=clock.now()))
    # Other browsers signed in with the old password are signed out; this one stays.
    this_browser = await scope.get_auth_session(principal.session_id)
    ended = await scope.delete_user_auth_sessions(user.id)
    if this_browser is not None:
        await scope.create_auth_session(this_browser)
    await live_sockets.signed_out(ctx, principal.tenant.id, user.id, keep=principal.session_id)
    await audit.record(
        scope,
        "user.password_changed",
        Actor.of(user, ip),
        target=user.email,
        other_sessions_ended=max(0, ended - 1),
    )


async def start_totp_enrollment(ctx: Context, principal: Principal, ip: str) -> tuple[str, str]:
    """A new secret awaiting confirmation; returns (secret, otpauth URI)."""
    user = principal.user
    secret = totp.new_secret()
    sealed = ctx.cipher(principal.tenant).seal(secret.encode(), _totp_purpose(user, True))
    scope = ctx.store.scoped(principal.tenant.id)
    await scope.save_user(replace(user, totp_pending=sealed, updated_at=clock.now()))
    await audit.record(scope, "totp.enrollment_started", Actor.of(user, ip), target=user.email)
    return secret, totp.provisioning_uri(secret, user.email)


async def confirm_totp(ctx: Context, principal: Principal, otp: str, ip: str) -> list[str]:
    """Turn on TOTP once the user proves the app has the secret; returns recovery codes."""
    scope = ctx.store.scoped(principal.tenant.id)
    user = await scope.get_user(principal.user.id) or principal.user
    if user.totp_pending is None:
        raise InvalidInput("Start enrolment first.")
    cipher = ctx.cipher(principal.tenant)
    secret = cipher.open(user.totp_pending, _totp_purpose(user, True)).decode()
    step = totp.matching_step(secret, otp, clock.now())
    if step is None:
        raise InvalidOtp("That code is not valid. Check your authenticator app's clock.")
    codes = totp.new_recovery_codes()
    await scope.save_user(
        replace(
            user,
            totp_secret=cipher.seal(secret.encode(), _totp_purpose(user, False)),
            totp_pending=None,
            recovery_codes=tuple(totp.hash_recovery_code(c) for c in codes),
            totp_last_step=step,
            updated_at=clock.now(),
        )
    )
    await audit.record(scope, "totp.enabled", Actor.of(user, ip), target=user.email)
    return codes


async def disable_totp(ctx: Context, principal: Principal, password: str, ip: str) -> None:
    if principal.tenant.require_totp:
        raise Forbidden("Your account requires two-factor authentication.")
    user = principal.user
    await _recheck_password(ctx, principal, password, ip, "Your password is not correct.")
    scope = ctx.store.scoped(principal.tenant.id)
    await scope.save_user(
        replace(
            user, totp_secret=None, totp_pending=None, recovery_codes=(), updated_at=clock.now()
        )
    )
    await audit.record(scope, "totp.disabled", Actor.of(user, ip), target=user.email)
