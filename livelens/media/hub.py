"""The node's media registry: which participants of which session are connected, and how
their media flows. The signalling layer drives it; the data plane does the per-packet work.

Routing in a session
    customer audio + video  -> every agent           (only while media is allowed)
    agent audio             -> the customer, always  (once both are connected)
    agent audio             -> every other agent     (only while media is allowed)

A session whose account turned two-way audio off (signalling.session_policy) gets no
agent -> customer audio route at all: the customer's voice still reaches the agents.

How packets flow is the hub's one strategy, a :class:`MediaPath`: the Rust media port
(:class:`~livelens.media.media_port.MediaPort`, what ``livelens serve`` runs), where
ICE-lite, SRTP and each session's relay run in Rust and the hub only registers legs,
routes and state changes; or, in tests and as the benchmarks' baseline, aiortc's own
sockets with the packets through Python to a relay
(:class:`~livelens.media.aiortc_path.AiortcPath`). The hub itself has no branch on
which.

The consent gate is the relay's per-leg gate: agent legs forward nothing until
:meth:`MediaHub.set_media_allowed` opens them, so no customer picture or sound can
reach an agent before consent is recorded. Each session has its own relay, so no
packet can cross sessions (or tenants).

Recording (the media port only): the session's relay gets one more sink, the recorder,
which takes the customer's video and audio (its leg is routed to it whenever it is
(re)attached: a reconnect, an ICE restart, a camera switch become gaps in the file)
behind the same consent gate as the agents. The agents' voices are not recorded: the
file has one audio track, the customer's. Only sealed bytes reach Python
(:meth:`MediaHub.take_recording`, about once a second).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Literal, Protocol

from livelens.errors import Conflict
from livelens.media.media_port import AnomalyCallback, Spawn
from livelens.media.peer import (
    DEFAULT_CONNECT_TIMEOUT,
    Direction,
    OfferRejected,
    PeerRequest,
    PeerState,
    ServerPeer,
)
from livelens.media.recording import (
    RecordingEnd,
    RecordingFailedCallback,
    RecordingUnavailable,
)
from livelens.media.streams import MEDIA_KINDS, MediaKind

log = logging.getLogger(__name__)

Role = Literal["customer", "agent"]
StateCallback = Callable[[str, str, str], None]

__all__ = [
    "MediaHub",
    "MediaPath",
    "OfferRejected",
    "RecordingEnd",
    "RecordingUnavailable",
    "Role",
    "SessionMedia",
]

# What the server sends each role: customers get audio only, agents get both.
_DIRECTIONS: dict[Role, Mapping[MediaKind, Direction]] = {
    "customer": {"audio": "sendrecv", "video": "recvonly"},
    "agent": {"audio": "sendrecv", "video": "sendonly"},
}


class SessionMedia(Protocol):
    """One session's media, as the hub drives it; participants by their ids."""

    def new_peer(self, request: PeerRequest) -> ServerPeer:
        """The server end of a new connection of the participant (not yet a leg)."""

    def add_leg(self, participant_id: str, peer: ServerPeer, *, forwarding: bool) -> None:
        """The participant's media now flows through ``peer`` (replacing any earlier
        connection), its gate open or closed."""

    def remove_leg(self, participant_id: str) -> None: ...

    def add_route(self, source: str, sink: str, kind: MediaKind) -> None: ...

    def set_connected(self, participant_id: str) -> None: ...

    def set_forwarding(self, participant_id: str, allowed: bool) -> None: ...

    def stats(self) -> dict[str, object]:
        """``path``, and the relay's ``totals`` and ``legs`` (by participant id)."""

    def start_recording(self, recording_id: str, key: bytes) -> None:
        """Add the recorder to the relay (:class:`RecordingUnavailable` if the path
        cannot record); nothing reaches it until participants are routed to it."""

    def record(self, participant_id: str) -> None:
        """Route the participant's audio and video to the recorder."""

    def gate_recording(self, allowed: bool) -> None:
        """The consent gate of the recorder, as ``set_forwarding`` for a participant."""

    def take_recording(self) -> bytes: ...

    def stop_recording(self) -> RecordingEnd: ...

    def close(self) -> None: ...


