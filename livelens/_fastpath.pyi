"""Typed contract of the Rust data plane (``rust_fastpath``), checked against the built module
(``tests/media/test_fastpath_stub.py`` runs mypy's stubtest on it).

Errors: every refusal is one of the exception classes below, chosen in one place
(``rust_fastpath/src/py/error.rs``); each subclasses the builtin the same refusal raised
before (``ValueError``, ``KeyError``), so callers may catch either. The message is the
reason. Invalid arguments the cores never see (a port number, a media kind) are plain
``ValueError``; the operating system's refusals are ``OSError``.
"""

from collections.abc import Iterable, Sequence
from typing import Any, Literal, final

from livelens.media.streams import MediaKind, MediaLine

__version__: str

# ------------------------------------------------------------------------------ errors

class SrtpError(ValueError):
    """SRTP refused a packet, a profile or a key (unknown profile, wrong key or salt
    length, too many streams, SRTCP index exhausted, cipher failure)."""

class MalformedPacket(SrtpError):
    """Too short, the wrong version, or a header that claims more bytes than there are."""

class AuthenticationFailed(SrtpError):
    """The authentication tag does not match: forged, corrupted, or other keys."""

class ReplayedPacket(SrtpError):
    """Already received, or older than the replay window."""

class RelayError(ValueError):
    """The relay refused a topology call or its settings: an existing leg, a route from a
    leg to itself, m-lines it cannot serve, a bad history size or seed."""

class UnknownLeg(KeyError):
    """A leg the relay does not have."""

class UnknownTransport(KeyError):
    """A transport the media port does not have (removed, or never added)."""

class UnknownSession(KeyError):
    """A session the media port has no leg of (or that ended)."""

class MediaPortError(ValueError):
    """The media port refused a control call: an ICE ufrag already in use, a transport
    without a nominated address."""

# ------------------------------------------------------------------------------ SRTP

@final
class SrtpContext:
    """SRTP/SRTCP (RFC 3711, RFC 7714) for one set of keys, any number of SSRCs.

    ``profile`` is ``"AES_CM_128_HMAC_SHA1_80"``, ``"AEAD_AES_128_GCM"`` or
    ``"AEAD_AES_256_GCM"``; the master key is 16 bytes (32 for AES-256) and the master salt
    14 bytes for AES-CM, 12 for GCM. ``protect``/``protect_rtcp`` keep sender state,
    ``unprotect``/``unprotect_rtcp`` receiver state (ROC, 128-packet replay windows).
    Every refusal is an :class:`SrtpError` (:class:`MalformedPacket`,
    :class:`AuthenticationFailed`, :class:`ReplayedPacket`, or the base class for the
    rest) and is counted in ``stats()``.
    """

    def __new__(cls, profile: str, master_key: bytes, master_salt: bytes) -> SrtpContext: ...
    @staticmethod
    def from_session_keys(
        profile: str,
        rtp_key: bytes,
        rtp_salt: bytes,
        rtcp_key: bytes,
        rtcp_salt: bytes,
        rtp_auth_key: bytes = b"",
        rtcp_auth_key: bytes = b"",
    ) -> SrtpContext:
        """A context keyed by session keys (no key derivation): SDES keying, test vectors.
        The auth keys are 20 bytes for AES_CM_128_HMAC_SHA1_80 and empty for GCM."""
    @property
    def profile(self) -> str:
        """The profile name the context was keyed for."""
    def protect(self, rtp: bytes) -> bytes:
        """The SRTP packet for an RTP packet. Re-protecting a sequence number inside the
        replay window is allowed (retransmission); an older one is a
        :class:`ReplayedPacket`."""
    def unprotect(self, srtp: bytes) -> bytes:
        """The RTP packet in an SRTP packet; :class:`MalformedPacket`,
        :class:`AuthenticationFailed` or :class:`ReplayedPacket` otherwise."""
    def protect_rtcp(self, rtcp: bytes) -> bytes:
        """The SRTCP packet for an RTCP compound packet (next SRTCP index of its SSRC)."""
    def unprotect_rtcp(self, srtcp: bytes) -> bytes:
        """The RTCP compound packet in an SRTCP packet; refused as by ``unprotect``."""
    def stats(self) -> dict[str, int]:
        """Counters: ``rtp_protected``, ``rtp_unprotected``, ``rtcp_protected``,
        ``rtcp_unprotected``, and refusals: ``malformed``, ``auth_failed``, ``replayed``,
        ``rejected`` (stream limit, SRTCP index exhausted, cipher failure)."""

