"""Support sessions: an agent creates one, a customer joins it by link or PIN.

The customer has no account: what identifies them is the join token (or PIN)
and, from the first join on, a secret held by their device.
"""

from __future__ import annotations

from dataclasses import dataclass

from livelens import clock
from livelens.errors import Conflict, InvalidInput, LiveLensError, NotFound, RateLimited
from livelens.identity import emails
from livelens.identity.roles import Permission, can
from livelens.services import audit, security
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.services.rooms import Rooms
from livelens.signalling import join, room_core, state
from livelens.signalling.effects import Who
from livelens.signalling.ratelimit import network_key
from livelens.store.records import SupportSession, User, new_id

MAX_EXPERTS = room_core.MAX_EXPERTS


@dataclass(frozen=True)
class CreatedSession:
    session: SupportSession
    token: str  # shown once, in the join link; only its keyed hash is stored
    pin: str


@dataclass(frozen=True)
class Joined:
    session: SupportSession
    company: str
    agent_name: str  # the agent's display name: customers never see an e-mail address


def _secret(ctx: Context) -> bytes:
    return ctx.derived_secret("join")


def token_hash(ctx: Context, token: str) -> str:
    return join.keyed_hash(_secret(ctx), "token", token)


def device_hash(ctx: Context, device_secret: str) -> str:
    return join.keyed_hash(_secret(ctx), "device", device_secret)


async def create(ctx: Context, principal: Principal, ip: str) -> CreatedSession:
    now = clock.now()
    token = join.new_token()
    for _ in range(10):  # a PIN must name one open session on the whole instance
        pin = join.new_pin()
        pin_hash = join.keyed_hash(_secret(ctx), "pin", pin)
        if await ctx.store.locate_pin(pin_hash) is None:
            break
    else:
        raise LiveLensError("Could not allocate a PIN; try again.")
    session = SupportSession(
        id=new_id(),
        tenant_id=principal.tenant.id,
        agent_id=principal.user.id,
        created_at=now,
        join_expires_at=now + ctx.settings.join_ttl,
        join_token_hash=token_hash(ctx, token),
        pin_hash=pin_hash,
    )
    scope = ctx.store.scoped(principal.tenant.id)
    await scope.create_support_session(session)
    await audit.record(scope, "session.created", Actor.of(principal.user, ip), target=session.id)
    return CreatedSession(session, token, pin)


def may_access(principal: Principal, session: SupportSession) -> bool:
    """Admins see every session of their account; agents their own and those they were
    invited into as experts. (The store already confines everything to one account.)"""
    if session.tenant_id != principal.tenant.id:
        return False
    user = principal.user
    return user.role == "admin" or session.agent_id == user.id or user.id in session.experts


async def get_for_agent(ctx: Context, principal: Principal, session_id: str) -> SupportSession:
    """A session of the principal's account that they may see; 404 otherwise, so nobody
    learns whether another agent's (or account's) session exists."""
    session = await ctx.store.scoped(principal.tenant.id).get_support_session(session_id)
    if session is None or not may_access(principal, session):
        raise NotFound("No such session.")
    return session


async def locate(ctx: Context, *, token: str | None, pin: str | None, ip: str) -> tuple[str, str]:
    """(tenant id, session id) for a join token or PIN; refusals are security events
    (instance-level: a wrong token or PIN names no session, hence no account)."""
    if token is not None:
        # Never rate-limited: a 256-bit token cannot be guessed, and PIN guessers must
        # not keep customers with a link out.
        found = (
            await ctx.store.locate_join_token(token_hash(ctx, token))
            if (join.looks_like_token(token))
            else None
        )
        if found is None:
            await security.record(ctx, "join.bad_token", ip)
            raise NotFound("This link is not valid. Ask your support agent for a new one.")
        return found
    digits = join.normalise_pin(pin or "")
    if digits is None:  # not a guess: nothing to count
        raise InvalidInput(f"Enter the {join.PIN_DIGITS}-digit PIN your support agent gave you.")
    now = clock.now()
    attempt = ctx.join_limits.take(ip, now)
    if isinstance(attempt, int):
        count = ctx.refusals.hit(f"pin/{network_key(ip)}", now)  # a row per burst, not per try
        if count is not None:
            await security.record(ctx, "ratelimit.pin", ip, count=count)
        raise RateLimited(attempt, "PIN attempts")
    found = await ctx.store.locate_pin(join.keyed_hash(_secret(ctx), "pin", digits))
    if found is None:
        await security.record(ctx, "join.bad_pin", ip)
        raise NotFound("That PIN is not valid. Check it with your support agent.")
    ctx.join_limits.give_back(attempt)  # the right PIN is not a guess
    return found


