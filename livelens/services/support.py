"""Support sessions: an agent creates one, a customer joins it by link or PIN.

The customer has no account: what identifies them is the join token (or PIN)
and, from the first join on, a secret held by their device. While nobody has joined,
the agent may give the session a new link and PIN, which end the old ones at once.

A session may name its customer and the case it is about, as the agent typed them.
The customer's name is personal data: the record keeps it sealed with the session's
own data key (services.session_keys; the account's for older sessions), bound to the
session (``session/<id>/customer_name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from livelens import clock
from livelens.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LiveLensError,
    NotFound,
    RateLimited,
)
from livelens.identity import emails
from livelens.identity.roles import Permission, can
from livelens.services import account_policy, audit, security, session_keys, subscription
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.services.rooms import Rooms
from livelens.signalling import join, recording, room_core, session_policy, state
from livelens.signalling.effects import Who
from livelens.signalling.ratelimit import network_key
from livelens.store.records import SupportSession, Tenant, User, new_id

MAX_EXPERTS = room_core.MAX_EXPERTS
MAX_CASE_TEXT = 100  # characters of a customer name or a case reference

# What a customer name or case reference may not contain: control characters (line
# breaks and tabs among them), line and paragraph separators, and the bidirectional
# embeddings, overrides and isolates, which can make a text read otherwise than it was
# typed. Other format characters stay: zero-width (non-)joiners belong to many names.
_REFUSED = ((0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x202E), (0x2066, 0x2069), (0xD800, 0xDFFF))
# What is trimmed around them: the space separators (Unicode's other white space is
# refused above).
_SPACES = ((0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x202F, 0x202F),
           (0x205F, 0x205F), (0x3000, 0x3000))  # fmt: skip
SPACES = "".join(chr(c) for lo, hi in _SPACES for c in range(lo, hi + 1))


def _char_class(ranges: tuple[tuple[int, int], ...], negated: bool = False) -> str:
    spans = "".join(rf"\u{lo:04x}" + (rf"-\u{hi:04x}" if hi > lo else "") for lo, hi in ranges)
    return f"[{'^' if negated else ''}{spans}]"


# The same rule as a JSON Schema pattern, for the API's description: trimmed, at most
# MAX_CASE_TEXT characters are left. (Lone surrogates, which no JSON text should carry
# and no schema validator can name, are left out of it: the server refuses them all the
# same.)
CASE_TEXT_PATTERN = "^{s}*{t}{{0,{n}}}{s}*$".format(
    s=_char_class(_SPACES),
    t=_char_class(_REFUSED[:-1], negated=True),
    n=MAX_CASE_TEXT,
)


def case_text(value: str, what: str) -> str | None:
    """A customer name or case reference (``what``) as the agent typed it: no control
    characters, surrounding spaces trimmed, at most MAX_CASE_TEXT characters left; None
    when nothing is."""
    if any(lo <= ord(c) <= hi for c in value for lo, hi in _REFUSED):
        raise InvalidInput(f"The {what} cannot contain line breaks, tabs or other control "
                           "characters.")  # fmt: skip
    text = value.strip(SPACES)
    if len(text) > MAX_CASE_TEXT:
        raise InvalidInput(f"The {what} can have at most {MAX_CASE_TEXT} characters.")
    return text or None


@dataclass(frozen=True)
class Invitation:
    """A session with its join link's token and its PIN, as the agent is given them:
    once, when the session is created or given a new link (the store keeps their keyed
    hashes only)."""

    session: SupportSession
    token: str  # goes in the join link
    pin: str | None  # None where the account's policy turned PIN joining off
    customer_name: str | None  # the session's, opened


class Located(NamedTuple):
    """The session a join token or PIN names, and the keyed hash that named it."""

    tenant_id: str
    session_id: str
    by: Literal["token", "pin"]
    credential: str


@dataclass(frozen=True)
class _Link:
    token: str
    token_hash: str
    pin: str | None
    pin_hash: str | None


@dataclass(frozen=True)
class Joined:
    session: SupportSession
    company: str
    agent_name: str  # the agent's display name: customers never see an e-mail address

    @property
    def policy(self) -> dict[str, bool]:
        """What the customer's page leaves out (signalling.session_policy)."""
        return session_policy.view(self.session)


