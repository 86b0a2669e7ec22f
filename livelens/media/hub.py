"""The node's media registry: which participants of which session are connected, and how
their media flows. The signalling layer drives it; the relay does the per-packet work.

Routing in a session
    customer audio + video  -> every agent           (only while media is allowed)
    agent audio             -> the customer, always  (once both are connected)
    agent audio             -> every other agent     (only while media is allowed)

Two media paths. With a :class:`MediaPort` (the default for ``livelens serve``), the
Rust data plane owns the UDP port: ICE-lite, SRTP and each session's relay run there,
and this module only registers legs, routes and state changes with it. Without one,
aiortc/aioice carry the packets and the Python reference relay forwards them (kept
for comparison and as the test oracle).

The consent gate is the relay's per-leg gate: agent legs forward nothing until
:meth:`MediaHub.set_media_allowed` opens them, so no customer picture or sound can
reach an agent before consent is recorded. Each session has its own relay, so no
packet can cross sessions (or tenants). The relay is the Rust one unless the hub is
told to use the Python reference (``Settings.relay``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Literal

from livelens import clock
from livelens.config import RelayKind
from livelens.errors import Conflict
from livelens.media import ice
from livelens.media.media_port import MediaPort
from livelens.media.peer import (
    DEFAULT_CONNECT_TIMEOUT,
    Direction,
    OfferRejected,
    PeerState,
    ServerPeer,
)
from livelens.media.relay import PacketRelay, Transmit, new_relay
from livelens.media.streams import MEDIA_KINDS, MediaKind

log = logging.getLogger(__name__)

Role = Literal["customer", "agent"]
StateCallback = Callable[[str, str, str], None]

__all__ = ["MediaHub", "OfferRejected", "Role"]

# What the server sends each role: customers get audio only, agents get both.
_DIRECTIONS: dict[Role, Mapping[MediaKind, Direction]] = {
    "customer": {"audio": "sendrecv", "video": "recvonly"},
    "agent": {"audio": "sendrecv", "video": "sendonly"},
}


def _flows(source: Role, sink: Role, kind: MediaKind) -> bool:
    if source == "customer":
        return sink == "agent"
    return kind == "audio"  # agents share their voice with everyone else


class _Participant:
    def __init__(self, participant_id: str, role: Role, peer: ServerPeer) -> None:
        self.participant_id = participant_id
        self.role = role
        self.peer = peer


class _Session:
    """One session's relay and peers; the listener of its peers."""

    def __init__(self, session_id: str, hub: MediaHub, relay: PacketRelay) -> None:
        self.session_id = session_id
        self.hub = hub
        self.port = hub.media_port  # None: packets reach Python and `relay` forwards
        self.relay = relay
        self.participants: dict[str, _Participant] = {}
        self.media_allowed = False
        self.lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None

    # --------------------------------------------------------- PeerListener

    async def peer_rtp(self, peer: ServerPeer, data: bytes) -> None:
        if self._current(peer) is not None:
            await self.send(self.relay.handle_rtp(peer.peer_id, data, clock.now()))

    async def peer_rtcp(self, peer: ServerPeer, data: bytes) -> None:
        if self._current(peer) is not None:
            await self.send(self.relay.handle_rtcp(peer.peer_id, data, clock.now()))

    def peer_state(self, peer: ServerPeer, state: PeerState) -> None:
        participant = self._current(peer)
        if participant is None:
            return  # a replaced or not yet registered peer
        if state == "connected":
            self.set_connected(peer.peer_id)
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
        if self.port is not None:
            assert peer.transport_id is not None
            self.port.add_leg(self.session_id, pid, peer.transport_id, peer.media, forwarding)
        else:
            self.relay.add_leg(pid, peer.media, forwarding=forwarding)
        for other in self.participants.values():
            if other is participant:
                continue
            for kind in MEDIA_KINDS:
                if _flows(participant.role, other.role, kind):
                    self.add_route(pid, other.participant_id, kind)
                if _flows(other.role, participant.role, kind):
                    self.add_route(other.participant_id, pid, kind)
        if peer.state == "connected":  # connected before we registered it
            self.set_connected(pid)

    def add_route(self, source: str, sink: str, kind: MediaKind) -> None:
        if self.port is not None:
            self.port.add_route(self.session_id, source, sink, kind)
        else:
            self.relay.add_route(source, sink, kind)

    def set_connected(self, pid: str) -> None:
        if self.port is not None:
            self.port.socket.set_connected(self.session_id, pid, True)
        else:
            self.hub.spawn(self.send(self.relay.set_connected(pid, True, clock.now())))

    def detach(self, participant: _Participant) -> None:
        pid = participant.participant_id
        if self.participants.get(pid) is participant:
            del self.participants[pid]
            if self.port is not None:
                self.port.socket.remove_leg(self.session_id, pid)
            else:
                self.relay.remove_leg(pid)

    def _current(self, peer: ServerPeer) -> _Participant | None:
        participant = self.participants.get(peer.peer_id)
        return participant if participant is not None and participant.peer is peer else None

    def set_media_allowed(self, allowed: bool) -> list[Transmit]:
        self.media_allowed = allowed
        out: list[Transmit] = []
        for participant in self.participants.values():
            if participant.role != "agent":
                continue
            pid = participant.participant_id
            if self.port is not None:  # the port sends its keyframe requests itself
                self.port.socket.set_forwarding(self.session_id, pid, allowed)
            else:
                out += self.relay.set_forwarding(pid, allowed, clock.now())
        return out

    def stats(self) -> dict[str, object]:
        if self.port is not None:
            return {"path": "media_port", **self.port.session_stats(self.session_id)}
        return {"path": f"aiortc+{self.hub.relay_kind}", **self.relay.stats()}

    def close(self) -> None:
        self.cancel_timer()
        if self.port is not None:
            self.port.socket.end_session(self.session_id)

    # --------------------------------------------------------- output

    async def send(self, transmits: Iterable[Transmit]) -> None:
        for leg_id, data in transmits:
            participant = self.participants.get(leg_id)
            if participant is not None:
                await participant.peer.send(data)
        self._arm_timer()

    def _arm_timer(self) -> None:
        due = self.relay.next_timeout()
        if due == self._timer_due:
            return
        self.cancel_timer()
        if due is not None:
            # +1 ms: the loop's timer may fire a hair early against the wall clock.
            delay = max(0.0, due - clock.now()) + 0.001
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
            self._timer_due = due

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_due = None
        self.hub.spawn(self.send(self.relay.handle_timeout(clock.now())))

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_due = None


