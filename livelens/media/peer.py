"""One server-side aiortc PeerConnection per participant, used only for signalling and keys.

aiortc negotiates the SDP, runs ICE and DTLS and derives SRTP; it never encodes,
decodes, jitter-buffers or generates RTCP here:

* audio/video transceivers are created before the offer is applied, so codec
  preferences (VP8, H.264 packetization-mode 1, Opus) shape the answer;
* each transceiver's ``sender.send`` / ``receiver.receive`` are replaced on the
  instance by no-ops, so aiortc's encoder, decoder, RTCP and RTP-router tasks never
  start (``RTCPeerConnection.__connect`` calls them once DTLS is up);
* the DTLS transport's ``_handle_rtp_data`` / ``_handle_rtcp_data`` are replaced on
  the instance, so decrypted packets go to the :class:`PacketListener` untouched, header
  extensions included;
* packets go out through ``_send_rtp`` (aiortc's SRTP).

On the media port (``port_leg``: what ``livelens serve`` runs), aioice is not used at
all: an ICE-lite stand-in (``ice_lite.py``) carries only DTLS between the Rust-owned UDP
port and aiortc, and the exported SRTP keys go to Rust when the handshake ends, so no
RTP/RTCP ever reaches the hooks above. Without it (the aiortc media path, kept as the
test oracle and benchmark baseline) aioice's sockets and aiortc's SRTP carry the
packets, and the hooks hand them to the :class:`PacketListener`.

Private aiortc API used here is pinned by tests/media/test_aiortc_contract.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pylibsrtp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from livelens.errors import InvalidInput
from livelens.media import ice, ice_lite
from livelens.media.dtls_srtp import SrtpKeys, export_srtp_keys
from livelens.media.negotiation import negotiated_media, parse_session
from livelens.media.streams import MEDIA_KINDS, MediaKind, MediaLine

log = logging.getLogger(__name__)

PeerState = Literal["connecting", "connected", "failed", "closed"]
Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]

MAX_OFFER_BYTES = 64 * 1024
DEFAULT_CONNECT_TIMEOUT = 30.0  # s from answer to connected; aioice alone may wait forever


class OfferRejected(InvalidInput, code="offer_rejected"):
    """The participant's SDP offer cannot be answered (malformed or unsupported)."""


class PeerListener(Protocol):
    """Where a :class:`ServerPeer` reports its state changes."""

    def peer_state(self, peer: ServerPeer, state: PeerState) -> None: ...