def _secret(ctx: Context) -> bytes:
    return ctx.derived_secret("join")


def token_hash(ctx: Context, token: str) -> str:
    return join.keyed_hash(_secret(ctx), "token", token)


def device_hash(ctx: Context, device_secret: str) -> str:
    return join.keyed_hash(_secret(ctx), "device", device_secret)


def pin_hash(ctx: Context, pin: str) -> str:
    return join.keyed_hash(_secret(ctx), "pin", pin)


class PinJoiningOff(Forbidden, code="pin_joining_off"):
    """The account's policy turned PIN joining off after this PIN was given out."""


async def _new_link(ctx: Context, tenant: Tenant) -> _Link:
    """A new join token and, where the account's policy allows PINs, a PIN."""
    token = join.new_token()
    if not tenant.pin_joining:
        return _Link(token, token_hash(ctx, token), None, None)
    for _ in range(10):  # a PIN must name one open session on the whole instance
        pin = join.new_pin()
        if await ctx.store.locate_pin(pin_hash(ctx, pin)) is None:
            return _Link(token, token_hash(ctx, token), pin, pin_hash(ctx, pin))
    raise LiveLensError("Could not allocate a PIN; try again.")


def _name_purpose(session_id: str) -> str:
    return f"session/{session_id}/customer_name"


async def customer_name(ctx: Context, session: SupportSession) -> str | None:
    """The name of the session's customer, opened; None if the agent gave none."""
    if session.customer_name is None:
        return None
    try:
        cipher = await session_keys.cipher_for(ctx, session)
    except session_keys.ContentDeleted:  # being deleted right now
        return None
    return cipher.open(session.customer_name, _name_purpose(session.id)).decode()


async def create(
    ctx: Context, principal: Principal, ip: str, *, customer: str = "", reference: str = "",
    record: bool | None = None,
) -> Invitation:  # fmt: skip
    """A new session of the principal's, waiting for its customer; ``customer`` and
    ``reference``: the customer's name and the case, as typed (see case_text);
    ``record``: the agent's choice where the account's policy leaves recording to them
    (signalling.recording.decide; None: not given)."""
    name, case = case_text(customer, "customer name"), case_text(reference, "reference")
    tenant = principal.tenant
    recorded = recording.decide(tenant.recording, record)
    subscription.require_active(tenant)
    now = clock.now()
    link = await _new_link(ctx, tenant)
    session_id = new_id()
    # The session's own key first: everything it will hold is sealed with it.
    cipher = await session_keys.create(ctx, tenant, session_id)
    sealed = None
    if name is not None:
        sealed = cipher.seal(name.encode(), _name_purpose(session_id))
    session = SupportSession(
        id=session_id,
        tenant_id=principal.tenant.id,
        agent_id=principal.user.id,
        created_at=now,
        join_expires_at=now + account_policy.join_ttl(tenant),
        join_token_hash=link.token_hash,
        pin_hash=link.pin_hash,
        customer_name=sealed,
        reference=case,
        # The policy the session runs with, from start to end (signalling.session_policy).
        tools_off=session_policy.tools_off(tenant),
        rating_on=tenant.customer_rating,
        recording=recorded,
        own_key=True,
    )
    scope = ctx.store.scoped(principal.tenant.id)
    await scope.create_support_session(session)
    await audit.record(scope, "session.created", Actor.of(principal.user, ip), target=session.id,
                       recording=recorded)  # fmt: skip
    return Invitation(session, link.token, link.pin, name)


def may_renew_link(principal: Principal, session: SupportSession) -> bool:
    """The agent who started the session hands out its link, and an administrator of the
    account may stand in for them; invited experts may not."""
    return may_access(principal, session) and (
        principal.user.role == "admin" or session.agent_id == principal.user.id
    )