class MediaPath(Protocol):
    """How packets flow for every session of the hub (see the module docstring)."""

    def open_session(self, session_id: str, spawn: Spawn) -> SessionMedia:
        """``spawn`` runs a coroutine in the background for the session's own sends."""

    def on_anomaly(self, callback: AnomalyCallback) -> None: ...

    def on_recording_failed(self, callback: RecordingFailedCallback) -> None: ...

    def close(self) -> None:
        """Release what the path holds (the port's socket); its owner calls it after
        ``MediaHub.close``, which does not."""


def _flows(source: Role, sink: Role, kind: MediaKind, two_way_audio: bool = True) -> bool:
    if source == "customer":
        return sink == "agent"
    if sink == "customer" and not two_way_audio:
        return False  # the account's policy: the customer hears no agent
    return kind == "audio"  # agents share their voice with everyone else


class _Participant:
    def __init__(self, participant_id: str, role: Role, peer: ServerPeer) -> None:
        self.participant_id = participant_id
        self.role = role
        self.peer = peer


class _Session:
    """One session's participants and media; the listener of its peers' states."""

    def __init__(self, session_id: str, hub: MediaHub, media: SessionMedia) -> None:
        self.session_id = session_id
        self.hub = hub
        self.media = media
        self.participants: dict[str, _Participant] = {}
        self.media_allowed = False
        self.two_way_audio = True  # False: no agent -> customer audio route
        self.recording = False
        self.lock = asyncio.Lock()

    # --------------------------------------------------------- PeerListener

    def peer_state(self, peer: ServerPeer, state: PeerState) -> None:
        participant = self._current(peer)
        if participant is None:
            return  # a replaced or not yet registered peer
        if state == "connected":
            self.media.set_connected(peer.peer_id)
        elif state in ("failed", "closed"):
            self.detach(participant)
            self.hub.spawn(peer.close())
        self.hub.emit(self.session_id, participant.participant_id, state)

    # --------------------------------------------------------- membership

    def attach(self, participant: _Participant) -> None:
        """Register a peer whose answer is done, and wire its routes (no awaits inside)."""
        pid = participant.participant_id
        self.participants[pid] = participant
        forwarding = participant.role == "customer" or self.media_allowed
        peer = participant.peer
        self.media.add_leg(pid, peer, forwarding=forwarding)
        for other in self.participants.values():
            if other is participant:
                continue
            for kind in MEDIA_KINDS:
                if _flows(participant.role, other.role, kind, self.two_way_audio):
                    self.media.add_route(pid, other.participant_id, kind)
                if _flows(other.role, participant.role, kind, self.two_way_audio):
                    self.media.add_route(other.participant_id, pid, kind)
        if self.recording and participant.role == "customer":
            self.media.record(pid)
        if peer.state == "connected":  # connected before we registered it
            self.media.set_connected(pid)

    def detach(self, participant: _Participant) -> None:
        pid = participant.participant_id
        if self.participants.get(pid) is participant:
            del self.participants[pid]
            self.media.remove_leg(pid)

    def _current(self, peer: ServerPeer) -> _Participant | None:
        participant = self.participants.get(peer.peer_id)
        return participant if participant is not None and participant.peer is peer else None

    def set_media_allowed(self, allowed: bool) -> None:
        self.media_allowed = allowed
        for participant in self.participants.values():
            if participant.role == "agent":
                self.media.set_forwarding(participant.participant_id, allowed)
        if self.recording:
            self.media.gate_recording(allowed)

    def start_recording(self, recording_id: str, key: bytes) -> None:
        if self.recording:
            raise RecordingUnavailable("a recording of this session is running")
        self.media.start_recording(recording_id, key)
        self.recording = True
        self.media.gate_recording(self.media_allowed)
        for participant in self.participants.values():
            if participant.role == "customer":
                self.media.record(participant.participant_id)

    def stop_recording(self) -> RecordingEnd:
        if not self.recording:
            raise RecordingUnavailable("no recording of this session is running")
        self.recording = False
        return self.media.stop_recording()


