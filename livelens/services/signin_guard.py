"""The sign-in guard: every password or code check is paid for before it is made.

Two budgets are taken before an Argon2 verification runs: one from the client
address (and the instance), kept in memory, and a ticket on the e-mail address,
kept in the store so that every node shares it (see identity.lockout). Refusals of
a locked address or an exhausted budget are counted in memory and logged once per
burst, off the answer's path: a locked address answers in the same time whether
or not an account has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from livelens import clock
from livelens.errors import AccountLocked, RateLimited, StoreUnavailable
from livelens.identity import lockout
from livelens.services import audit, security
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.services.tasks import spawn
from livelens.store.records import LoginTicket

# Each try either takes a ticket, finds the address locked, or moves a finished round
# on; only a burst of racing requests makes it go round again. Bounds a bug.
MAX_TRIES = 50


@dataclass(frozen=True)
class Attempt:
    """A reserved check of one user's password or code."""

    ticket: LoginTicket
    address: str  # the normalised e-mail address (for the logs, never stored here)
    ip: str


async def reserve(ctx: Context, address: str, ip: str) -> Attempt:
    """Pay for one check on ``address`` from ``ip``, or raise RateLimited/AccountLocked."""
    now = clock.now()
    wait = ctx.signin_limits.take(ip, now)
    if wait:
        _report_burst(ctx, f"ip/{ip}", "ratelimit.signin", ip, None)
        raise RateLimited(wait, "sign-in attempts from your network")
    key = _key(ctx, address)
    for _ in range(MAX_TRIES):
        state = lockout.round_state(await ctx.store.login_tickets(key))
        locked_for = state.seconds_locked(now)
        if locked_for:
            ctx.signin_limits.give_back(ip)  # refused unchecked: costs no verification
            _report_burst(ctx, f"key/{key}", "auth.locked_attempt", ip, address)
            raise AccountLocked(locked_for)
        if state.is_over(now):
            await ctx.store.open_login_round(key, state.round + 1, now)
            continue
        for number in state.free:
            ticket = LoginTicket(key, state.round, number, now)
            if await ctx.store.take_login_ticket(ticket):
                return Attempt(ticket, address, ip)
    raise StoreUnavailable("Could not reserve a sign-in attempt: too much contention.")


async def succeeded(ctx: Context, attempt: Attempt) -> None:
    """The check passed: the count starts again, and the address budget is returned."""
    ticket = attempt.ticket
    await ctx.store.open_login_round(ticket.key, ticket.round + 1, clock.now())
    ctx.signin_limits.give_back(attempt.ip)


async def give_back(ctx: Context, attempt: Attempt) -> None:
    """The attempt does not count (a right password still waiting for its code)."""
    await ctx.store.return_login_ticket(attempt.ticket)
    ctx.signin_limits.give_back(attempt.ip)


def locks(attempt: Attempt) -> bool:
    """Whether this attempt failing leaves the address locked."""
    return lockout.is_last(attempt.ticket)


def _key(ctx: Context, address: str) -> str:
    return lockout.guard_key(address, ctx.derived_secret("login-guard"))


def _report_burst(ctx: Context, burst: str, kind: str, ip: str, address: str | None) -> None:
    count = ctx.refusals.hit(burst, clock.now())
    if count is not None:
        spawn(_write_refusal(ctx, kind, ip, address, count))


async def _write_refusal(ctx: Context, kind: str, ip: str, address: str | None, count: int) -> None:
    tenant_id = await ctx.store.locate_email(address) if address else None
    await security.record(ctx, kind, ip, tenant_id, attempts=count)
    if tenant_id is not None and address is not None:
        scope = ctx.store.scoped(tenant_id)
        user = await scope.find_user_by_email(address)
        actor = Actor(address, user.id if user else None, ip)
        await audit.record(scope, "auth.login_refused_locked", actor, target=address,
                           attempts=count)  # fmt: skip


async def seconds_locked(ctx: Context, address: str) -> int:
    """How long ``address`` stays locked (0: it is not), for an administrator's view."""
    state = lockout.round_state(await ctx.store.login_tickets(_key(ctx, address)))
    return state.seconds_locked(clock.now())


async def lift(ctx: Context, address: str) -> None:
    """End a lockout and the count on ``address`` (an administrator's Unlock, a password
    reset, the operator's `livelens user unlock`)."""
    key = _key(ctx, address)
    state = lockout.round_state(await ctx.store.login_tickets(key))
    await ctx.store.open_login_round(key, state.round + 1, clock.now())