async def renew_link(
    ctx: Context, rooms: Rooms, principal: Principal, session_id: str, ip: str
) -> Invitation:
    """A new join link and PIN for a session still waiting for its customer, usable
    for the join TTL from now; the old ones stop working with this change. A command to
    the session's room, which holds the record."""
    session = await get_for_agent(ctx, principal, session_id)
    if not may_renew_link(principal, session):
        raise Forbidden(
            "Only the agent who started this session, or an administrator, can send a new link."
        )
    subscription.require_active(principal.tenant)
    link = await _new_link(ctx, principal.tenant)
    ttl = account_policy.join_ttl(principal.tenant)
    actor = Actor.of(principal.user, ip)
    try:
        room = await rooms.open(session.tenant_id, session.id)
        renewed = await room.renew_link(link.token_hash, link.pin_hash, ttl,
                                        Who(actor.name, actor.user_id, actor.ip))  # fmt: skip
    except state.SessionEnded as exc:  # in the agent's words, not the customer's
        outcome = exc.details.get("outcome")
        why = " when its link expired" if outcome == "expired" else ""
        raise state.SessionEnded(
            f"This session ended{why}; start a new session instead.", outcome=outcome
        ) from None
    return Invitation(renewed, link.token, link.pin, await customer_name(ctx, renewed))


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


async def _refuse(ctx: Context, by: Literal["token", "pin"], ip: str) -> NotFound:
    """The refusal of a token or PIN that names no session (any more): a security event
    (instance-level: it names no session, hence no account)."""
    await security.record(ctx, f"join.bad_{by}", ip)
    if by == "token":
        return NotFound("This link is not valid. Ask your support agent for a new one.")
    return NotFound("That PIN is not valid. Check it with your support agent.")


async def locate(ctx: Context, *, token: str | None, pin: str | None, ip: str) -> Located:
    """The session a join token or PIN names; refusals are security events."""
    if token is not None:
        # Never rate-limited: a 256-bit token cannot be guessed, and PIN guessers must
        # not keep customers with a link out.
        hashed = token_hash(ctx, token)
        found = await ctx.store.locate_join_token(hashed) if join.looks_like_token(token) else None
        if found is None:
            raise await _refuse(ctx, "token", ip)
        return Located(*found, "token", hashed)
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
    hashed = pin_hash(ctx, digits)
    found = await ctx.store.locate_pin(hashed)
    if found is None:
        raise await _refuse(ctx, "pin", ip)
    ctx.join_limits.give_back(attempt)  # the right PIN is not a guess
    return Located(*found, "pin", hashed)


async def customer_join(
    ctx: Context, rooms: Rooms, found: Located, device_secret: str, ip: str
) -> Joined:
    """The customer presented the link's token or the PIN (``found`` by :func:`locate`):
    bind the session to this device (or recognise it again) and report who is asking.
    A command to the session's room, which holds the record, and checks that what the
    customer presented is still the session's (no new link replaced it meanwhile)."""
    tenant_id, session_id = found.tenant_id, found.session_id
    scope = ctx.store.scoped(tenant_id)
    tenant = await scope.get_tenant()
    if found.by == "pin" and tenant is not None and not tenant.pin_joining:
        # Turned off after this PIN was given out: from then on, only links.
        raise PinJoiningOff("This support team no longer takes PINs. Open the link your "
                            "support agent sent you, or ask them for one.")  # fmt: skip
    who = Who("customer", None, ip)
    try:
        room = await rooms.open(tenant_id, session_id)
        session = await room.bind_customer(device_hash(ctx, device_secret), found.credential,
                                           who)  # fmt: skip
    except room_core.StaleCredential:
        raise await _refuse(ctx, found.by, ip) from None
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
    agent = await scope.get_user(session.agent_id)
    return Joined(
        session,
        company=tenant.name if tenant else "",
        agent_name=agent.shown_name if agent else "your support agent",
    )


async def customer_session(
    ctx: Context, tenant_id: str, session_id: str, device_secret: str, ip: str,
    *, ended: bool = False,
) -> SupportSession:  # fmt: skip
    """The session this device was bound to (its join and device cookies), read and
    checked again on every request (the device, and the end unless ``ended``: what
    comes after it, the customer's rating); nothing is written."""
    session = await ctx.store.scoped(tenant_id).get_support_session(session_id)
    if session is None:
        raise NotFound("This session does not exist.")
    if session.customer_device_hash != device_hash(ctx, device_secret):
        await security.record(ctx, "join.other_device", ip, tenant_id, session=session_id)
        raise state.DeviceMismatch("This link has already been used on another device.")
    if session.status == "ended" and not ended:
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