# ------------------------------------------------------------------------------ the media port

@final
class DtlsReceived:
    """A DTLS record for the transport's ``RTCDtlsTransport``."""

    @property
    def transport(self) -> int: ...
    @property
    def data(self) -> bytes: ...

@final
class TransportNominated:
    """ICE nominated an address of the transport: its first (``moved`` False: it is up,
    DTLS may start) or a new one (``moved`` True: the browser moved, a network change)."""

    @property
    def transport(self) -> int: ...
    @property
    def address(self) -> tuple[str, int]: ...
    @property
    def moved(self) -> bool: ...

@final
class ConsentExpired:
    """No valid STUN check for the consent timeout: the transport is dead (RFC 7675)."""

    @property
    def transport(self) -> int: ...

@final
class Anomaly:
    """Input that suggests an attack rather than a bad network, reported at its 1st,
    10th, 100th, ... occurrence on the transport (``transport`` None: none matched, per
    port) so a flood stays a few events. ``reason`` is ``"srtp_auth_failed"``,
    ``"stun_bad_integrity"``, ``"stun_wrong_username"`` or ``"stun_unknown_username"``;
    ``address`` is where it came from."""

    @property
    def transport(self) -> int | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def address(self) -> tuple[str, int]: ...

@final
class RecordingFailed:
    """The recording on ``leg`` of ``session`` ended on its own (its key's chunk limit, or
    sealed bytes left uncollected for minutes): the port dropped it, and what was taken
    of it is not a complete file."""

    @property
    def session(self) -> int: ...
    @property
    def leg(self) -> int: ...
    @property
    def reason(self) -> str: ...

MediaEvent = DtlsReceived | TransportNominated | ConsentExpired | Anomaly | RecordingFailed

