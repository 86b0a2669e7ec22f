"""Live rooms: the running side of a support session on this node.

A thin shell around :class:`livelens.signalling.room_core.RoomCore`, which holds the
rules: a room feeds it one event at a time (in turns, so events are handled in the
order they came, and the clock is looked at first), then carries out the effects it
returns against the participants' sockets, the store, the audit log and the media hub,
before the next event. One timer per room wakes it at the core's next deadline. A
participant's message is carried out at once, with no coroutine, when the room is idle
and what it asks needs no waiting (see :meth:`Room.handle`).

Every change to a session record goes through its room (``Rooms.open``): the join
API, expert invitations and new join links are commands to the room, never a save of
their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from livelens import clock
from livelens.errors import LiveLensError, NotFound, StaleRecord, StoreUnavailable
from livelens.services import audit, content, recording_rules, security
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.services.recording_runner import RecordingHub, RecordingRunner
from livelens.services.tasks import spawn
from livelens.services.turns import Turns
from livelens.signalling import audience, effects, recording, state
from livelens.signalling.effects import Effect, Who
from livelens.signalling.messages import Message, encode
from livelens.signalling.room_core import RoomCore, chat_sent
from livelens.signalling.room_tools import Frame
from livelens.store.records import SupportSession
from livelens.store.repository import TenantStore

log = logging.getLogger("livelens.rooms")

Role = Literal["agent", "customer"]
SAVE_ATTEMPTS = 3  # a save that keeps losing to another writer gives up with StaleRecord

__all__ = ["Connection", "Frame", "MediaHubLike", "Participant", "Role", "Room", "Rooms"]


class MediaHubLike(RecordingHub, Protocol):
    async def connect(self, session_id: str, participant_id: str, role: Role,
                      offer_sdp: str, *, two_way_audio: bool = True) -> str: ...  # fmt: skip
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


@dataclass(eq=False)
class Participant:
    """One signalling channel in a room: who opened it, and the channel."""

    id: str  # the agent's user id; "customer" for the customer
    role: Role
    name: str  # what the others see: a display name, never an e-mail address
    ip: str
    connection: Connection
    actor: Actor | None = None  # who the audit log names (an agent by e-mail and id)

    @property
    def who(self) -> Who:
        actor = self.actor or Actor(self.name, None, self.ip)
        return Who(actor.name, actor.user_id, actor.ip)


Step = Callable[[RoomCore, float], list[Effect]]
# Effects carried out without waiting: a message handed to a socket, a switch flipped.
IMMEDIATE = (effects.Send, effects.Broadcast, effects.HangUp, effects.MediaGate,
             effects.NoteRecording)  # fmt: skip


class Room:
    def __init__(self, ctx: Context, hub: MediaHubLike, tenant_id: str, session_id: str,
                 on_finished: Callable[[Room], None]) -> None:  # fmt: skip
        self.ctx, self.hub = ctx, hub
        self.tenant_id, self.session_id = tenant_id, session_id
        self.participants: dict[str, Participant] = {}  # the current channel of each
        self._core: RoomCore | None = None
        self._turns = Turns()
        self._timer: asyncio.TimerHandle | None = None
        self._on_finished = on_finished
        self._recorder: RecordingRunner | None = None  # the session's recording, running

    @property
    def core(self) -> RoomCore:
        if self._core is None:
            raise NotFound("This session is not running.")
        return self._core

    @property
    def session(self) -> SupportSession:
        return self.core.session

    @property
    def frame(self) -> Frame | None:
        return self._core.frame if self._core else None

    async def ready(self) -> None:
        """Load the session on first use; raises NotFound or SessionEnded (and the room
        goes) if there is nothing to run."""
        await self._step(lambda core, now: [])
        if self.core.over:
            raise state.ended_error(self.core.session)

    # -- events ---------------------------------------------------------------------

    async def attach(self, p: Participant) -> None:
        def joined(core: RoomCore, now: float) -> list[Effect]:
            done = core.joined(p.id, p.role, p.name, p.who, now)  # raises when ended
            old = self.participants.get(p.id)
            if old is not None:  # the same participant reconnecting replaces its channel
                old.connection.hang_up(4000, "replaced by a new connection")
            self.participants[p.id] = p
            return done

        await self._step(joined)

    async def detach(self, p: Participant) -> None:
        """A channel closed. Its participant may come back within the grace."""
        await self._step(lambda core, now: core.left(p.id, now) if self._drop(p) else [])

    async def remove(self, p: Participant, code: int, reason: str) -> None:
        """Take a participant out at once (their sign-in ended): their channel closes
        and their media leg goes; the session goes on for the others."""
        p.connection.hang_up(code, reason)
        await self._step(
            lambda core, now: core.left(p.id, now, drop_media=True) if self._drop(p) else []
        )

    def _drop(self, p: Participant) -> bool:
        if self.participants.get(p.id) is not p:
            return False  # already replaced by a newer channel, or gone
        del self.participants[p.id]
        return True

    def handle(self, p: Participant, message: Message) -> Awaitable[None] | None:
        """A participant's message: carried out already (None) when the room was idle and
        what it asked needed no waiting, the common case (a mark, a quality report);
        else the rest of it, to be awaited before the participant's next message. Why:
        an awaited handler costs the loop a task and its callbacks per message, most of
        a small message's cost (issue 16's profile)."""

        def event(core: RoomCore, now: float) -> list[Effect]:
            return core.message(p.id, message, now) if self._current(p) else []

        try:
            rest = self._step_now(event)
        except LiveLensError as exc:
            p.connection.send(encode("error", code=exc.code, message=exc.message))
            return None
        return None if rest is None else self._refused_in_turn(p, rest)

    async def _refused_in_turn(self, p: Participant, rest: Awaitable[object]) -> None:
        try:
            await rest
        except LiveLensError as exc:
            p.connection.send(encode("error", code=exc.code, message=exc.message))

    def _current(self, p: Participant) -> bool:
        return self.participants.get(p.id) is p

    async def media_state(self, participant_id: str, media: str) -> None:
        await self._step(lambda core, now: core.media_state(participant_id, media, now))

    async def tick(self) -> None:
        """Look at the clock now (the room's timer does; tests that move the clock too)."""
        await self._step(lambda core, now: [])

    async def bind_customer(self, device_hash: str, credential: str, who: Who) -> SupportSession:
        return await self._step(
            lambda core, now: core.bind_customer(device_hash, credential, who, now)
        )

    async def renew_link(self, token_hash: str, pin_hash: str | None, ttl: float,
                         who: Who) -> SupportSession:  # fmt: skip
        """A new link and PIN, usable for ``ttl`` seconds from now (the room's now)."""
        return await self._step(
            lambda core, now: core.renew_link(token_hash, pin_hash, now + ttl, who)
        )

    async def invite_expert(self, user_id: str, label: str, who: Who) -> SupportSession:
        return await self._step(lambda core, now: core.invite_expert(user_id, label, who))

    def check_frame_wanted(self) -> None:
        self.core.check_frame_wanted()

    async def put_frame(self, data: bytes, media_type: str) -> Frame:
        frames: list[Frame] = []

        def put(core: RoomCore, now: float) -> list[Effect]:
            frame, done = core.put_frame(data, media_type)
            frames.append(frame)
            return done

        await self._step(put)
        return frames[0]

    # -- running the core --------------------------------------------------------------

    async def _step(self, event: Step) -> SupportSession:
        """One event, in order: load if needed, look at the clock, apply the event and
        carry out what it asks; then set the timer for the next deadline. The record
        as it is after the event."""
        await self._turns.take()
        try:
            core = await self._load()
            await self._run(deque(core.tick(clock.now())))
            await self._run(deque(event(core, clock.now())))
            return core.session
        finally:
            self._end_turn()

    def _step_now(self, event: Step) -> Awaitable[SupportSession] | None:
        """The same step, carried out at once (None) if the room is loaded, idle, and
        asks only for immediate effects; else what remains of it, holding the turn
        until it is awaited to the end (raises as _step does)."""
        if self._core is None or not self._turns.take_now():
            return self._step(event)
        core, then = self._core, event
        try:
            queue = deque(core.tick(clock.now()))
            if self._carry_out_now(queue):  # the clock's effects first, as in _step
                queue.extend(event(core, clock.now()))
                then = _nothing
                if self._carry_out_now(queue):
                    self._end_turn()
                    return None
        except BaseException:
            self._end_turn()
            raise
        return self._rest_of_step(queue, then)

    async def _rest_of_step(self, queue: deque[Effect], then: Step) -> SupportSession:
        try:
            await self._run(queue)
            await self._run(deque(then(self.core, clock.now())))
            return self.core.session
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        self._arm()
        self._turns.end()

    async def _load(self) -> RoomCore:
        if self._core is None:
            session = await self._scope().get_support_session(self.session_id)
            if session is None or session.status == "ended":
                self._on_finished(self)
                if session is None:
                    raise NotFound("No such session.")
                raise state.ended_error(session)
            self._core = RoomCore(session, self.ctx.settings.rejoin_grace, clock.now())
        return self._core

    async def _run(self, queue: deque[Effect]) -> None:
        while queue:
            effect = queue.popleft()
            more = await self._carry_out(effect)
            queue.extendleft(reversed(more))

    def _carry_out_now(self, queue: deque[Effect]) -> bool:
        """Carry out the immediate effects at the head of ``queue``; True if that was all."""
        while queue and isinstance(queue[0], IMMEDIATE):
            self._carry_out_immediate(queue.popleft())
        return not queue

    def _carry_out_immediate(self, effect: Effect) -> None:
        match effect:
            case effects.Send(to, text):
                if (p := self.participants.get(to)) is not None:
                    p.connection.send(text)
            case effects.Broadcast(texts, but):
                for p in list(self.participants.values()):
                    if p.id != but and p.role in texts:
                        p.connection.send(texts[p.role])
            case effects.HangUp(to, code, reason):
                if (p := self.participants.pop(to, None)) is not None:
                    p.connection.hang_up(code, reason)
            case effects.MediaGate(allowed):
                self.hub.set_media_allowed(self.session_id, allowed)
            case effects.NoteRecording(kind, data):
                if self._recorder is not None:
                    self._recorder.note(kind, data)

    async def _carry_out(self, effect: Effect) -> list[Effect]:
        core, sid = self.core, self.session_id
        match effect:
            case _ if isinstance(effect, IMMEDIATE):
                self._carry_out_immediate(effect)
            case effects.Persist(session):
                return await self._persist(session)
            case effects.Audit(action, who, details):
                await audit.record(self._scope(), action, Actor(who.name, who.user_id, who.ip),
                                   target=sid, **details)  # fmt: skip
            case effects.SendChatHistory(to):
                history = await content.chat_history(self.ctx, core.session)
                if (p := self.participants.get(to)) is not None:
                    messages = [audience.chat(m.view(), p.role) for m in history]
                    p.connection.send(encode("chat_history", messages=messages))
            case effects.StoreChat(author, role, name, text, ref):
                user_id = author if role == "agent" else None
                sent = await content.add_chat(self.ctx, core.session, role, name, user_id, text)
                return [chat_sent(ref, sent.view())]
            case effects.ConnectMedia(participant, role, offer_sdp, two_way_audio):
                answer = await self.hub.connect(sid, participant, role, offer_sdp,
                                                two_way_audio=two_way_audio)  # fmt: skip
                return [effects.Send(participant, encode("answer", sdp=answer))]
            case effects.DisconnectMedia(participant):
                await self.hub.disconnect(sid, participant)
            case effects.StartRecording():
                return await self._start_recording()
            case effects.StopRecording():
                await self._stop_recording()
            case effects.Alert(kind, details):
                await security.record(self.ctx, kind, None, self.tenant_id, **details)
            case effects.Finish():
                await self.hub.end_session(sid)
                for p in list(self.participants.values()):
                    p.connection.hang_up(1000, "session ended")
                self.participants.clear()
                self._on_finished(self)
        return []

    # -- the recording ---------------------------------------------------------------------

    async def _start_recording(self) -> list[Effect]:
        """Record the session's media (services.recording_runner); a recording that
        cannot start leaves the session as it is, and both sides are told."""
        try:
            self._recorder = await RecordingRunner.start(self.ctx, self.hub, self.core.session,
                                                         self._recording_stopped)  # fmt: skip
        except Exception as exc:  # whatever it is, the session goes on
            log.warning("Session %s: its recording could not start (%s).", self.session_id,
                        type(exc).__name__)  # fmt: skip
            stored = isinstance(exc, OSError | StoreUnavailable)  # else the media path's
            why = recording_rules.storage_reason(exc) if stored else recording.UNAVAILABLE
            return self.core.recording_stopped(why)
        return []

    async def _stop_recording(self) -> None:
        runner, self._recorder = self._recorder, None
        if runner is None:
            return
        try:
            await runner.stop()
        except Exception:  # the session ends all the same
            log.exception("Session %s: its recording did not end cleanly.", self.session_id)

    async def _recording_stopped(self, why: recording.Stop) -> None:
        """The runner stopped the recording on its own (storage full...): the room
        tells both sides, when it is its turn (never while the runner waits on it)."""
        spawn(_quietly(self._step(lambda core, now: core.recording_stopped(why))))

    async def _persist(self, session: SupportSession) -> list[Effect]:
        """Save through the store's compare-and-set. Losing it means someone else wrote
        the record: go on from theirs merged with ours (state.merge), and save that."""
        scope = self._scope()
        then: list[Effect] = []
        for _ in range(SAVE_ATTEMPTS):
            try:
                self.core.saved(await scope.save_support_session(session))
                return then
            except StaleRecord:
                fresh = await scope.get_support_session(self.session_id)
                if fresh is None:
                    raise NotFound("No such session.") from None
                session = state.merge(fresh, session)
                then += self.core.adopt(session)
                if session == fresh:
                    self.core.saved(fresh)
                    return then
        raise StaleRecord("The session kept changing while it was being saved; try again.")

    def _arm(self) -> None:
        deadline = None if self._core is None else self._core.next_deadline()
        loop = asyncio.get_running_loop()
        when = None if deadline is None else loop.time() + max(0.0, deadline - clock.now())
        # Why: most steps leave the deadline where it was (a waiting session's link, a
        # side's grace); a timer already due then stays, rather than a cancel and a new
        # call_later (a heap entry each, the cancelled ones left in the heap) on every
        # message. A clock that jumped (or a test's, moved) still moves the timer.
        if self._timer is not None and when is not None and abs(self._timer.when() - when) < 1e-3:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when is not None:
            self._timer = loop.call_at(when, self._wake)

    def _wake(self) -> None:
        self._timer = None
        spawn(_quietly(self.tick()))

    def _scope(self) -> TenantStore:
        return self.ctx.store.scoped(self.tenant_id)


class Rooms:
    """The rooms running on this node, loaded from the store on first use."""

    def __init__(self, ctx: Context, hub: MediaHubLike) -> None:
        self.ctx, self.hub = ctx, hub
        self._rooms: dict[str, Room] = {}
        hub.on_state(self._media_state)
        hub.on_anomaly(self._media_anomaly)

    async def open(self, tenant_id: str, session_id: str) -> Room:
        """The session's room (one per session on this node: opened together, two
        callers get the same). Raises NotFound, or SessionEnded once it has ended."""
        room = self._rooms.get(session_id)
        if room is None:
            room = self._rooms[session_id] = Room(self.ctx, self.hub, tenant_id, session_id,
                                                  self._forget)  # fmt: skip
        elif room.tenant_id != tenant_id:
            raise NotFound("No such session.")
        await room.ready()
        return room

    def get(self, session_id: str) -> Room | None:
        return self._rooms.get(session_id)

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.session_id) is room:
            del self._rooms[room.session_id]

    def _media_anomaly(self, session_id: str | None, reason: str, count: int, ip: str) -> None:
        """Forged SRTP or wrong ICE credentials at the media port: the security log."""
        room = self._rooms.get(session_id) if session_id else None
        tenant_id = room.tenant_id if room else None
        details: dict[str, str | int] = {"count": count}
        if room:
            details["session"] = room.session_id
        spawn(security.record(self.ctx, f"media.{reason}", ip or None, tenant_id, **details))

    def _media_state(self, session_id: str, participant_id: str, media: str) -> None:
        room = self._rooms.get(session_id)
        if room is not None:
            spawn(_quietly(room.media_state(participant_id, media)))


def _nothing(core: RoomCore, now: float) -> list[Effect]:
    return []


async def _quietly(step: Awaitable[object]) -> None:
    """An event nobody waits for: the session may have ended (or gone) meanwhile."""
    with contextlib.suppress(LiveLensError):
        await step
