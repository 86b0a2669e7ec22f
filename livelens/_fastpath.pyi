"""Typed contract of the Rust data plane (``rust_fastpath``), checked against the built module."""

from collections.abc import Iterable
from typing import final

from livelens.media.streams import MediaKind, MediaLine

__version__: str

@final
class SrtpContext:
    """SRTP/SRTCP (RFC 3711, RFC 7714) for one set of keys, any number of SSRCs.

    ``profile`` is ``"AES_CM_128_HMAC_SHA1_80"``, ``"AEAD_AES_128_GCM"`` or
    ``"AEAD_AES_256_GCM"``; the master key is 16 bytes (32 for AES-256) and the master salt
    14 bytes for AES-CM, 12 for GCM. ``protect``/``protect_rtcp`` keep sender state,
    ``unprotect``/``unprotect_rtcp`` receiver state (ROC, 128-packet replay windows).
    Every refusal is a ``ValueError`` whose message is the reason (``"malformed packet"``,
    ``"authentication failed"``, ``"replayed packet"``, ...) and is counted in ``stats()``.
    """

    def __init__(self, profile: str, master_key: bytes, master_salt: bytes) -> None: ...
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
        replay window is allowed (retransmission); an older one raises ``ValueError``."""
    def unprotect(self, srtp: bytes) -> bytes:
        """The RTP packet in an SRTP packet; ``ValueError`` on a malformed, inauthentic or
        replayed packet."""
    def protect_rtcp(self, rtcp: bytes) -> bytes:
        """The SRTCP packet for an RTCP compound packet (next SRTCP index of its SSRC)."""
    def unprotect_rtcp(self, srtcp: bytes) -> bytes:
        """The RTCP compound packet in an SRTCP packet; ``ValueError`` as for ``unprotect``."""
    def stats(self) -> dict[str, int]:
        """Counters: ``rtp_protected``, ``rtp_unprotected``, ``rtcp_protected``,
        ``rtcp_unprotected``, and refusals: ``malformed``, ``auth_failed``, ``replayed``,
        ``rejected`` (stream limit, SRTCP index exhausted, cipher failure)."""

# (kind, mid, codecs, extensions, recv_ssrc, recv_rtx_ssrc, send_ssrc, send_rtx_ssrc,
#  cname, receives, sends); a codec is (payload_type, mime_type, clock_rate, channels,
#  format_key, rtx_apt). livelens.media.media_port builds these from MediaLine.
CodecTuple = tuple[int, str, int, int | None, tuple[str, ...], int | None]
MediaLineTuple = tuple[
    str,
    str,
    list[CodecTuple],
    list[tuple[str, int]],
    int | None,
    int | None,
    int,
    int | None,
    str | None,
    bool,
    bool,
]
# (kind, transport, data, address): ("dtls", t, record, None), ("selected" | "moved", t,
# b"", (ip, port)), ("consent_expired", t, b"", None), ("anomaly", t or 0, JSON
# {"reason", "count"}, (ip, port)) for forged SRTP / wrong ICE credentials (1st, 10th, ...)
MediaEvent = tuple[str, int, bytes, tuple[str, int] | None]

@final
class MediaSocket:
    """The media UDP port: one socket for every session, run by a Rust thread without
    the GIL. It answers STUN checks (ICE-lite) itself, those that authenticate only (the
    rest are dropped unanswered, counted in ``stats_json``'s port ``drops``), unprotects
    SRTP/SRTCP, relays through each session's router and protects per receiver; DTLS
    records and ICE changes reach Python as events (``wakeup_fd`` becomes readable, then
    ``poll_events``). Control calls raise ``ValueError`` with the reason."""

    def __init__(self, host: str, port: int, consent_timeout: float = 30.0) -> None:
        """Bind ``host:port`` (an IP literal; port 0: ephemeral) and start the thread;
        ``OSError`` if the port cannot be bound. ``consent_timeout``: seconds without a
        valid STUN check before a transport is reported dead (RFC 7675)."""
    @property
    def local_address(self) -> tuple[str, int]: ...
    def wakeup_fd(self) -> int:
        """Readable when events wait; read and discard its bytes, then ``poll_events``."""
    def add_transport(self, session_id: str, leg_id: str, local_ufrag: str, local_pwd: str) -> int:
        """A transport answering checks for ``local_ufrag``; returns its id."""
    def set_remote_ufrag(self, transport: int, ufrag: str) -> None: ...
    def remove_transport(self, transport: int) -> None: ...
    def send(self, transport: int, data: bytes) -> bool:
        """Send a datagram (DTLS) to the nominated address; False before nomination."""
    def set_srtp_keys(
        self,
        transport: int,
        profile: str,
        tx_key: bytes,
        tx_salt: bytes,
        rx_key: bytes,
        rx_salt: bytes,
    ) -> None:
        """From now on this transport's SRTP/SRTCP is handled in Rust (RFC profile name)."""
    def add_leg(
        self,
        session_id: str,
        leg_id: str,
        transport: int,
        media: list[MediaLineTuple],
        forwarding: bool,
    ) -> None: ...
    def remove_leg(self, session_id: str, leg_id: str) -> None: ...
    def add_route(self, session_id: str, source: str, sink: str, kind_name: str) -> None: ...
    def remove_route(self, session_id: str, source: str, sink: str, kind_name: str) -> None: ...
    def set_forwarding(self, session_id: str, leg_id: str, forwarding: bool) -> None: ...
    def set_connected(self, session_id: str, leg_id: str, connected: bool) -> None: ...
    def end_session(self, session_id: str) -> None: ...
    def poll_events(self) -> list[MediaEvent]: ...
    def stats_json(self) -> str:
        """Counters of the port (drops by reason) and of every transport, as JSON."""
    def session_stats_json(self, session_id: str) -> str: ...
    def close(self) -> None:
        """Stop the thread (idempotent)."""

@final
class Relay:
    """The sans-IO packet relay of one session, in Rust: the same API and, given the same
    ``seed``, byte for byte the same output as ``livelens.media.reference_relay.Relay``
    (whose docstring is the specification).

    Every call takes ``now`` (seconds, any epoch) and returns the plaintext packets to
    send as ``(leg_id, data)`` tuples, which unpack like the reference's ``Transmit``.
    ``seed``: 0 <= seed < 2**64 for reproducible sequence-number and timestamp starts
    (splitmix64); None for OS randomness. ``history_size``: packets kept per source for
    NACK answers, a power of two up to 65536. Unknown legs raise ``KeyError``; other
    refusals (an existing leg, a self-route, m-lines that cannot be served, bad settings)
    raise ``ValueError``. Malformed packets are counted drops, never exceptions.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        history_size: int = 512,
        keyframe_interval: float = 0.5,
    ) -> None: ...
    def add_leg(self, leg_id: str, media: Iterable[MediaLine], *, forwarding: bool = False) -> None:
        """Register a participant's transport; nothing reaches it until its gate is open
        (``forwarding``/``set_forwarding``) and its transport up (``set_connected``)."""
    def remove_leg(self, leg_id: str) -> None:
        """Forget a leg and every route to or from it; unknown legs are ignored."""
    def add_route(self, source_leg: str, sink_leg: str, kind: MediaKind) -> bool:
        """Subscribe ``sink_leg`` to the ``kind`` stream of ``source_leg``; False if one
        side has no such stream."""
    def remove_route(self, source_leg: str, sink_leg: str, kind: MediaKind) -> None: ...
    def set_forwarding(self, leg_id: str, allowed: bool, now: float) -> list[tuple[str, bytes]]:
        """Open or close a leg's gate (the consent gate); opening asks for keyframes."""
    def set_connected(self, leg_id: str, connected: bool, now: float) -> list[tuple[str, bytes]]:
        """Report a leg's transport up or down."""
    def handle_rtp(self, leg_id: str, packet: bytes, now: float) -> list[tuple[str, bytes]]:
        """One plaintext RTP packet received on a leg."""
    def handle_rtcp(self, leg_id: str, packet: bytes, now: float) -> list[tuple[str, bytes]]:
        """One plaintext RTCP compound packet received on a leg."""
    def next_timeout(self) -> float | None:
        """When ``handle_timeout`` next has work (a deferred keyframe request or REMB, a
        receiver report), if ever."""
    def handle_timeout(self, now: float) -> list[tuple[str, bytes]]: ...
    def stats(self) -> dict[str, object]:
        """``{"totals": {...}, "legs": {leg_id: {"connected", "forwarding", "drops",
        "sources": {kind: {...}}, "sinks": {kind: {...}}}}}``: the reference's shape,
        with per-stream packets, bytes, losses and drops by reason."""