@final
class MediaSocket:
    """The media UDP port: one socket for every session, run by a Rust thread without
    the GIL. It answers STUN checks (ICE-lite) itself, those that authenticate only (the
    rest are dropped unanswered, counted in ``stats()``'s port ``drops``), unprotects
    SRTP/SRTCP, relays through each session's relay and protects per receiver; DTLS
    records and ICE changes reach Python as events (``wakeup_fd`` becomes readable, then
    ``poll_events``).

    Sessions and legs are numbers the caller chooses (a leg number is unique within its
    session and stays the participant's across reconnects); transports are numbered by
    the port. No string of Python's is looked up per packet.

    Its TCP twin, on the same port number, takes passive ICE-TCP connections (RFC 6544,
    RFC 4571 framing) on a thread of its own: a connection whose first frame is a check
    that authenticates carries that transport, DTLS and SRTP included, through a bounded
    queue that drops video before audio and RTCP."""

    def __new__(
        cls,
        host: str,
        port: int,
        consent_timeout: float = 30.0,
        *,
        tcp: bool = True,
        tcp_stall_timeout: float = 5.0,
        tcp_ice_timeout: float = 5.0,
        tcp_queue_bytes: int = 262144,
        web_hosts: Sequence[str] = ...,  # none: the web port is not shared
        web_port: int = 0,
    ) -> MediaSocket:
        """Bind ``host:port`` (an IP literal; port 0: ephemeral, then a number free for UDP
        and TCP) and start the threads; ``OSError`` if the port cannot be bound.
        ``consent_timeout``: seconds without a valid STUN check before a transport is
        reported dead (RFC 7675). ``tcp``: also listen for ICE-TCP; an ICE-TCP connection
        is cut when it leaves queued data unread for ``tcp_stall_timeout`` seconds, or
        has not passed a check ``tcp_ice_timeout`` seconds after it was accepted; its
        queue holds ``tcp_queue_bytes``. ``web_hosts`` (IP literals; needs ``tcp``): also
        listen on ``web_port`` of each (0: one ephemeral number for all), the web port
        shared with media: connections whose first bytes are a framed STUN message are
        ICE-TCP, TLS and plain HTTP ones wait in ``take_web_connections``."""
    @property
    def local_address(self) -> tuple[str, int]: ...
    @property
    def tcp_address(self) -> tuple[str, int] | None:
        """The TCP twin's ``(ip, port)``; None when made with ``tcp=False``."""
    @property
    def web_addresses(self) -> list[tuple[str, int]]:
        """The shared web port's listeners; empty when not shared."""
    def take_web_connections(self) -> list[tuple[int, tuple[str, int]]]:
        """The shared web port's TLS/HTTP connections since the last call (``wakeup_fd``
        becomes readable when there are some): a file descriptor the caller now owns, with
        nothing read from it, and the peer's ``(ip, port)``."""
    def web_port_stats(self) -> dict[str, int]:
        """How the shared web port sorted connections: ``accepted``, ``ice_tcp``, ``web``,
        ``web_unsorted`` (silent for 2 s, or too many waiting), ``garbage`` (reset),
        ``closed_unsorted``, ``accept_failed``."""
    def wakeup_fd(self) -> int:
        """Readable when events wait; read and discard its bytes, then ``poll_events``."""
    def add_transport(self, session: int, leg: int, local_ufrag: str, local_pwd: str) -> int:
        """A transport of ``leg`` in ``session`` answering checks for ``local_ufrag``;
        returns its id. :class:`MediaPortError` if the ufrag is in use."""
    def set_remote_ufrag(self, transport: int, ufrag: str) -> None:
        """:class:`UnknownTransport` for a transport the port does not have."""
    def remove_transport(self, transport: int) -> None: ...
    def send(self, transport: int, data: bytes) -> bool:
        """Send a datagram (DTLS) down the nominated path (UDP, or a frame on an ICE-TCP
        connection); False before nomination."""
    def set_srtp_keys(
        self,
        transport: int,
        profile: str,
        tx_key: bytes,
        tx_salt: bytes,
        rx_key: bytes,
        rx_salt: bytes,
    ) -> None:
        """From now on this transport's SRTP/SRTCP is handled in Rust (RFC profile name);
        :class:`SrtpError` for an unknown profile or a wrong key length."""
    def add_leg(
        self,
        session: int,
        leg: int,
        transport: int,
        media: Iterable[MediaLine],
        forwarding: bool,
    ) -> None:
        """Register (or, after a reconnect, re-register) a leg of the session's relay,
        carried by ``transport``; :class:`RelayError` for m-lines it cannot serve."""
    def remove_leg(self, session: int, leg: int) -> None: ...
    def add_route(self, session: int, source: int, sink: int, kind: MediaKind) -> bool:
        """As ``Relay.add_route``; :class:`UnknownSession`, :class:`UnknownLeg`."""
    def switch(
        self, session: int, leg: int, switch: Literal["forwarding", "connected"], on: bool
    ) -> None:
        """Open or close a leg's gate (keyframe requests go out from Rust), or report its
        transport up or down."""
    def start_recording(
        self,
        session: int,
        leg: int,
        key: bytes,
        recording_id: str,
        *,
        max_uncollected: int | None = None,
    ) -> None:
        """Record the session as a sink leg ``leg`` of its relay (a number no participant
        uses; route sources to it with ``add_route``): VP8 video and Opus audio into a
        WebM file, sealed as it is written under ``key`` (32 bytes) for ``recording_id``
        (see :class:`RecordingReader`). No packet reaches Python. Sealed bytes left
        uncollected past ``max_uncollected`` (None: 64 MiB) end the recording
        (:class:`RecordingFailed`). :class:`MediaPortError` for a leg in use,
        :class:`RecordingError` for a bad key or id."""
    def take_recording(self, session: int, leg: int) -> bytes:
        """The sealed bytes produced since the last call, to append to the stored file;
        collect them about every second. :class:`RecordingError` if no recording runs
        there (never started, stopped, or failed: see :class:`RecordingFailed`)."""
    def recording_stats(self, session: int, leg: int) -> dict[str, Any]:
        """The recording's counters: per track (``video``, ``audio``) ``packets``,
        ``frames``, ``lost_packets``, ``late_packets``, ``dropped_frames``,
        ``stream_changes``; and ``webm_bytes``, ``sealed_bytes``, ``clusters``,
        ``reanchors``, ``duration_ms``. Refused as ``take_recording``."""
    def stop_recording(self, session: int, leg: int) -> tuple[bytes, dict[str, Any]]:
        """End the recording and remove its leg: the last sealed bytes (the file is
        complete with them) and the final counters. Refused as ``take_recording``."""
    def end_session(self, session: int) -> None: ...
    def poll_events(self) -> list[MediaEvent]:
        """Everything that happened since the last call, oldest first."""
    def stats(self) -> dict[str, Any]:
        """``{"port": counters, "transports": {id: counters}, "sessions": n, "tcp": {...}}``;
        counters are ``rx_packets`` by kind, ``rx_bytes``, ``tx_packets``, ``tx_bytes``
        and ``drops`` by reason (an ICE-TCP leg's queue drops as ``tcp_video_dropped``,
        ``tcp_audio_dropped``, ``tcp_control_dropped``); a transport's add ``session``,
        ``leg``, ``nominated`` (``(ip, port)`` or None), ``protocol`` (``"udp"``,
        ``"tcp"`` or None) and ``srtp`` (the receiving context's counters). ``tcp``:
        ``connections`` open, ``accepted`` so far, ``closed`` by reason
        (``tcp_garbage``, ``tcp_ice_failed``, ``tcp_ice_timeout``, ``tcp_stalled``,
        ``tcp_write_failed``, ``tcp_too_many``)."""
    def session_stats(self, session: int, names: dict[int, str] | None = None) -> dict[str, Any]:
        """The session relay's ``Relay.stats()`` dict plus ``"transports"`` (each leg's
        transport counters), legs named by ``names`` (by their numbers otherwise)."""
    def close(self) -> None:
        """Stop the thread (idempotent)."""