async def customer_join(
    ctx: Context, rooms: Rooms, tenant_id: str, session_id: str, device_secret: str, ip: str,
) -> Joined:  # fmt: skip
    """The customer presented the link's token or the PIN: bind the session to this
    device (or recognise it again) and report who is asking. A command to the
    session's room, which holds the record."""
    scope = ctx.store.scoped(tenant_id)
    who = Who("customer", None, ip)
    try:
        room = await rooms.open(tenant_id, session_id)
        session = await room.bind_customer(device_hash(ctx, device_secret), who)
    except state.SessionEnded as exc:  # a spent link, tried again, or one that expired
        expired = exc.details.get("outcome") == "expired"
        await security.record(ctx, "join.expired" if expired else "join.ended", ip, tenant_id,
                              session=session_id)  # fmt: skip
        if expired:
            raise
        raise state.SessionEnded(
            "This session has ended. Ask your support agent for a new link.",
            outcome=exc.details.get("outcome"),
        ) from None
    except NotFound:
        raise NotFound("This session does not exist.") from None
    except state.DeviceMismatch:
        await security.record(ctx, "join.other_device", ip, tenant_id, session=session_id)
        raise
    tenant = await scope.get_tenant()
    agent = await scope.get_user(session.agent_id)
    return Joined(
        session,
        company=tenant.name if tenant else "",
        agent_name=agent.shown_name if agent else "your support agent",
    )


async def customer_session(
    ctx: Context, tenant_id: str, session_id: str, device_secret: str, ip: str
) -> SupportSession:
    """The session this device was bound to (its join and device cookies), read and
    checked again on every request (the device, the end); nothing is written."""
    session = await ctx.store.scoped(tenant_id).get_support_session(session_id)
    if session is None:
        raise NotFound("This session does not exist.")
    if session.customer_device_hash != device_hash(ctx, device_secret):
        await security.record(ctx, "join.other_device", ip, tenant_id, session=session_id)
        raise state.DeviceMismatch("This link has already been used on another device.")
    if session.status == "ended":
        raise state.ended_error(session)
    return session


async def invite_expert(
    ctx: Context, rooms: Rooms, principal: Principal, session_id: str, email: str, ip: str
) -> tuple[SupportSession, User]:
    """Give another agent of the same account the rights to a running session, so they
    can join it from their own console. Inviting someone twice changes nothing. A
    command to the session's room, which holds the record."""
    session = await get_for_agent(ctx, principal, session_id)
    if session.status == "ended":
        raise Conflict("This session has ended.")
    scope = ctx.store.scoped(principal.tenant.id)
    user = await scope.find_user_by_email(emails.normalise(email))
    if user is None or user.disabled or not can(user.role, Permission.RUN_SESSIONS):
        raise NotFound("There is no active agent with this e-mail address in your account.")
    if user.id == principal.user.id and user.id not in (session.agent_id, *session.experts):
        raise InvalidInput("You are already in this session.")
    room = await rooms.open(session.tenant_id, session.id)
    actor = Actor.of(principal.user, ip)
    updated = await room.invite_expert(user.id, user.email,
                                       Who(actor.name, actor.user_id, actor.ip))  # fmt: skip
    return updated, user