class MediaHub:
    """All live media sessions of this node."""

    def __init__(
        self,
        *,
        host_addresses: list[str] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        media_port: MediaPort | None = None,
        relay: RelayKind = "fast",
    ) -> None:
        """``host_addresses``: the local IPs offered as ICE host candidates (None: every
        non-loopback address aioice finds). ``connect_timeout``: seconds a participant
        has, after its answer, to connect before it is reported "failed".
        ``media_port``: carry media on the Rust-owned UDP port, where the Rust relay
        forwards (the hub does not close it); None: aiortc's sockets, packets through
        Python to ``relay``, "fast" (the Rust relay) or "reference" (the Python one)."""
        if media_port is not None and relay != "fast":
            raise ValueError("the media port forwards with the Rust relay only")
        new_relay(relay)  # an unknown kind fails here, at startup
        self.media_port = media_port
        # Validated here so a bad address fails at startup, not at the first call.
        self._host_addresses = (
            list(ice.validate(host_addresses)) if host_addresses is not None else None
        )
        self._connect_timeout = connect_timeout
        self.relay_kind = relay
        self._sessions: dict[str, _Session] = {}
        self._callbacks: list[StateCallback] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def connect(
        self,
        session_id: str,
        participant_id: str,
        role: Literal["customer", "agent"],
        offer_sdp: str,
    ) -> str:
        """Answer a participant's offer. Calling again for the same participant (reconnect,
        ICE restart) replaces its previous connection. Raises :class:`OfferRejected`."""
        if self._closed:
            raise RuntimeError("MediaHub is closed")
        if role not in _DIRECTIONS:
            raise ValueError(f"unknown role {role!r}")
        session = self._session(session_id)
        async with session.lock:
            peer = ServerPeer(
                participant_id,
                session,
                directions=_DIRECTIONS[role],
                host_addresses=self._host_addresses,
                connect_timeout=self._connect_timeout,
                media_port=self.media_port,
                session_id=session_id,
            )
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
        session = self._session(session_id)
        transmits = session.set_media_allowed(allowed)  # takes effect for the next packet
        if transmits:  # keyframe requests for agents that can now see the customer
            self.spawn(session.send(transmits))

    def on_state(self, callback: Callable[[str, str, str], None]) -> None:
        """Call ``callback(session_id, participant_id, state)`` on every state change, with
        state in "connecting", "connected", "failed", "closed"."""
        self._callbacks.append(callback)

    def on_anomaly(self, callback: Callable[[str | None, str, int, str], None]) -> None:
        """Call ``callback(session_id, reason, count, ip)`` for forged SRTP and STUN with
        wrong credentials on the media port (see ``MediaPort.on_anomaly``). On the aiortc
        path libsrtp and aioice drop such packets silently, so nothing is reported."""
        if self.media_port is not None:
            self.media_port.on_anomaly(callback)

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
            **session.stats(),
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
            session.close()
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

    def _session(self, session_id: str) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = _Session(
                session_id, self, new_relay(self.relay_kind)
            )
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