# ------------------------------------------------------------------------------ the relay

@final
class Relay:
    """The sans-IO packet relay of one session, in Rust: the same API and, given the same
    ``seed``, byte for byte the same output as ``livelens.media.reference_relay.Relay``
    (whose docstring is the specification). The media port runs this relay itself; this
    class is its twin for the tests that compare the two and the benchmark.

    Every call takes ``now`` (seconds, any epoch) and returns the plaintext packets to
    send as ``(leg_id, data)`` tuples, which unpack like the reference's ``Transmit``.
    ``seed``: 0 <= seed < 2**64 for reproducible sequence-number and timestamp starts
    (splitmix64); None for OS randomness. ``history_size``: packets kept per source for
    NACK answers, a power of two up to 65536. Unknown legs raise :class:`UnknownLeg` (a
    ``KeyError``, as the reference raises); other refusals (an existing leg, a self-route,
    m-lines that cannot be served, bad settings) :class:`RelayError` (a ``ValueError``).
    Malformed packets are counted drops, never exceptions.
    """

    def __new__(
        cls,
        *,
        seed: int | None = None,
        history_size: int = 512,
        keyframe_interval: float = 0.5,
    ) -> Relay: ...
    def add_leg(self, leg_id: str, media: Iterable[MediaLine], *, forwarding: bool = False) -> None:
        """Register a participant's transport; nothing reaches it until its gate is open
        (``forwarding``, ``switch``) and its transport up (``switch``)."""
    def remove_leg(self, leg_id: str) -> None:
        """Forget a leg and every route to or from it; unknown legs are ignored."""
    def add_route(self, source_leg: str, sink_leg: str, kind: MediaKind) -> bool:
        """Subscribe ``sink_leg`` to the ``kind`` stream of ``source_leg``; False if one
        side has no such stream."""
    def remove_route(self, source_leg: str, sink_leg: str, kind: MediaKind) -> None: ...
    def switch(
        self, leg_id: str, switch: Literal["forwarding", "connected"], on: bool, now: float
    ) -> list[tuple[str, bytes]]:
        """Turn a leg's consent gate (opening asks for keyframes) or transport on or off."""
    def handle_packet(self, leg_id: str, packet: bytes, now: float) -> list[tuple[str, bytes]]:
        """One plaintext packet received on a leg: RTP or RTCP, told apart as RFC 5761 says."""
    def next_timeout(self) -> float | None:
        """When ``handle_timeout`` next has work (a deferred keyframe request or REMB, a
        receiver report), if ever."""
    def handle_timeout(self, now: float) -> list[tuple[str, bytes]]: ...
    def stats(self) -> dict[str, object]:
        """``{"totals": {...}, "legs": {leg_id: {"connected", "forwarding", "drops",
        "sources": {kind: {...}}, "sinks": {kind: {...}}}}}``: the reference's shape,
        with per-stream packets, bytes, losses and drops by reason; built in Rust."""

