"""Signalling WebSockets: one per participant, carrying the versioned protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from livelens.services.rooms import Participant, Role, Room
from livelens.services.tasks import spawn
from livelens.signalling.messages import RATE_CLASS, ProtocolError, encode, parse
from livelens.signalling.ratelimit import MessageLimits, TokenBucket

log = logging.getLogger("livelens.signalling")

MAX_BAD_MESSAGES = 10  # per connection; then the connection is cut
REFUSED = 4403  # the page stops reconnecting and shows the error sent before it
SIGNED_OUT = "Your sign-in has ended. Sign in again to continue."


class SignallingSocket(tornado.websocket.WebSocketHandler, BaseHandler):
    role: Role
    room: Room | None = None
    participant: Participant | None = None
    _signed_out = False
    _closed = False

    def check_origin(self, origin: str) -> bool:
        allowed = super().check_origin(origin)
        if not allowed:
            spawn(security.record(self.ctx, "signalling.bad_origin", self.client_ip,
                                         origin=origin[:200]))  # fmt: skip
        return allowed

    # Outgoing messages go through one queue so that they, and a final close, leave in
    # the order the room produced them (an "ended" message must precede the close).
    def send(self, text: str) -> None:
        self._outbox.put_nowait(text)

    def hang_up(self, code: int, reason: str) -> None:
        self._outbox.put_nowait((code, reason))

    async def _pump(self) -> None:
        while True:
            item = await self._outbox.get()
            if isinstance(item, tuple):
                self.close(*item)
                return
            with contextlib.suppress(tornado.websocket.WebSocketClosedError):
                await self.write_message(item)

    async def open(self, *args: Any, **kwargs: Any) -> None:
        # The overall budget is checked before parsing (a flood of garbage costs little);
        # then each class of valid message has its own (see ratelimit.MESSAGE_BUDGETS).
        self._bucket = TokenBucket(capacity=120, refill_per_second=60)
        self._limits = MessageLimits()
        self._throttled: set[str] = set()
        self._bad = 0
        self._outbox: asyncio.Queue[str | tuple[int, str]] = asyncio.Queue()
        self._pumping = asyncio.ensure_future(self._pump())
        self.register()  # before the first await: a sign-out from now on finds this socket
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

    def register(self) -> None:
        """Note who opened this socket (signed-in users only)."""

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

    async def on_message(self, raw: str | bytes) -> None:
        if self.room is None or self.participant is None or self._signed_out:
            return
        if not self._bucket.take(clock.now()):
            await self._throttle("all")  # garbage that gets through is still cut below
            return
        try:
            message = parse(raw, self.role)
        except ProtocolError as exc:
            await self._bad_message(exc.code, exc.message)
            return
        rate_class = RATE_CLASS.get(message.type, "other")
        if not self._limits.allow(rate_class, clock.now()):
            await self._throttle(rate_class)
            return
        self._throttled.difference_update((rate_class, "all"))
        await self.room.handle(self.participant, message)

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
        if self._bad > MAX_BAD_MESSAGES:
            self.hang_up(1008, "too many bad messages")

    def on_close(self) -> None:
        self._closed = True
        self._pumping.cancel()
        live_sockets.closed(self)
        if self.room is not None and self.participant is not None:
            spawn(self.room.detach(self.participant))


class AgentSocket(SignallingSocket):
    role: Role = "agent"
    _expiry: asyncio.TimerHandle | None = None

    def register(self) -> None:
        if self.principal is not None:
            opener = live_sockets.Opener(
                self.principal.tenant.id, self.principal.user.id, self.principal.session_id
            )
            live_sockets.opened(self, opener)

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        (session_id,) = args
        principal = self.require_permission(Permission.RUN_SESSIONS)
        # The cookie was checked before the upgrade; a sign-out since then may have run
        # before this socket was registered, so look at the sign-in once more.
        sign_in = await self.ctx.store.scoped(principal.tenant.id).get_auth_session(
            principal.session_id
        )
        if sign_in is None or sign_in.expires_at <= clock.now():
            raise NotAuthenticated(SIGNED_OUT)
        self._end_with_sign_in(sign_in.expires_at)
        session = await support.get_for_agent(self.ctx, principal, session_id)
        room = await self.rooms.open(session.tenant_id, session.id)
        user = principal.user
        return room, Participant(user.id, "agent", user.shown_name, self.client_ip, self,
                                 actor=Actor.of(user, self.client_ip))  # fmt: skip

    def _end_with_sign_in(self, expires_at: float) -> None:
        """A sign-in that expires takes its sockets with it, as a revoked one does."""
        delay = max(0.0, expires_at - clock.now())
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(delay, lambda: spawn(self.sign_in_ended()))

    def on_close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        super().on_close()


class CustomerSocket(SignallingSocket):
    role: Role = "customer"

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        session = await returning_customer(self)
        room = await self.rooms.open(session.tenant_id, session.id)
        return room, Participant("customer", "customer", "Customer", self.client_ip, self,
                                 actor=Actor("customer", None, self.client_ip))  # fmt: skip


def websocket_routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    return [
        (r"/ws/agent/([0-9a-f]{32})", AgentSocket),
        (r"/ws/customer", CustomerSocket),
    ]
