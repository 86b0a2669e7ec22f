"""Signalling WebSockets: one per participant, carrying the versioned protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import tornado.web
import tornado.websocket

from livelens import clock
from livelens.errors import LiveLensError
from livelens.http.base import BaseHandler
from livelens.http.sessions_api import returning_customer
from livelens.identity.roles import Permission
from livelens.services import security, support
from livelens.services.rooms import Participant, Role, Room, spawn
from livelens.signalling.messages import RATE_CLASS, ProtocolError, encode, parse
from livelens.signalling.ratelimit import MessageLimits, TokenBucket

log = logging.getLogger("livelens.signalling")

MAX_BAD_MESSAGES = 10  # per connection; then the connection is cut


class SignallingSocket(tornado.websocket.WebSocketHandler, BaseHandler):
    role: Role
    room: Room | None = None
    participant: Participant | None = None

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
        try:
            self.room, self.participant = await self.enter(*args)
            await self.room.attach(self.participant)
        except LiveLensError as exc:
            self.send(encode("error", code=exc.code, message=exc.message))
            self.hang_up(4403, exc.code)

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        raise NotImplementedError

    async def on_message(self, raw: str | bytes) -> None:
        if self.room is None or self.participant is None:
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
        tenant = self.room.session.tenant_id if self.room else None
        await security.record(self.ctx, "ratelimit.signalling", self.client_ip, tenant,
                              code="throttled", role=self.role, what=rate_class)  # fmt: skip
        what = "" if rate_class == "all" else f"{rate_class} "
        text = f"Too many {what}messages; some were dropped."
        self.send(encode("error", code="rate_limited", message=text))

    async def _bad_message(self, code: str, message: str) -> None:
        self._bad += 1
        kind = "ratelimit.signalling" if code == "rate_limited" else "signalling.malformed"
        tenant = self.room.session.tenant_id if self.room else None
        await security.record(self.ctx, kind, self.client_ip, tenant, code=code,
                                     role=self.role)  # fmt: skip
        self.send(encode("error", code=code, message=message))
        if self._bad > MAX_BAD_MESSAGES:
            self.hang_up(1008, "too many bad messages")

    def on_close(self) -> None:
        self._pumping.cancel()
        if self.room is not None and self.participant is not None:
            spawn(self.room.detach(self.participant))


class AgentSocket(SignallingSocket):
    role: Role = "agent"

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        (session_id,) = args
        principal = self.require_permission(Permission.RUN_SESSIONS)
        session = await support.get_for_agent(self.ctx, principal, session_id)
        room = await self.rooms.open(session.tenant_id, session.id)
        return room, Participant(principal.user.id, "agent", principal.user.email,
                                 self.client_ip, self)  # fmt: skip


class CustomerSocket(SignallingSocket):
    role: Role = "customer"

    async def enter(self, *args: str) -> tuple[Room, Participant]:
        joined = await returning_customer(self)
        self.rooms.customer_joined(joined.session)
        room = await self.rooms.open(joined.session.tenant_id, joined.session.id)
        return room, Participant("customer", "customer", "Customer", self.client_ip, self)


def websocket_routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    return [
        (r"/ws/agent/([0-9a-f]{32})", AgentSocket),
        (r"/ws/customer", CustomerSocket),
    ]
