"""Live rooms: the running side of a support session on this node.

A room holds the participants' signalling connections, applies their messages to
the session state machine, stores the result, tells everyone what changed, and
drives the media hub (including its consent gate). One lock per room keeps the
order of events the order in which they were received.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Literal, Protocol

from livelens import clock
from livelens.errors import Conflict, LiveLensError, NotFound
from livelens.services import audit
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.signalling import state
from livelens.signalling.messages import Message, encode
from livelens.store.records import Outcome, SupportSession
from livelens.store.repository import TenantStore

log = logging.getLogger("livelens.rooms")

_background: set[asyncio.Task[None]] = set()


def spawn(coro: Coroutine[object, object, None]) -> None:
    """Run ``coro`` from a sync callback, keeping a reference until it is done."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("room task failed", exc_info=task.exception())


Role = Literal["agent", "customer"]


class MediaHubLike(Protocol):
    async def connect(self, session_id: str, participant_id: str, role: Role,
                      offer_sdp: str) -> str: ...  # fmt: skip
    def set_media_allowed(self, session_id: str, allowed: bool) -> None: ...
    def on_state(self, callback: Callable[[str, str, str], None]) -> None: ...
    async def disconnect(self, session_id: str, participant_id: str) -> None: ...
    async def end_session(self, session_id: str) -> None: ...


class Connection(Protocol):
    """A participant's signalling channel (a WebSocket in production)."""

    def send(self, text: str) -> None: ...
    def hang_up(self, code: int, reason: str) -> None:
        """Close after everything sent so far has gone out."""
        ...


@dataclass
class Participant:
    id: str
    role: Role
    name: str
    ip: str
    connection: Connection
    media: str = "new"  # connecting, connected, failed, closed
    muted: bool = False
    video: bool = True


