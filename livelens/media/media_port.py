"""The media UDP port owned by the Rust data plane, as the asyncio side sees it: the one
media path ``livelens serve`` runs. Beside it, on the same port number, its TCP twin
takes passive ICE-TCP connections (RFC 6544) for browsers whose UDP is blocked; Rust
runs those the same way, so nothing here depends on which a connection uses. The port
may also own the web port (443) shared with media: Rust sorts its connections by their
first bytes, keeps ICE-TCP, and passes TLS/HTTP connections here, untouched, for the web
server (:meth:`MediaPort.on_web_connection`).

One :class:`MediaPort` per node wraps ``livelens._fastpath.MediaSocket``: Rust answers
STUN, keeps SRTP and relays packets on its own thread; Python only receives DTLS
records and ICE changes, as events, through a wake-up file descriptor the event loop
watches. Each participant's connection registers an :class:`~livelens.media.ice_lite.
IceLiteConnection` here and gets its events.

For the media hub, the port opens a :class:`PortSession` per session, which numbers the
session and its participants once (a participant keeps its number across reconnects),
so that Rust, per packet, only ever deals with numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from livelens._fastpath import (
    Anomaly,
    ConsentExpired,
    DtlsReceived,
    MediaSocket,
    RecordingError,
    RecordingFailed,
    TransportNominated,
)
from livelens.config import DEFAULT_MEDIA_PORT
from livelens.media.addresses import advertised_addresses, web_candidate_addresses
from livelens.media.dtls_srtp import SrtpKeys
from livelens.media.ice_lite import PortLeg
from livelens.media.peer import PeerRequest, ServerPeer
from livelens.media.recording import (
    RECORDER_LEG,
    RecordingEnd,
    RecordingFailedCallback,
    RecordingUnavailable,
    recording_end,
)
from livelens.media.streams import MEDIA_KINDS, MediaKind

log = logging.getLogger(__name__)

# OpenSSL's DTLS-SRTP profile names (what aiortc negotiates) -> the RFC names Rust uses.
SRTP_PROFILES = {
    "SRTP_AES128_CM_SHA1_80": "AES_CM_128_HMAC_SHA1_80",
    "SRTP_AEAD_AES_128_GCM": "AEAD_AES_128_GCM",
    "SRTP_AEAD_AES_256_GCM": "AEAD_AES_256_GCM",
}


class TransportEvents(Protocol):
    """What a registered connection is told (see ``MediaSocket.poll_events``)."""

    def on_dtls(self, data: bytes) -> None: ...

    def on_selected(self, address: tuple[str, int]) -> None: ...

    def on_moved(self, address: tuple[str, int]) -> None: ...

    def on_consent_expired(self) -> None: ...


# (session id or None when no transport matched, drop reason, occurrences so far, IP)
AnomalyCallback = Callable[[str | None, str, int, str], None]
Spawn = Callable[[Coroutine[Any, Any, None]], None]
# A web connection from the shared web port, and its peer's (ip, port).
WebConnectionCallback = Callable[[socket.socket, tuple[str, int]], None]


class MediaPort:
    """The node's media UDP port (default 15000). Create it inside the running loop."""

    def __init__(
        self,
        host: str = "0.0.0.0",  # noqa: S104 - the media port faces browsers
        port: int = DEFAULT_MEDIA_PORT,
        *,
        host_addresses: Sequence[str] | None = None,
        announced: Sequence[str] = (),
        consent_timeout: float = 30.0,
        tcp: bool = True,
        tcp_stall_timeout: float = 5.0,
        web_hosts: Sequence[str] = (),
        web_port: int = 0,
        web_public_port: int | None = None,
    ) -> None:
        """Bind ``host:port`` (port 0: ephemeral, for tests) for UDP and, with ``tcp``,
        for TCP. ``host_addresses``: the IPs advertised when ``host`` is unspecified
        (None: the machine's addresses). ``announced``: IPs advertised instead, whatever
        is bound (behind 1:1 NAT, the public address forwards to this port).
        ``consent_timeout``: seconds without a STUN check before a connection fails.
        ``tcp_stall_timeout``: seconds an ICE-TCP connection may leave data unread
        before it is cut. ``web_hosts``: IPs whose ``web_port`` (0: ephemeral) the port
        owns, shared between ICE-TCP and the web server (see :meth:`on_web_connection`);
        ``web_public_port``: the port browsers reach it on, if not that one (behind a
        port-forward: the public URL's). ``host`` ``::`` binds dual-stack (IPv4 and IPv6;
        ``0.0.0.0`` where the machine has no IPv6)."""
        self._socket = MediaSocket(
            host,
            port,
            consent_timeout,
            tcp=tcp,
            tcp_stall_timeout=tcp_stall_timeout,
            web_hosts=list(web_hosts),
            web_port=web_port,
        )
        bound, self.port = self._socket.local_address
        tcp_address = self._socket.tcp_address
        # The TCP twin's port (the same number as the UDP port's), None without one.
        self.tcp_port = tcp_address[1] if tcp_address is not None else None
        web = self._socket.web_addresses
        # The shared web port's number, offered as a second passive ICE-TCP candidate.
        self.web_port = web[0][1] if web else None
        # The port its candidate carries: where browsers reach it.
        self.web_candidate_port = (web_public_port or self.web_port) if web else None
        self._web_callback: WebConnectionCallback | None = None
        self.addresses = list(announced) or advertised_addresses(bound, host_addresses)
        # The addresses the web port's candidates are offered on.
        self.web_candidate_addresses = web_candidate_addresses(
            self.addresses, [ip for ip, _ in web], bool(announced)
        )
        # transport -> (its connection, its session's number)
        self._transports: dict[int, tuple[TransportEvents, int]] = {}
        self._session_ids: dict[int, str] = {}  # session number -> session id
        self._session_numbers = itertools.count(1)
        self._anomaly_callbacks: list[AnomalyCallback] = []
        self._recording_callbacks: list[RecordingFailedCallback] = []
        self._loop = asyncio.get_running_loop()
        self._fd = self._socket.wakeup_fd()
        self._loop.add_reader(self._fd, self._on_wakeup)
        self._closed = False

    @property
    def socket(self) -> MediaSocket:
        """The Rust socket, for per-session calls and diagnostics."""
        return self._socket

    def open_session(self, session_id: str, spawn: Spawn) -> PortSession:
        """The media of one session (for the hub: see ``hub.MediaPath``); Rust makes its
        relay when its first leg comes."""
        if self._closed:
            raise RuntimeError("media port is closed")
        number = next(self._session_numbers)
        self._session_ids[number] = session_id
        return PortSession(self, session_id, number)

    def add_transport(
        self, session: int, leg: int, ufrag: str, pwd: str, events: TransportEvents
    ) -> int:
        if self._closed:
            raise RuntimeError("media port is closed")
        transport = self._socket.add_transport(session, leg, ufrag, pwd)
        self._transports[transport] = (events, session)
        return transport

    def remove_transport(self, transport: int) -> None:
        self._transports.pop(transport, None)
        if not self._closed:
            self._socket.remove_transport(transport)

    def set_srtp_keys(self, transport: int, keys: SrtpKeys) -> None:
        """Hand a finished handshake's keys to Rust: SRTP never enters Python after this."""
        profile = SRTP_PROFILES[keys.profile]
        k = keys.key_length
        self._socket.set_srtp_keys(
            transport, profile, keys.tx_key[:k], keys.tx_key[k:], keys.rx_key[:k], keys.rx_key[k:]
        )

    def stats(self) -> dict[str, Any]:
        """The port's counters and every transport's (see ``MediaSocket.stats``)."""
        return self._socket.stats()

    def _forget_session(self, number: int) -> None:
        self._session_ids.pop(number, None)
        if not self._closed:
            self._socket.end_session(number)

    def _on_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(self._fd, 4096):
                pass
        for event in self._socket.poll_events():
            if isinstance(event, Anomaly):
                self._report_anomaly(event)
                continue
            if isinstance(event, RecordingFailed):
                self._report_recording_failed(event)
                continue
            registered = self._transports.get(event.transport)
            if registered is None:
                continue  # a transport closed meanwhile
            connection = registered[0]
            try:
                match event:
                    case DtlsReceived():
                        connection.on_dtls(event.data)
                    case TransportNominated(moved=False):
                        connection.on_selected(event.address)
                    case TransportNominated(moved=True):
                        connection.on_moved(event.address)
                    case ConsentExpired():
                        connection.on_consent_expired()
            except Exception:
                log.exception("media port: %s handler failed", type(event).__name__)
        self._hand_web_connections()

    def on_web_connection(self, callback: WebConnectionCallback) -> None:
        """Give the shared web port's TLS/HTTP connections to ``callback(sock, address)``,
        nothing read from them, with the peer's real address; until a callback is set
        they wait in Rust."""
        self._web_callback = callback
        self._loop.call_soon(self._hand_web_connections)

    def _hand_web_connections(self) -> None:
        callback = self._web_callback
        if callback is None or self._closed:
            return
        for fd, address in self._socket.take_web_connections():
            sock = socket.socket(fileno=fd)
            try:
                callback(sock, address)
            except Exception:
                sock.close()
                log.exception("media port: a web connection's hand-over failed")

    def on_anomaly(self, callback: AnomalyCallback) -> None:
        """Call ``callback(session_id, reason, count, ip)`` when the port sees forged SRTP
        or STUN with wrong credentials: at the 1st, 10th, 100th, ... time per transport
        (per port when no transport matched), so a flood costs a few calls."""
        self._anomaly_callbacks.append(callback)

    def _report_anomaly(self, event: Anomaly) -> None:
        transport = event.transport
        registered = self._transports.get(transport) if transport is not None else None
        session_id = self._session_ids.get(registered[1]) if registered else None
        for callback in list(self._anomaly_callbacks):
            try:
                callback(session_id, event.reason, event.count, event.address[0])
            except Exception:
                log.exception("media port: anomaly callback failed")

    def on_recording_failed(self, callback: RecordingFailedCallback) -> None:
        """Call ``callback(session_id, reason)`` when a session's recording ends on its
        own (see ``MediaSocket.start_recording``)."""
        self._recording_callbacks.append(callback)

    def _report_recording_failed(self, event: RecordingFailed) -> None:
        session_id = self._session_ids.get(event.session)
        if session_id is None:
            return  # the session ended meanwhile
        for callback in list(self._recording_callbacks):
            try:
                callback(session_id, event.reason)
            except Exception:
                log.exception("media port: recording callback failed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._socket.close()
        self._transports.clear()
        self._session_ids.clear()


class PortSession:
    """One session's media on the port: its participants' legs, routes and gates in the
    session's relay in Rust. Participants are numbered when their first connection is
    made, and keep the number across reconnects (the new transport replaces the old)."""

    # Sealed bytes a recording may leave in Rust between two take_recording calls before
    # it fails (None: the port's default, 64 MiB; tests lower it).
    max_uncollected: int | None = None

    def __init__(self, port: MediaPort, session_id: str, number: int) -> None:
        self._port = port
        self._socket = port.socket
        self.session_id = session_id
        self.number = number
        self._legs: dict[str, int] = {}  # participant id -> leg number

    def _leg(self, participant_id: str) -> int:
        return self._legs.setdefault(participant_id, len(self._legs) + 1)

    def new_peer(self, request: PeerRequest) -> ServerPeer:
        leg = self._leg(request.participant_id)
        return request.server_peer(port_leg=PortLeg(self._port, self.number, leg))

    def add_leg(self, participant_id: str, peer: ServerPeer, *, forwarding: bool) -> None:
        assert peer.transport_id is not None, "a peer of this port"
        leg = self._leg(participant_id)
        self._socket.add_leg(self.number, leg, peer.transport_id, peer.media, forwarding)

    def remove_leg(self, participant_id: str) -> None:
        self._socket.remove_leg(self.number, self._leg(participant_id))

    def add_route(self, source: str, sink: str, kind: MediaKind) -> None:
        self._socket.add_route(self.number, self._leg(source), self._leg(sink), kind)

    def set_connected(self, participant_id: str) -> None:
        self._socket.switch(self.number, self._leg(participant_id), "connected", True)

    def set_forwarding(self, participant_id: str, allowed: bool) -> None:
        # Opening the gate asks for keyframes: Rust sends those itself.
        self._socket.switch(self.number, self._leg(participant_id), "forwarding", allowed)

    # Recording: the session's relay gets a sink leg that records (RECORDER_LEG).

    def start_recording(self, recording_id: str, key: bytes) -> None:
        self._socket.start_recording(
            self.number, RECORDER_LEG, key, recording_id, max_uncollected=self.max_uncollected
        )

    def record(self, participant_id: str) -> None:
        """Route the participant's audio and video to the recording."""
        leg = self._leg(participant_id)
        for kind in MEDIA_KINDS:
            self._socket.add_route(self.number, leg, RECORDER_LEG, kind)

    def gate_recording(self, allowed: bool) -> None:
        self._socket.switch(self.number, RECORDER_LEG, "forwarding", allowed)

    def take_recording(self) -> bytes:
        try:
            return self._socket.take_recording(self.number, RECORDER_LEG)
        except RecordingError as error:
            raise RecordingUnavailable(str(error)) from error

    def stop_recording(self) -> RecordingEnd:
        try:
            sealed, stats = self._socket.stop_recording(self.number, RECORDER_LEG)
        except RecordingError as error:
            raise RecordingUnavailable(str(error)) from error
        return recording_end(sealed, stats)

    def stats(self) -> dict[str, object]:
        names = {number: pid for pid, number in self._legs.items()}
        names[RECORDER_LEG] = "recorder"  # a recording's leg, when one runs
        return {"path": "media_port", **self._socket.session_stats(self.number, names)}

    def close(self) -> None:
        self._port._forget_session(self.number)