# ------------------------------------------------------------------------------ recordings

class RecordingError(ValueError):
    """A sealed recording cannot be written or read: a key that is not 32 bytes, a file
    that is not a sealed recording, sealed bytes that are not the span asked for, a
    writer failure. The subclasses say what is wrong with a file; the message is the
    reason."""

class RecordingTampered(RecordingError):
    """A chunk fails authentication: changed bytes, another key or another recording."""

class RecordingTruncated(RecordingError):
    """The file ends before its final chunk (cut at or inside a chunk)."""

class RecordingDropped(RecordingError):
    """Chunks are missing from the file."""

class RecordingReordered(RecordingError):
    """A chunk is not at the position its index says."""

class RecordingRangeError(RecordingError):
    """A plaintext byte range that is empty or reaches past the end of the recording."""

RECORDING_HEADER_LEN: int
"""The bytes of a sealed recording's clear header, at the start of the file."""

@final
class RecordingReader:
    """A sealed recording opened for reading without reading or decrypting all of it:
    the caller reads ``header`` (the file's first ``RECORDING_HEADER_LEN`` bytes) and
    ``tail`` (the bytes ``RecordingReader.tail_span(header, file_len)``); opening checks
    the final chunk and its trailer. Then, for a plaintext range, ``span`` names the
    sealed bytes to read and ``read`` decrypts, authenticates and patches them. Ranges
    are ``start, end`` with ``end`` exclusive. Refusals are :class:`RecordingError`
    subclasses: :class:`RecordingTampered`, :class:`RecordingTruncated`,
    :class:`RecordingDropped`, :class:`RecordingReordered`, :class:`RecordingRangeError`."""

    def __new__(
        cls, key: bytes, recording_id: str, header: bytes, file_len: int, tail: bytes
    ) -> RecordingReader: ...
    @staticmethod
    def tail_span(header: bytes, file_len: int) -> tuple[int, int]:
        """The sealed bytes ``(start, end)`` to read as ``tail`` to open a file of
        ``file_len`` bytes; :class:`RecordingError` for a header that is not a sealed
        recording's, :class:`RecordingTruncated` for a file with no chunk."""
    @property
    def plaintext_len(self) -> int:
        """The WebM file's length in bytes."""
    def span(self, start: int, end: int) -> tuple[int, int]:
        """The sealed bytes ``(start, end)`` that hold plaintext ``start..end``;
        :class:`RecordingRangeError` for an empty range or one past ``plaintext_len``."""
    def read(self, start: int, end: int, sealed: bytes) -> bytes:
        """Plaintext ``start..end`` from ``sealed``, exactly the file's bytes of
        ``span(start, end)``; every chunk is authenticated before a byte is returned."""

def seal_recording(
    key: bytes, recording_id: str, plaintext: bytes, chunk_size: int = 65536
) -> bytes:
    """``plaintext`` sealed as recording ``recording_id`` under ``key`` (32 bytes), in the
    media port's format: for tests and tools (the media port seals what it records)."""
