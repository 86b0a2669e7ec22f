"""Signalling WebSockets: one per participant, carrying the versioned protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

import tornado.web
import tornado.websocket

from livelens import clock
from livelens.errors import LiveLensError, NotAuthenticated
from livelens.http.base import BaseHandler
from livelens.http.sessions_api import returning_customer
from livelens.identity.roles import Permission
from livelens.services import live_sockets, security, support
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.rooms import Participant, Role, Room
from livelens.services.tasks import spawn
from livelens.signalling.messages import RATE_CLASS, ProtocolError, encode, parse
from livelens.signalling.ratelimit import MessageLimits, TokenBucket

log = logging.getLogger("livelens.signalling")

MAX_BAD_MESSAGES = 10  # per connection; then the connection is cut
REFUSED = 4403  # the page stops reconnecting and shows the error sent before it
SIGNED_OUT = "Your sign-in has ended. Sign in again to continue."


class BrowserSocket(tornado.websocket.WebSocketHandler, BaseHandler):
    """A WebSocket from one of our pages: a foreign origin is refused and logged; a
    signed-in user's socket ends when their sign-in does."""

    _expiry: asyncio.TimerHandle | None = None

    def check_origin(self, origin: str) -> bool:
        allowed = super().check_origin(origin)
        if not allowed:
            spawn(security.record(self.ctx, "signalling.bad_origin", self.client_ip,
                                         origin=origin[:200]))  # fmt: skip
        return allowed

    async def signed_in(self, permission: Permission) -> Principal:
        """The signed-in user, if their sign-in still stands. The cookie was checked
        before the upgrade; a sign-out since then may have run before this socket was
        registered, so the sign-in is looked at once more. When it expires, the socket
        ends as a revoked one does."""
        principal = self.require_permission(permission)
        scope = self.ctx.store.scoped(principal.tenant.id)
        sign_in = await scope.get_auth_session(principal.session_id)
        if sign_in is None or sign_in.expires_at <= clock.now():
            raise NotAuthenticated(SIGNED_OUT)
        delay = max(0.0, sign_in.expires_at - clock.now())
        self._expiry = asyncio.get_running_loop().call_later(
            delay, lambda: spawn(self.sign_in_ended())
        )
        return principal

    def register(self, session_id: str | None) -> None:
        """Note who opened this socket (signed-in users only), so that signing out closes
        it; ``session_id``: the live session it is for (None: the console's feed)."""
        if self.principal is not None:
            principal = self.principal
            opener = live_sockets.Opener(principal.tenant.id, principal.user.id,
                                         principal.session_id, session_id)  # fmt: skip
            live_sockets.opened(self, opener)

    # Outgoing messages, and a final close, leave in the order they were produced (an
    # "ended" message must precede the close): each is handed to the connection's stream
    # at once, which writes in order, and nobody waits for it to go out. Why not a queue
    # drained by a task that awaited each write (as before): that was a queue wake-up
    # and two more passes of the task per message sent (issue 16's profile), and it
    # bounded nothing, since the queue grew as the stream's buffer now does.
    def send(self, text: str) -> None:
        """Queue a message to the page; a socket already closing drops it."""
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            self.write_message(text).add_done_callback(_written)

    def hang_up(self, code: int, reason: str) -> None:
        self.close(code, reason)  # after what was sent: see send

    async def sign_in_ended(self) -> None:
        raise NotImplementedError

    def on_close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        live_sockets.closed(self)


