"""The aiortc media path: aioice's sockets per participant, aiortc's SRTP, and every
decrypted packet through Python to a relay per session. ``livelens serve`` never runs it
(its media is the Rust media port's, :mod:`livelens.media.media_port`); it is kept as
the test oracle, with the Python reference relay or the Rust one behind the same
sockets, and as the baseline of the benchmarks.

``MediaHub(AiortcPath(...))`` gives the hub this path instead of a ``MediaPort``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from livelens import clock
from livelens.media import ice, stun_guard
from livelens.media.media_port import AnomalyCallback, Spawn
from livelens.media.peer import PeerRequest, ServerPeer
from livelens.media.recording import RecordingEnd, RecordingFailedCallback, RecordingUnavailable
from livelens.media.relay import PacketRelay, RelayKind, Transmit, new_relay
from livelens.media.streams import MediaKind

_CANNOT_RECORD = "the aiortc media path cannot record"


class AiortcPath:
    """Media on aiortc's own sockets through a relay in Python's reach (see above)."""

    def __init__(
        self, *, host_addresses: Sequence[str] | None = None, relay: RelayKind = "reference"
    ) -> None:
        """``host_addresses``: the local IPs aioice offers as host candidates (None: every
        non-loopback address it finds). ``relay``: "reference" (the Python relay, the
        baseline) or "fast" (the Rust relay, called per packet from Python)."""
        new_relay(relay)  # an unknown kind fails here, at startup
        self.relay = relay
        self._host_addresses = ice.validate(host_addresses) if host_addresses is not None else None
        stun_guard.install()  # aioice's sockets answer no unauthenticated STUN either

    def open_session(self, session_id: str, spawn: Spawn) -> AiortcSession:
        return AiortcSession(new_relay(self.relay), self.relay, self._host_addresses, spawn)

    def on_anomaly(self, callback: AnomalyCallback) -> None:
        """Nothing to report: libsrtp and aioice drop forged packets silently."""

    def on_recording_failed(self, callback: RecordingFailedCallback) -> None:
        """Nothing to report: this path never records."""

    def close(self) -> None:
        """Nothing to close: each connection has its own sockets."""


class AiortcSession:
    """One session's relay, fed the decrypted packets of its peers, and its output sent
    back through them."""

    def __init__(
        self,
        relay: PacketRelay,
        kind: RelayKind,
        host_addresses: Sequence[str] | None,
        spawn: Spawn,
    ) -> None:
        self.relay = relay
        self._kind = kind
        self._host_addresses = host_addresses
        self._spawn = spawn
        self._peers: dict[str, ServerPeer] = {}  # participant id -> its current connection
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None

    def new_peer(self, request: PeerRequest) -> ServerPeer:
        return request.server_peer(host_addresses=self._host_addresses, packets=self)

    # --------------------------------------------------------- PacketListener

    async def peer_rtp(self, peer: ServerPeer, data: bytes) -> None:
        if self._peers.get(peer.peer_id) is peer:
            await self.send(self.relay.handle_packet(peer.peer_id, data, clock.now()))

    async def peer_rtcp(self, peer: ServerPeer, data: bytes) -> None:
        if self._peers.get(peer.peer_id) is peer:
            await self.send(self.relay.handle_packet(peer.peer_id, data, clock.now()))

    # --------------------------------------------------------- the hub's calls

    def add_leg(self, participant_id: str, peer: ServerPeer, *, forwarding: bool) -> None:
        self._peers[participant_id] = peer
        self.relay.add_leg(participant_id, peer.media, forwarding=forwarding)

    def remove_leg(self, participant_id: str) -> None:
        self._peers.pop(participant_id, None)
        self.relay.remove_leg(participant_id)

    def add_route(self, source: str, sink: str, kind: MediaKind) -> None:
        self.relay.add_route(source, sink, kind)

    def set_connected(self, participant_id: str) -> None:
        self._output(self.relay.switch(participant_id, "connected", True, clock.now()))

    def set_forwarding(self, participant_id: str, allowed: bool) -> None:
        # Opening the gate asks for keyframes, sent at once.
        self._output(self.relay.switch(participant_id, "forwarding", allowed, clock.now()))

    def stats(self) -> dict[str, object]:
        return {"path": f"aiortc+{self._kind}", **self.relay.stats()}

    # Recording runs in the Rust media port only.

    def start_recording(self, recording_id: str, key: bytes) -> None:
        raise RecordingUnavailable(_CANNOT_RECORD)

    def record(self, participant_id: str) -> None:
        raise RecordingUnavailable(_CANNOT_RECORD)

    def gate_recording(self, allowed: bool) -> None:
        raise RecordingUnavailable(_CANNOT_RECORD)

    def take_recording(self) -> bytes:
        raise RecordingUnavailable(_CANNOT_RECORD)

    def stop_recording(self) -> RecordingEnd:
        raise RecordingUnavailable(_CANNOT_RECORD)

    def close(self) -> None:
        self._cancel_timer()

    # --------------------------------------------------------- output

    def _output(self, transmits: Sequence[Transmit]) -> None:
        self._spawn(self.send(transmits))

    async def send(self, transmits: Iterable[Transmit]) -> None:
        for leg_id, data in transmits:
            peer = self._peers.get(leg_id)
            if peer is not None:
                await peer.send(data)
        self._arm_timer()

    def _arm_timer(self) -> None:
        due = self.relay.next_timeout()
        if due == self._timer_due:
            return
        self._cancel_timer()
        if due is not None:
            # +1 ms: the loop's timer may fire a hair early against the wall clock.
            delay = max(0.0, due - clock.now()) + 0.001
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
            self._timer_due = due

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_due = None
        self._output(self.relay.handle_timeout(clock.now()))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_due = None