class MediaHub:
    """All live media sessions of this node."""

    def __init__(
        self, media: MediaPath, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    ) -> None:
        """``media``: how packets flow, a ``MediaPort`` (the hub does not close it) or, in
        tests and benchmarks, an ``AiortcPath``. ``connect_timeout``: seconds a
        participant has, after its answer, to connect before it is reported "failed"."""
        self.media = media
        self._connect_timeout = connect_timeout
        self._sessions: dict[str, _Session] = {}
        self._callbacks: list[StateCallback] = []
        self._recording_callbacks: list[RecordingFailedCallback] = []
        # Recordings that ended with their session, until stop_recording collects them.
        self._ended_recordings: dict[str, RecordingEnd] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        media.on_recording_failed(self._recording_failed)

    async def connect(
        self,
        session_id: str,
        participant_id: str,
        role: Literal["customer", "agent"],
        offer_sdp: str,
        *,
        two_way_audio: bool = True,
    ) -> str:
        """Answer a participant's offer. Calling again for the same participant (reconnect,
        ICE restart) replaces its previous connection. ``two_way_audio`` False: the
        session routes no agent's voice to the customer (its policy, the same on every
        call for one session). Raises :class:`OfferRejected`."""
        if self._closed:
            raise RuntimeError("MediaHub is closed")
        if role not in _DIRECTIONS:
            raise ValueError(f"unknown role {role!r}")
        session = self._session(session_id)
        async with session.lock:
            session.two_way_audio = session.two_way_audio and two_way_audio
            request = PeerRequest(participant_id, session, _DIRECTIONS[role], self._connect_timeout)
            peer = session.media.new_peer(request)
            answer = await peer.accept(offer_sdp)
            if self._sessions.get(session_id) is not session:  # ended meanwhile
                await peer.close()
                raise Conflict("This session has ended.")
            old = session.participants.get(participant_id)
            if old is not None:
                session.detach(old)
            session.attach(_Participant(participant_id, role, peer))
            self.emit(session_id, participant_id, "connecting")
            if old is not None:
                await old.peer.close()
        return answer

    def set_media_allowed(self, session_id: str, allowed: bool) -> None:
        """The consent gate: customer media reaches agents only while True (default False)."""
        # Takes effect for the next packet; opening asks the customer for a keyframe.
        self._session(session_id).set_media_allowed(allowed)

    def on_state(self, callback: Callable[[str, str, str], None]) -> None:
        """Call ``callback(session_id, participant_id, state)`` on every state change, with
        state in "connecting", "connected", "failed", "closed"."""
        self._callbacks.append(callback)

    def on_anomaly(self, callback: Callable[[str | None, str, int, str], None]) -> None:
        """Call ``callback(session_id, reason, count, ip)`` for forged SRTP and STUN with
        wrong credentials on the media port (see ``MediaPort.on_anomaly``). On the aiortc
        path libsrtp and aioice drop such packets silently, so nothing is reported."""
        self.media.on_anomaly(callback)

    # ------------------------------------------------------------------ recording

    def start_recording(self, session_id: str, recording_id: str, key: bytes) -> None:
        """Record the session's customer (video and audio, sealed under ``key``, 32
        bytes, for ``recording_id``), from now until :meth:`stop_recording`, across its
        reconnects. :class:`RecordingUnavailable` if the media path cannot record, the
        session has no media yet, or a recording of it runs."""
        session = self._sessions.get(session_id)
        if session is None:
            raise RecordingUnavailable("the session has no media yet")
        self._ended_recordings.pop(session_id, None)
        session.start_recording(recording_id, key)

    def take_recording(self, session_id: str) -> bytes:
        """The sealed bytes recorded since the last call (b"" if none), to append to the
        stored file. :class:`RecordingUnavailable` if no recording runs."""
        if session_id in self._ended_recordings:
            return b""  # the rest comes with stop_recording
        session = self._sessions.get(session_id)
        if session is None or not session.recording:
            raise RecordingUnavailable("no recording of this session is running")
        return session.media.take_recording()

    def stop_recording(self, session_id: str) -> RecordingEnd:
        """End the recording: the sealed bytes not taken yet (the file is complete with
        them), the media time and counters. A recording that ended with its session
        (:meth:`end_session`) is returned here too. :class:`RecordingUnavailable` if
        none runs (never started, stopped, or failed)."""
        ended = self._ended_recordings.pop(session_id, None)
        if ended is not None:
            return ended
        session = self._sessions.get(session_id)
        if session is None:
            raise RecordingUnavailable("no recording of this session is running")
        return session.stop_recording()

    def on_recording_failed(self, callback: RecordingFailedCallback) -> None:
        """Call ``callback(session_id, reason)`` when a recording ends on its own (the
        media path gave up on it): what was taken of it is not a complete file, and
        :meth:`stop_recording` raises :class:`RecordingUnavailable`."""
        self._recording_callbacks.append(callback)

    def _recording_failed(self, session_id: str, reason: str) -> None:
        session = self._sessions.get(session_id)
        if session is None or not session.recording:
            return
        session.recording = False
        for callback in list(self._recording_callbacks):
            try:
                callback(session_id, reason)
            except Exception:
                log.exception("recording callback failed")

    def stats(self, session_id: str) -> dict[str, object]:
        session = self._sessions.get(session_id)
        if session is None:
            return {"media_allowed": False, "participants": {}, "totals": {}, "legs": {}}
        participants = {
            pid: {"role": p.role, "state": p.peer.state} for pid, p in session.participants.items()
        }
        return {
            "media_allowed": session.media_allowed,
            "participants": participants,
            **session.media.stats(),
        }

    def peer(self, session_id: str, participant_id: str) -> ServerPeer | None:
        """A participant's current connection, for diagnostics and tests."""
        session = self._sessions.get(session_id)
        participant = session.participants.get(participant_id) if session else None
        return participant.peer if participant else None

    async def disconnect(self, session_id: str, participant_id: str) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            return
        async with session.lock:
            participant = session.participants.get(participant_id)
            if participant is None:
                return
            session.detach(participant)
            await participant.peer.close()
        self.emit(session_id, participant_id, "closed")

    async def end_session(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        async with session.lock:
            if session.recording:
                self._end_recording_with(session)
            session.media.close()
            participants = list(session.participants.values())
            for participant in participants:
                session.detach(participant)
            await asyncio.gather(*(p.peer.close() for p in participants))
        for participant in participants:
            self.emit(session_id, participant.participant_id, "closed")

    async def close(self) -> None:
        self._closed = True
        for session_id in list(self._sessions):
            await self.end_session(session_id)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ internals

    def _end_recording_with(self, session: _Session) -> None:
        """The session ends while recording: finish the file, for stop_recording."""
        try:
            self._ended_recordings[session.session_id] = session.stop_recording()
        except RecordingUnavailable:
            log.exception("a recording could not be finished with its session")

    def _session(self, session_id: str) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            media = self.media.open_session(session_id, self.spawn)
            session = self._sessions[session_id] = _Session(session_id, self, media)
        return session

    def emit(self, session_id: str, participant_id: str, state: str) -> None:
        for callback in list(self._callbacks):
            try:
                callback(session_id, participant_id, state)
            except Exception:
                log.exception("media state callback failed")

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine in the background, keeping a reference and logging failures."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media task failed", exc_info=task.exception())