class Room:
    def __init__(self, ctx: Context, hub: MediaHubLike, session: SupportSession,
                 on_empty: Callable[[Room], None]) -> None:  # fmt: skip
        self.ctx, self.hub, self.session = ctx, hub, session
        self.participants: dict[str, Participant] = {}
        self._lock = asyncio.Lock()
        self._drop_timers: dict[str, asyncio.TimerHandle] = {}
        self._expiry: asyncio.TimerHandle | None = None
        self._on_empty = on_empty
        self._schedule_expiry()

    # -- participants -------------------------------------------------------

    async def attach(self, participant: Participant) -> None:
        async with self._lock:
            if self.session.status == "ended":
                raise state.SessionEnded("This session has ended.")
            previous = [p for p in self.participants.values()
                        if p.role == participant.role and p.id == participant.id]  # fmt: skip
            for old in previous:  # the same participant reconnecting replaces its channel
                old.connection.hang_up(4000, "replaced by a new connection")
            self.participants[participant.id] = participant
            timer = self._drop_timers.pop(participant.id, None)
            if timer:
                timer.cancel()
            self._broadcast_state()

    async def detach(self, participant: Participant) -> None:
        async with self._lock:
            current = self.participants.get(participant.id)
            if current is not participant:
                return  # already replaced by a newer connection
            del self.participants[participant.id]
            if self.session.status != "ended":
                loop = asyncio.get_running_loop()
                self._drop_timers[participant.id] = loop.call_later(
                    self.ctx.settings.rejoin_grace,
                    lambda: spawn(self._dropped(participant)),
                )
                self._broadcast_state()
        if not self.participants and self.session.status == "ended":
            self._on_empty(self)

    def customer_joined(self, session: SupportSession) -> None:
        """The customer bound a device outside the room (the join API): adopt the newer
        record so the room's state machine and everyone in the room see the join."""
        if self.session.status == "waiting" and session.status == "joined":
            self.session = session
            if self._expiry:
                self._expiry.cancel()
            self._broadcast_state()

    async def _dropped(self, participant: Participant) -> None:
        if participant.id in self.participants:
            return
        await self.end(Actor("system"), "system", "dropped")

    # -- messages -----------------------------------------------------------

    async def handle(self, participant: Participant, message: Message) -> None:
        try:
            await self._handle(participant, message)
        except LiveLensError as exc:
            participant.connection.send(encode("error", code=exc.code, message=exc.message))

    async def _handle(self, p: Participant, message: Message) -> None:
        match message.type:
            case "ping":
                p.connection.send(encode("pong"))
            case "offer":
                if p.role == "customer" and not state.media_allowed(self.session):
                    raise Conflict("Consent is needed before the camera can be shared.")
                if self.session.status == "ended":
                    raise state.SessionEnded("This session has ended.")
                answer = await self.hub.connect(self.session.id, p.id, p.role, message.text("sdp"))
                p.connection.send(encode("answer", sdp=answer))
            case "consent":
                await self._consent(p, message.flag("accept"), message.texts("scopes"))
            case "media_state":
                p.muted, p.video = message.flag("muted"), message.flag("video", True)
                self._broadcast_state()
            case "end":
                outcome: Outcome = "completed"
                await self.end(Actor(p.name, None, p.ip), p.role, outcome)

    async def _consent(self, p: Participant, accept: bool, scopes: tuple[str, ...]) -> None:
        now = clock.now()
        actor = Actor("customer", None, p.ip)
        if not accept:
            await self._apply(state.ConsentDeclined(now))
            await audit.record(self._scope(), "session.consent_declined", actor,
                               target=self.session.id)  # fmt: skip
            await self._finish()
            return
        await self._apply(state.ConsentGiven(scopes or state.CONSENT_SCOPES, now))
        await audit.record(self._scope(), "session.consent_given", actor, target=self.session.id,
                           scopes=",".join(self.session.consent_scopes))  # fmt: skip
        self.hub.set_media_allowed(self.session.id, True)
        self._broadcast_state()

    # -- media --------------------------------------------------------------

    async def media_state(self, participant_id: str, media: str) -> None:
        p = self.participants.get(participant_id)
        if p is not None:
            p.media = media
        if media == "connected" and self.session.status == "consented" and self._both_connected():
            await self._apply(state.MediaConnected(clock.now()))
        self._broadcast_state()

    def _both_connected(self) -> bool:
        roles = {p.role for p in self.participants.values() if p.media == "connected"}
        return roles == {"agent", "customer"}

    # -- ending -------------------------------------------------------------

    async def end(self, actor: Actor, by: str, outcome: Outcome) -> None:
        if self.session.status == "ended":
            return
        was = self.session.status
        await self._apply(state.Ended(by, outcome, clock.now()))
        scope = self._scope()
        if was in ("consented", "live") and by == "customer":
            await audit.record(scope, "session.consent_withdrawn", actor, target=self.session.id)
        await audit.record(scope, "session.ended", actor, target=self.session.id,
                           outcome=outcome, by=by)  # fmt: skip
        await self._finish()

    async def _finish(self) -> None:
        self.hub.set_media_allowed(self.session.id, False)
        self._broadcast(encode("ended", outcome=self.session.outcome, by=self.session.ended_by))
        for timer in self._drop_timers.values():
            timer.cancel()
        if self._expiry:
            self._expiry.cancel()
        await self.hub.end_session(self.session.id)
        for p in list(self.participants.values()):
            p.connection.hang_up(1000, "session ended")
        self._on_empty(self)

    def _schedule_expiry(self) -> None:
        if self.session.status != "waiting":
            return
        delay = max(0.0, self.session.join_expires_at - clock.now())
        loop = asyncio.get_event_loop()
        self._expiry = loop.call_later(delay, lambda: spawn(self._expire()))

    async def _expire(self) -> None:
        fresh = await self._scope().get_support_session(self.session.id)
        if fresh is not None:
            self.session = fresh
        if state.is_expired(self.session, clock.now()):
            await self.end(Actor("system"), "system", "expired")

    # -- helpers ------------------------------------------------------------

    def _scope(self) -> TenantStore:
        return self.ctx.store.scoped(self.session.tenant_id)

    async def _apply(self, event: state.Event) -> None:
        updated = state.apply(self.session, event)
        if updated != self.session:
            await self._scope().save_support_session(updated)
            self.session = updated

    def snapshot(self) -> dict[str, object]:
        return {
            "session_id": self.session.id,
            "status": self.session.status,
            "outcome": self.session.outcome,
            "participants": [
                {"id": p.id, "role": p.role, "name": p.name, "media": p.media,
                 "muted": p.muted, "video": p.video}
                for p in self.participants.values()
            ],
        }  # fmt: skip

    def _broadcast_state(self) -> None:
        self._broadcast(encode("state", **self.snapshot()))

    def _broadcast(self, text: str) -> None:
        for p in list(self.participants.values()):
            p.connection.send(text)


class Rooms:
    """The rooms running on this node, loaded from the store on first use."""

    def __init__(self, ctx: Context, hub: MediaHubLike) -> None:
        self.ctx, self.hub = ctx, hub
        self._rooms: dict[str, Room] = {}
        hub.on_state(self._media_state)

    async def open(self, tenant_id: str, session_id: str) -> Room:
        room = self._rooms.get(session_id)
        if room is not None and room.session.tenant_id == tenant_id:
            return room
        session = await self.ctx.store.scoped(tenant_id).get_support_session(session_id)
        if session is None:
            raise NotFound("No such session.")
        room = self._rooms[session_id] = Room(self.ctx, self.hub, session, self._forget)
        return room

    def get(self, session_id: str) -> Room | None:
        return self._rooms.get(session_id)

    def customer_joined(self, session: SupportSession) -> None:
        room = self._rooms.get(session.id)
        if room is not None and room.session.tenant_id == session.tenant_id:
            room.customer_joined(session)

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.session.id) is room:
            del self._rooms[room.session.id]

    def _media_state(self, session_id: str, participant_id: str, media: str) -> None:
        room = self._rooms.get(session_id)
        if room is not None:
            spawn(room.media_state(participant_id, media))