class SignallingSocket(BrowserSocket):
    role: Role
    room: Room | None = None
    participant: Participant | None = None
    _signed_out = False
    _closed = False

    async def open(self, *args: Any, **kwargs: Any) -> None:
        # The overall budget is checked before parsing (a flood of garbage costs little);
        # then each class of valid message has its own (see ratelimit.MESSAGE_BUDGETS).
        self._bucket = TokenBucket(capacity=120, refill_per_second=60)
        self._limits = MessageLimits()
        self._throttled: set[str] = set()
        self._bad = 0
        # Before the first await: a sign-out from now on finds this socket.
        if self.role == "agent":
            self.register(*args)
        try:
            room, participant = await self.enter(*args)
            await room.attach(participant)
        except LiveLensError as exc:
            self.send(encode("error", code=exc.code, message=exc.message))
            self.hang_up(REFUSED, exc.code)
            return
        self.room, self.participant = room, participant
        if self._signed_out:  # signed out while entering
            await room.remove(participant, REFUSED, "signed out")
        elif self._closed:  # the page went away while entering
            await room.detach(participant)

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        raise NotImplementedError

    async def sign_in_ended(self) -> None:
        if self._signed_out:
            return
        self._signed_out = True
        self.send(encode("error", code=NotAuthenticated.code, message=SIGNED_OUT))
        if self.room is not None and self.participant is not None:
            await self.room.remove(self.participant, REFUSED, "signed out")
        else:
            self.hang_up(REFUSED, "signed out")

    def on_message(self, raw: str | bytes) -> Awaitable[None] | None:
        """A message from the page. Returns what is left to await (Tornado reads the
        socket's next message after it), or None when it was carried out already: the
        common message never becomes a task (see Room.handle)."""
        if self.room is None or self.participant is None or self._signed_out:
            return None
        now = clock.now()
        if not self._bucket.take(now):
            return self._throttle("all")  # garbage that gets through is still cut below
        try:
            message = parse(raw, self.role)
        except ProtocolError as exc:
            return self._bad_message(exc.code, exc.message)
        rate_class = RATE_CLASS.get(message.type, "other")
        if not self._limits.allow(rate_class, now):
            return self._throttle(rate_class)
        self._throttled.difference_update((rate_class, "all"))
        return self.room.handle(self.participant, message)

    async def _throttle(self, rate_class: str) -> None:
        """Drop a message over budget. A burst of valid messages (a long stroke) is not
        misbehaviour worth cutting the connection for; it is reported once per burst."""
        if rate_class in self._throttled:
            return
        self._throttled.add(rate_class)
        tenant = self.room.tenant_id if self.room else None
        await security.record(self.ctx, "ratelimit.signalling", self.client_ip, tenant,
                              code="throttled", role=self.role, what=rate_class)  # fmt: skip
        what = "" if rate_class == "all" else f"{rate_class} "
        text = f"Too many {what}messages; some were dropped."
        self.send(encode("error", code="rate_limited", message=text))

    async def _bad_message(self, code: str, message: str) -> None:
        self._bad += 1
        kind = "ratelimit.signalling" if code == "rate_limited" else "signalling.malformed"
        tenant = self.room.tenant_id if self.room else None
        await security.record(self.ctx, kind, self.client_ip, tenant, code=code,
                                     role=self.role)  # fmt: skip
        self.send(encode("error", code=code, message=message))
        if self._bad == MAX_BAD_MESSAGES + 1:  # a flood: an alert (alert_rules), once
            await security.record(self.ctx, "signalling.flood", self.client_ip, tenant,
                                  role=self.role, bad_messages=self._bad)  # fmt: skip
        if self._bad > MAX_BAD_MESSAGES:
            self.hang_up(1008, "too many bad messages")

    def on_close(self) -> None:
        super().on_close()
        self._closed = True
        if self.room is not None and self.participant is not None:
            spawn(self.room.detach(self.participant))


class AgentSocket(SignallingSocket):
    role: Role = "agent"

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        (session_id,) = args
        principal = await self.signed_in(Permission.RUN_SESSIONS)
        session = await support.get_for_agent(self.ctx, principal, session_id)
        room = await self.rooms.open(session.tenant_id, session.id)
        user = principal.user
        return room, Participant(user.id, "agent", user.shown_name, self.client_ip, self,
                                 actor=Actor.of(user, self.client_ip))  # fmt: skip


class CustomerSocket(SignallingSocket):
    role: Role = "customer"

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        session = await returning_customer(self)
        room = await self.rooms.open(session.tenant_id, session.id)
        return room, Participant("customer", "customer", "Customer", self.client_ip, self,
                                 actor=Actor("customer", None, self.client_ip))  # fmt: skip


class ConsoleSocket(BrowserSocket):
    """The console's feed: events for the signed-in agent outside any session (an
    invitation to a session). Having it open is what makes an agent *online*."""

    async def open(self, *args: Any, **kwargs: Any) -> None:
        self.register(None)  # before the first await, as a session's socket does
        try:
            await self.signed_in(Permission.RUN_SESSIONS)
        except LiveLensError as exc:
            self.refuse(exc.code, exc.message)
            return
        self.send(encode("ready"))  # registered and listening

    def refuse(self, code: str, message: str) -> None:
        self.send(encode("error", code=code, message=message))
        self.hang_up(REFUSED, code)

    async def sign_in_ended(self) -> None:
        self.refuse(NotAuthenticated.code, SIGNED_OUT)

    def on_message(self, message: str | bytes) -> None:
        """The feed only speaks; what a page sends is ignored."""


def _written(write: asyncio.Future[None]) -> None:
    """A write nobody awaits: a connection that closed before it went out is no error."""
    if not write.cancelled():
        write.exception()


def websocket_routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    return [
        (r"/ws/agent/([0-9a-f]{32})", AgentSocket),
        (r"/ws/customer", CustomerSocket),
        (r"/ws/console", ConsoleSocket),
    ]
