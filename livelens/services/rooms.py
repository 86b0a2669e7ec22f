"""Live rooms: the running side of a support session on this node.

A room holds the participants' signalling connections, applies their messages to
the session state machine, stores the result, tells everyone what changed, and
drives the media hub (including its consent gate). One lock per room keeps the
order of events the order in which they were received.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from livelens import clock
from livelens.errors import Conflict, LiveLensError, NotFound
from livelens.services import audit, content, security
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.services.tasks import spawn
from livelens.signalling import audience, state
from livelens.signalling.audience import Audience, Handles
from livelens.signalling.marks import Board
from livelens.signalling.messages import Message, encode
from livelens.store.records import Outcome, SupportSession, new_id
from livelens.store.repository import TenantStore

log = logging.getLogger("livelens.rooms")


Role = Literal["agent", "customer"]


class MediaHubLike(Protocol):
    async def connect(self, session_id: str, participant_id: str, role: Role,
                      offer_sdp: str) -> str: ...  # fmt: skip
    def set_media_allowed(self, session_id: str, allowed: bool) -> None: ...
    def on_state(self, callback: Callable[[str, str, str], None]) -> None: ...
    def on_anomaly(self, callback: Callable[[str | None, str, int, str], None]) -> None: ...
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
    id: str  # the agent's user id; "customer" for the customer
    role: Role
    name: str  # what the others see: a display name, never an e-mail address
    ip: str
    connection: Connection
    media: str = "new"  # connecting, connected, failed, closed
    muted: bool = False
    video: bool = True
    actor: Actor | None = None  # who the audit log names (an agent by e-mail and id)


@dataclass(frozen=True)
class Frame:
    """A frozen still, as the customer's page captured it. Kept in memory only while
    frozen: it is what both sides look at, not content; a snapshot is."""

    id: str
    data: bytes
    media_type: str


MARK_TYPES = frozenset({"mark_start", "mark_add", "mark_end", "mark_remove", "marks_clear"})


class Room:
    def __init__(self, ctx: Context, hub: MediaHubLike, session: SupportSession,
                 on_empty: Callable[[Room], None]) -> None:  # fmt: skip
        self.ctx, self.hub, self.session = ctx, hub, session
        self.participants: dict[str, Participant] = {}
        self.handles = Handles()  # what the customer sees instead of agents' user ids
        self.board = Board()
        self.freezing = False  # an agent asked for a still; the customer's page sends it
        self.frame: Frame | None = None
        self.low_bandwidth = False
        self.device: dict[str, object] | None = None  # the customer's camera, as reported
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
            await self._catch_up(participant)

    async def detach(self, participant: Participant) -> None:
        async with self._lock:
            current = self.participants.get(participant.id)
            if current is not participant:
                return  # already replaced by a newer connection
            del self.participants[participant.id]
            if self.session.status != "ended":
                self._start_drop_timer(participant)
                self._broadcast_state()
        if not self.participants and self.session.status == "ended":
            self._on_empty(self)

    async def remove(self, participant: Participant, code: int, reason: str) -> None:
        """Take a participant out at once (their sign-in ended): their socket closes and
        their media leg goes; the session goes on for the others, and ends as after a
        drop if no one of their side is left and nobody comes back in time."""
        async with self._lock:
            participant.connection.hang_up(code, reason)
            if self.participants.get(participant.id) is not participant:
                return
            del self.participants[participant.id]
            if self.session.status != "ended":
                self._start_drop_timer(participant)
                self._broadcast_state()
        await self.hub.disconnect(self.session.id, participant.id)

    def _start_drop_timer(self, participant: Participant) -> None:
        old = self._drop_timers.pop(participant.id, None)
        if old:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._drop_timers[participant.id] = loop.call_later(
            self.ctx.settings.rejoin_grace, lambda: spawn(self._dropped(participant))
        )

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
        if any(p.role == participant.role for p in self.participants.values()):
            return  # another agent carries on with the customer
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
                await self.end(p.actor or Actor(p.name, None, p.ip), p.role, outcome)
            case "chat":
                await self._chat(p, message)
            case "chat_ack":
                self._broadcast(encode("chat_ack", ids=list(message.texts("ids")), by=p.role),
                                but=p)  # fmt: skip
            case kind if kind in MARK_TYPES:
                self._require_media("draw")
                self._mark(p, message)
            case "freeze":
                self._require_media("freeze the picture")
                if self.frame is None:
                    self.freezing = True
                    self.board.freeze()
                    self._broadcast_state()
            case "unfreeze":
                self.unfreeze()
            case "camera":
                self._require_media("control the camera")
                self._send_to("customer", encode("camera", by=p.name, **message.fields))
            case "low_bandwidth":
                self.low_bandwidth = message.flag("on")
                self._broadcast_state()
            case "device":
                self.device = dict(message.fields)
                self._send_to("agent", encode("device", **self.device))
            case "quality":
                self._broadcast_views(lambda to: encode(
                    "quality", role=p.role, **{"from": self.handles.shown_id(p.id, to)},
                    **message.fields), but=p)  # fmt: skip

    # -- in-session tools ----------------------------------------------------

    def _require_media(self, action: str) -> None:
        if not state.media_allowed(self.session):
            raise Conflict(f"You can {action} only while the customer shares the camera.")

    async def _catch_up(self, p: Participant) -> None:
        """What a participant who (re)joins needs to see what the others see."""
        if self.session.status in ("joined", "consented", "live"):
            history = await content.chat_history(self.ctx, self.session)
            messages = [audience.chat(m.view(), p.role) for m in history]
            p.connection.send(encode("chat_history", messages=messages))
        marks = [self.handles.mark(m, p.role) for m in self.board.snapshot(clock.now())]
        p.connection.send(encode("marks", items=marks))
        if p.role == "agent" and self.device is not None:
            p.connection.send(encode("device", **self.device))

    async def _chat(self, p: Participant, message: Message) -> None:
        if self.session.status not in ("joined", "consented", "live"):
            raise Conflict("Chat is open only while the session runs.")
        author = p.id if p.role == "agent" else None
        sent = await content.add_chat(self.ctx, self.session, p.role, p.name, author,
                                      message.text("text"))  # fmt: skip
        ref = message.text("ref")
        self._broadcast_views(lambda to: encode("chat", ref=ref, **audience.chat(sent.view(), to)))

    def _mark(self, p: Participant, message: Message) -> None:
        now, board, mark_id = clock.now(), self.board, message.text("id")
        match message.type:
            case "mark_start":
                fade = message.number("fade")
                ok = board.start(p.id, mark_id, message.text("tool"), message.text("color"),
                                 message.points("pts"), message.text("text"),
                                 0.0 if fade is None else fade, now)  # fmt: skip
            case "mark_add":
                ok = board.add(p.id, mark_id, message.points("pts"))
            case "mark_end":
                ok = board.end(p.id, mark_id, now)
            case "mark_remove":
                ok = board.remove(p.id, mark_id)
            case _:
                board.clear()
                ok = True
        if ok:  # others draw it; the author already has
            self._broadcast_views(lambda to: encode(
                message.type, **{"from": self.handles.shown_id(p.id, to)}, **message.fields
            ), but=p)  # fmt: skip

    def check_frame_wanted(self) -> None:
        if not self.freezing or self.session.status == "ended":
            raise Conflict("Nobody asked to freeze the picture.")

    def put_frame(self, data: bytes, media_type: str) -> Frame:
        """The customer's page sends the still an agent asked for."""
        self.check_frame_wanted()
        self.frame = Frame(new_id(), data, media_type)
        self.freezing = False
        self._broadcast_state()
        return self.frame

    def unfreeze(self) -> None:
        if self.freezing or self.frame is not None:
            self.freezing, self.frame = False, None
            self.board.unfreeze()
            self._broadcast_state()

    def experts_changed(self, session: SupportSession) -> None:
        """An expert was invited (outside the room): keep the room's record current, or
        its next save would drop the invitation."""
        self.session = replace(self.session, experts=session.experts)

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

    def snapshot(self, to: Audience = "agent") -> dict[str, object]:
        return {
            "session_id": self.session.id,
            "status": self.session.status,
            "outcome": self.session.outcome,
            "participants": [
                {"id": self.handles.shown_id(p.id, to), "role": p.role, "name": p.name,
                 "media": p.media, "muted": p.muted, "video": p.video,
                 "expert": p.role == "agent" and p.id != self.session.agent_id}
                for p in self.participants.values()
            ],
            "freezing": self.freezing,
            "frame": self.frame.id if self.frame else None,
            "low_bandwidth": self.low_bandwidth,
        }  # fmt: skip

    def _broadcast_state(self) -> None:
        self._broadcast_views(lambda to: encode("state", **self.snapshot(to)))

    def _broadcast_views(self, render: Callable[[Audience], str],
                         but: Participant | None = None) -> None:  # fmt: skip
        """Send each participant the message as their side may see it."""
        texts: dict[Audience, str] = {}
        for p in list(self.participants.values()):
            if p is not but:
                if p.role not in texts:
                    texts[p.role] = render(p.role)
                p.connection.send(texts[p.role])

    def _broadcast(self, text: str, but: Participant | None = None) -> None:
        for p in list(self.participants.values()):
            if p is not but:
                p.connection.send(text)

    def _send_to(self, role: Role, text: str) -> None:
        for p in list(self.participants.values()):
            if p.role == role:
                p.connection.send(text)


class Rooms:
    """The rooms running on this node, loaded from the store on first use."""

    def __init__(self, ctx: Context, hub: MediaHubLike) -> None:
        self.ctx, self.hub = ctx, hub
        self._rooms: dict[str, Room] = {}
        hub.on_state(self._media_state)
        hub.on_anomaly(self._media_anomaly)

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

    def experts_changed(self, session: SupportSession) -> None:
        room = self._rooms.get(session.id)
        if room is not None and room.session.tenant_id == session.tenant_id:
            room.experts_changed(session)

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.session.id) is room:
            del self._rooms[room.session.id]

    def _media_anomaly(self, session_id: str | None, reason: str, count: int, ip: str) -> None:
        """Forged SRTP or wrong ICE credentials at the media port: the security log."""
        room = self._rooms.get(session_id) if session_id else None
        tenant_id = room.session.tenant_id if room else None
        details: dict[str, str | int] = {"count": count}
        if room:
            details["session"] = room.session.id
        spawn(security.record(self.ctx, f"media.{reason}", ip or None, tenant_id, **details))

    def _media_state(self, session_id: str, participant_id: str, media: str) -> None:
        room = self._rooms.get(session_id)
        if room is not None:
            spawn(room.media_state(participant_id, media))