class PacketListener(Protocol):
    """Where a :class:`ServerPeer` off the media port delivers decrypted packets."""

    async def peer_rtp(self, peer: ServerPeer, data: bytes) -> None: ...

    async def peer_rtcp(self, peer: ServerPeer, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class PeerRequest:
    """A participant's new connection, as the hub asks a session's media for it
    (``SessionMedia.new_peer``), which puts it on its own transport with
    :meth:`server_peer`."""

    participant_id: str
    listener: PeerListener
    directions: Mapping[MediaKind, Direction]
    connect_timeout: float

    def server_peer(
        self,
        *,
        port_leg: ice_lite.PortLeg | None = None,
        host_addresses: Sequence[str] | None = None,
        packets: PacketListener | None = None,
    ) -> ServerPeer:
        """The connection's server end; the transport as for :class:`ServerPeer`."""
        return ServerPeer(
            self.participant_id,
            self.listener,
            directions=self.directions,
            connect_timeout=self.connect_timeout,
            port_leg=port_leg,
            host_addresses=host_addresses,
            packets=packets,
        )


def codec_preferences(kind: MediaKind) -> list[Any]:
    """Opus for audio; VP8, then H.264 constrained baseline / baseline (mode 1), RTX for video.

    Every participant gets the same list, so the codec a publisher picks is one every
    receiver negotiated too and the relay never has to transcode.
    """
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    if kind == "audio":
        return [c for c in capabilities if c.mimeType.lower() == "audio/opus"]

    def rank(codec: Any) -> int:
        mime = codec.mimeType.lower()
        if mime == "video/vp8":
            return 0
        if mime == "video/h264":
            return 1 if codec.parameters.get("profile-level-id") == "42e01f" else 2
        return 3 if mime == "video/rtx" else 9

    return sorted((c for c in capabilities if rank(c) < 9), key=rank)


class ServerPeer:
    """The server end of one participant's WebRTC connection."""

    def __init__(
        self,
        peer_id: str,
        listener: PeerListener,
        *,
        directions: Mapping[MediaKind, Direction] | None = None,
        host_addresses: Sequence[str] | None = None,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        port_leg: ice_lite.PortLeg | None = None,
        packets: PacketListener | None = None,
    ) -> None:
        """``port_leg``: run ICE-lite, SRTP and relaying on the Rust media port, for that
        session's leg; None: aioice's sockets (offering ``host_addresses``) and aiortc's
        SRTP, with decrypted packets delivered to ``packets``."""
        self.peer_id = peer_id
        self._port_leg = port_leg
        self._ice: ice_lite.IceLiteConnection | None = None
        self.python_packets = 0  # RTP/RTCP packets that reached Python (0 on the port)
        self._listener = listener
        self._packets = packets
        self._directions: dict[MediaKind, Direction] = {k: "sendrecv" for k in MEDIA_KINDS}
        self._directions.update(directions or {})
        self._host_addresses = ice.validate(host_addresses) if host_addresses is not None else None
        self._connect_timeout = connect_timeout
        # iceServers=[]: aiortc would otherwise contact stun.l.google.com.
        self._pc: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc.on("connectionstatechange", self._on_connection_state)
        self._dtls: Any = None
        self._state: PeerState = "connecting"
        self._media: tuple[MediaLine, ...] = ()
        self._srtp_keys: SrtpKeys | None = None
        self._accepted = False
        self._closing = False
        self._timeout: asyncio.TimerHandle | None = None
        self._listener_errors = 0

    # ------------------------------------------------------------------ public

    @property
    def state(self) -> PeerState:
        return self._state

    @property
    def media(self) -> tuple[MediaLine, ...]:
        """What the offer/answer negotiated (empty before :meth:`accept`)."""
        return self._media

    @property
    def srtp_keys(self) -> SrtpKeys | None:
        """SRTP profile, DTLS role and tx/rx master keys once DTLS is done, else None."""
        return self._srtp_keys

    @property
    def transport_id(self) -> int | None:
        """This connection's transport on the media port (None without one)."""
        return self._ice.transport_id if self._ice is not None else None

    @property
    def ice(self) -> ice_lite.IceLiteConnection | None:
        """The ICE-lite connection on the media port, for diagnostics and tests."""
        return self._ice

    @property
    def pc(self) -> Any:
        """The aiortc RTCPeerConnection, for diagnostics and tests only."""
        return self._pc

    async def accept(self, offer_sdp: str) -> str:
        """Apply the participant's offer and return our answer (with all our candidates)."""
        if self._accepted:
            raise RuntimeError("a ServerPeer accepts exactly one offer")
        self._accepted = True
        try:
            kinds = _check_offer(offer_sdp)
        except OfferRejected:
            await self.close()
            raise
        try:
            for kind in kinds:
                transceiver = self._pc.addTransceiver(kind, self._directions[kind])
                transceiver.setCodecPreferences(codec_preferences(kind))
                _neuter(transceiver)
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            # setRemoteDescription swaps in the BUNDLE transport; read it only now, and
            # hook it before setLocalDescription, which is what starts ICE and DTLS.
            transports = {id(t.receiver.transport) for t in self._pc.getTransceivers()}
            if len(transports) != 1:
                raise ValueError("media is not bundled on one transport")
            self._dtls = self._pc.getTransceivers()[0].receiver.transport
            self._install_hooks(self._dtls)
            if self._port_leg is not None:
                self._ice = ice_lite.IceLiteConnection(self._port_leg)
                ice_lite.install(self._dtls, self._ice)
            answer = await self._pc.createAnswer()
            with ice.host_addresses(self._host_addresses):
                await self._pc.setLocalDescription(answer)
            answer_sdp = str(self._pc.localDescription.sdp)
            self._media = negotiated_media(offer_sdp, answer_sdp)
        except Exception as exc:
            await self.close()
            raise OfferRejected(f"cannot answer this offer: {exc}") from exc
        if self._connect_timeout is not None and self._state == "connecting":
            loop = asyncio.get_running_loop()
            self._timeout = loop.call_later(self._connect_timeout, self._on_connect_timeout)
        return answer_sdp

    async def send(self, data: bytes) -> bool:
        """Protect and send one plaintext RTP or RTCP packet; False if it could not go out."""
        dtls = self._dtls
        if dtls is None or dtls.state != "connected" or self._closing:
            return False
        try:
            await dtls._send_rtp(data)
        except (ConnectionError, pylibsrtp.Error):
            return False
        return True

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        await self._pc.close()
        self._set_state("closed")

    # ------------------------------------------------------------------ aiortc glue

    def _install_hooks(self, dtls: Any) -> None:
        setup_srtp = dtls._setup_srtp

        def setup_srtp_and_export() -> None:
            setup_srtp()  # aiortc still builds its own sessions (unused on the media port)
            if dtls.state != "failed":
                try:
                    self._srtp_keys = export_srtp_keys(dtls)
                    if self._srtp_keys is not None and self._ice is not None:
                        self._ice.set_srtp_keys(self._srtp_keys)
                except Exception:
                    log.exception("peer %s: SRTP key export failed", self.peer_id)

        dtls._setup_srtp = setup_srtp_and_export
        dtls._handle_rtp_data = self._on_rtp_data
        dtls._handle_rtcp_data = self._on_rtcp_data

    async def _on_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        await self._deliver(data, rtcp=False)

    async def _on_rtcp_data(self, data: bytes) -> None:
        await self._deliver(data, rtcp=True)

    async def _deliver(self, data: bytes, *, rtcp: bool) -> None:
        """Hand a decrypted packet to the :class:`PacketListener`, if it still wants it."""
        self.python_packets += 1
        packets = self._packets
        if self._closing or packets is None:
            return
        try:
            await (packets.peer_rtcp if rtcp else packets.peer_rtp)(self, data)
        except Exception:
            self._listener_failed()

    def _listener_failed(self) -> None:
        # An exception here would end aiortc's receive loop and with it the connection,
        # so a relay bug costs one packet, and is logged (sparingly: this is per packet).
        self._listener_errors += 1
        if self._listener_errors == 1 or self._listener_errors % 1000 == 0:
            log.exception(
                "peer %s: packet handler failed (%d times)", self.peer_id, self._listener_errors
            )

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected":
            self._set_state("connected")
        elif state == "failed":
            self._set_state("failed")
        elif state == "closed":
            self._set_state("closed")

    def _on_connect_timeout(self) -> None:
        self._timeout = None
        if self._state == "connecting":
            log.info("peer %s: not connected after %ss", self.peer_id, self._connect_timeout)
            self._set_state("failed")

    def _set_state(self, state: PeerState) -> None:
        current = self._state
        if state == current or current == "closed":
            return
        if current == "failed" and state != "closed":
            return  # failed is final except for the closing that follows it
        self._state = state
        if state != "connecting" and self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        self._listener.peer_state(self, state)


def _check_offer(offer_sdp: str) -> list[MediaKind]:
    """The media kinds of a supported offer, in offer order; OfferRejected otherwise."""
    if len(offer_sdp) > MAX_OFFER_BYTES:
        raise OfferRejected("offer is too large")
    try:
        session = parse_session(offer_sdp)
    except ValueError as exc:
        raise OfferRejected(str(exc)) from exc
    kinds: list[MediaKind] = []
    mids: list[str] = []
    for media in session.media:
        if media.kind not in MEDIA_KINDS:
            raise OfferRejected(f"unsupported m-line kind {media.kind!r} (audio and video only)")
        if media.kind in kinds:
            raise OfferRejected(f"more than one {media.kind} m-line")
        if not media.rtp.muxId:
            raise OfferRejected("m-line without a=mid")
        kinds.append(media.kind)
        mids.append(str(media.rtp.muxId))
    if not kinds:
        raise OfferRejected("offer has no audio or video")
    bundle = next((g for g in session.group if g.semantic == "BUNDLE"), None)
    if bundle is None or sorted(map(str, bundle.items)) != sorted(mids):
        raise OfferRejected("offer must BUNDLE all its m-lines")
    return kinds


def _neuter(transceiver: Any) -> None:
    """Keep aiortc from starting its media tasks for this transceiver."""

    async def send(parameters: Any) -> None:
        return None  # instead of encoder, RTP and RTCP (SR/SDES/BYE) tasks

    async def receive(parameters: Any) -> None:
        return None  # instead of decoder thread, RTP router registration and RR task

    transceiver.sender.send = send
    transceiver.receiver.receive = receive
