"""Sans-IO packet relay: the reference the Rust data plane implements, and its test oracle.

The relay never opens sockets, starts tasks or reads a clock: every call takes the
input and ``now`` (seconds, any epoch) and returns the plaintext packets to send as
:class:`Transmit` values. SRTP is the adapter's job, per leg.

Vocabulary
    leg     one participant's transport (one BUNDLEd PeerConnection), by ``LegId``.
    source  a stream a leg sends to the server (one per kind: audio, video).
    sink    a stream the server sends to a leg (one per kind), on the SSRC from its answer.
    route   source -> sink; a sink may have several routes but forwards one source at a
            time (see Selection), because a browser m-line plays exactly one stream.
    segment a run of a sink's output from one source, with fixed seq/timestamp offsets.

Per sink the relay rewrites SSRC, payload type (mapped by codec identity), sequence
number (random start below 32768, then continuous across source switches and
wraps), timestamp (offset per segment), header extensions (ids remapped by URI,
unnegotiated ones dropped, MID value replaced, abs-send-time restamped) and the
RTX original sequence number. Feedback: PLI/FIR become a rate-limited PLI to the
source; NACKs are answered from a per-source history or forwarded, translated, to
the source; SRs from a source are translated for each sink.

Our own RTCP towards publishers (sender SSRC and CNAME: those of the leg's first m-line
the server sends on, else of its first m-line):
    receiver reports  REPORT_INTERVAL after a leg's first media packet, and every interval
            while it keeps sending, a compound RR + SDES with a block per source of the leg
            that sent since the last report: RFC 3550 extended highest sequence, cumulative
            and fractional loss (A.3, duplicates count as received, RTX-repaired packets
            do not), interarrival jitter in the codec's clock (A.8, integer form, from a
            frame's first in-order packet) and LSR/DLSR from the source's last SR. A leg
            that stops sending stops being reported on; a leg that is not connected gets
            nothing (and sets no deadline); the gate does not matter (it guards media).
    REMB    receivers' REMBs are remembered per sink; each video source gets the minimum
            over its routes' deliverable sinks that sent one, listing its media SSRC, at
            most once per REMB_INTERVAL unless it fell by more than 20 % (deferred values
            go out from handle_timeout). No receiver estimate: no REMB.
Both are timed only through next_timeout/handle_timeout, so the Rust relay matches.

Selection: a sink keeps its current source until that source has sent nothing for
SOURCE_IDLE_SWITCH, or (audio) another source is speaking while the current one is
not, judged by the RFC 6464 audio level, after SPEAKER_HOLD. A switch opens a new
segment: sequence numbers continue, timestamps advance by the wall time elapsed,
audio gets a marker bit, video asks the new source for a keyframe.

Gate: a leg with ``forwarding`` False receives nothing from anyone (counted as
"gated"). The media hub uses it so no customer media reaches an agent before the
customer's consent is recorded.

Randomness: sequence-number and timestamp starts come from the OS, or, given a ``seed``,
from splitmix64 (:class:`SplitMix64`, the same in the Rust relay), so that a seeded run
of this relay and of ``livelens._fastpath.Relay`` produce byte-identical output.

Counters (:meth:`Relay.stats`): totals (including ``rtcp_reports_sent`` and
``remb_forwarded``), and per leg its drops and per stream packets, bytes, losses (a
source's sequence gaps; a sink's loss as its receiver reports it) and drops by reason.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterable
from typing import Literal, NamedTuple, Protocol

from livelens.media import rtp
from livelens.media.rtp import HeaderExtension, RtpPacket
from livelens.media.streams import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    MediaKind,
    MediaLine,
)

LegId = str

DropReason = Literal[
    "malformed",  # leg: not parseable as RTP/RTCP
    "unknown_ssrc",  # leg: SSRC neither signalled nor learnable from the MID extension
    "no_route",  # source: nobody subscribes to it
    "codec_mismatch",  # source: PT not negotiated; sink: codec not negotiated with the receiver
    "gated",  # sink: the receiving leg's gate is closed
    "not_connected",  # sink: the receiving leg's transport is not up (yet)
    "not_selected",  # sink: another source currently holds this sink
]
DROP_REASONS: tuple[DropReason, ...] = (
    "malformed",
    "unknown_ssrc",
    "no_route",
    "codec_mismatch",
    "gated",
    "not_connected",
    "not_selected",
)

KEYFRAME_REQUEST_INTERVAL = 0.5  # s; at most one PLI per source per interval
HISTORY_SIZE = 512  # packets kept per source for NACK answers (a power of two)
SOURCE_IDLE_SWITCH = 1.0  # s of silence from a sink's source before another may take over
SPEAKER_HOLD = 1.5  # s a sink keeps its audio source before a louder one may take over
SPEAKING_LEVEL = 50.0  # smoothed -dBov below which a source counts as speaking
LEVEL_SMOOTHING = 0.2
MAX_SEGMENTS = 8  # per sink, for translating NACKs that reach back across a switch
MAX_PENDING_RTX = 1024  # per source: NACKed sequence numbers waiting for the source's RTX
REPORT_INTERVAL = 1.0  # s between two receiver reports to a leg
REMB_INTERVAL = 0.5  # s; at most one REMB per source per interval, unless it drops > 20 %

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


class _RandomBits(Protocol):
    def getrandbits(self, k: int, /) -> int: ...


class SplitMix64:
    """Sebastiano Vigna's splitmix64: the seeded generator, written the same in Rust."""

    def __init__(self, seed: int) -> None:
        self._state = seed & _U64

    def next_u64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _U64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64
        return z ^ (z >> 31)

    def getrandbits(self, k: int) -> int:
        """``k`` (1-64) random bits: the top bits of one draw."""
        return self.next_u64() >> (64 - k)


def _check_lines(leg_id: LegId, lines: tuple[MediaLine, ...]) -> None:
    """Refuse m-lines that could never be put on the wire, so a bad answer fails when its
    leg is added rather than on every packet, and two m-lines of one kind on a leg."""
    source_kinds: set[str] = set()
    sink_kinds: set[str] = set()
    for line in lines:
        for codec in line.codecs:
            for pt in (codec.payload_type, codec.rtx_apt):
                if pt is not None and not 0 <= pt <= 127:
                    raise ValueError(f"payload type {pt} out of range")
            if not 0 <= codec.clock_rate <= _U32 or not 0 <= (codec.channels or 0) <= _U32:
                raise ValueError(f"codec {codec.mime_type} out of range")
        for ext_id in line.extensions.values():
            if not 1 <= ext_id <= 255:
                raise ValueError(f"header extension id {ext_id} out of range")
        for ssrc in (line.recv_ssrc, line.recv_rtx_ssrc, line.send_ssrc, line.send_rtx_ssrc):
            if ssrc is not None and not 0 <= ssrc <= _U32:
                raise ValueError(f"SSRC {ssrc} out of range")
        if len(line.mid.encode()) > 255:
            raise ValueError("MID longer than 255 bytes")
        if line.cname is not None and len(line.cname.encode()) > 255:
            raise ValueError("CNAME longer than 255 bytes")
        if line.kind in source_kinds or line.kind in sink_kinds:
            raise ValueError(f"leg {leg_id!r} has more than one {line.kind} m-line")
        if line.receives:
            source_kinds.add(line.kind)
        if line.sends:
            sink_kinds.add(line.kind)


class Transmit(NamedTuple):
    """One plaintext RTP or RTCP packet for the adapter to protect and send on a leg."""

    leg_id: LegId
    data: bytes


def _valid_history_size(size: int) -> bool:
    return 0 < size <= 65536 and not 65536 % size


class _History:
    """The last N packets of a source, by sequence number (N divides 65536, so wraps align)."""

    def __init__(self, size: int) -> None:
        if not _valid_history_size(size):
            raise ValueError("history size must be a power of two up to 65536")
        self._slots: list[RtpPacket | None] = [None] * size

    def put(self, packet: RtpPacket) -> None:
        self._slots[packet.sequence_number % len(self._slots)] = packet

    def get(self, seq: int) -> RtpPacket | None:
        packet = self._slots[seq % len(self._slots)]
        return packet if packet is not None and packet.sequence_number == seq else None

    def clear(self) -> None:
        self._slots = [None] * len(self._slots)


class _LossCounter:
    """Media packets a source's sequence numbers say never arrived: RFC 3550 A.3's
    expected minus received, without A.1's probation. Duplicates count as received, so
    late and repeated packets bring it down; it never goes below 0."""

    def __init__(self) -> None:
        self.base: int | None = None  # first extended sequence number
        self.highest = 0  # highest extended sequence number
        self.received = 0

    def note(self, seq: int) -> bool:
        """Count a packet; True if it is the first or the newest so far (in order)."""
        self.received += 1
        if self.base is None:
            self.base = self.highest = seq
            return True
        delta = (seq - self.highest) & _U16
        if 0 < delta < 0x8000:
            self.highest += delta
            return True
        return False

    @property
    def expected(self) -> int:
        return 0 if self.base is None else self.highest - self.base + 1

    @property
    def lost(self) -> int:
        if self.base is None:
            return 0
        return max(0, self.highest - self.base + 1 - self.received)


class _Reception:
    """The rest of RFC 3550 receiver statistics of a source's current SSRC, for our RRs:
    interarrival jitter (A.8, in integers), the counts at the last report (for "fraction
    lost", A.3) and the source's last SR (for LSR/DLSR, so it can measure round trips)."""

    def __init__(self) -> None:
        self.jitter = 0  # in timestamp units, times 16 (A.8's integer form)
        self.transit: int | None = None  # arrival minus RTP timestamp, mod 2^32
        self.last_ts: int | None = None
        self.expected_prior = 0
        self.received_prior = 0
        self.last_sr = 0  # the middle 32 bits of the NTP time of the source's last SR
        self.last_sr_at: float | None = None

    def note_arrival(self, timestamp: int, now: float, clock_rate: int) -> None:
        # Packets of one frame share a timestamp but not an arrival time; like libwebrtc,
        # only a frame's first (in-order) packet counts, or a burst would look like jitter.
        if timestamp == self.last_ts:
            return
        transit = (int(now * clock_rate) - timestamp) & _U32
        if self.transit is not None:
            d = (transit - self.transit) & _U32
            d = min(d, 0x100000000 - d)  # |D| of a signed 32-bit difference
            self.jitter += d - ((self.jitter + 8) >> 4)
        self.transit = transit
        self.last_ts = timestamp


class _Leg:
    def __init__(
        self,
        leg_id: LegId,
        lines: Iterable[MediaLine],
        *,
        forwarding: bool,
        history_size: int,
        rng: _RandomBits,
    ) -> None:
        self.id = leg_id
        self.forwarding = forwarding
        self.connected = False
        self.drops: Counter[str] = Counter()
        self.sources: dict[MediaKind, _Source] = {}
        self.sinks: dict[MediaKind, _Sink] = {}
        self.ssrc_table: dict[int, tuple[_Source, bool]] = {}  # SSRC -> (source, is RTX)
        self.sink_by_ssrc: dict[int, _Sink] = {}
        self.source_by_mid: dict[bytes, _Source] = {}
        self.mid_ext_ids: set[int] = set()
        self.report_due: float | None = None  # the next receiver report, once media came
        lines = tuple(lines)
        _check_lines(leg_id, lines)  # before anything changes, the generator included
        # Our RTCP towards this leg (RR, REMB) comes from the first m-line we send on: its
        # SSRC and CNAME are in our answer. Failing that, the first m-line's.
        rtcp_line = next((line for line in lines if line.sends), lines[0] if lines else None)
        self.rtcp_ssrc = rtcp_line.send_ssrc if rtcp_line else 0
        self.rtcp_cname = rtcp_line.cname if rtcp_line else None
        for line in lines:
            if MID_URI in line.extensions:
                self.mid_ext_ids.add(line.extensions[MID_URI])
            if line.receives:
                source = _Source(self, line, history_size)
                self.sources[line.kind] = source
                self.source_by_mid[line.mid.encode()] = source
                if line.recv_ssrc is not None:
                    self.ssrc_table[line.recv_ssrc] = (source, False)
                if line.recv_rtx_ssrc is not None:
                    self.ssrc_table[line.recv_rtx_ssrc] = (source, True)
            if line.sends:
                sink = _Sink(self, line, rng)
                self.sinks[line.kind] = sink
                self.sink_by_ssrc[line.send_ssrc] = sink
                if line.send_rtx_ssrc is not None:
                    self.sink_by_ssrc[line.send_rtx_ssrc] = sink

    @property
    def deliverable(self) -> bool:
        return self.connected and self.forwarding


class _Source:
    def __init__(self, leg: _Leg, line: MediaLine, history_size: int) -> None:
        self.leg = leg
        self.line = line
        self.kind: MediaKind = line.kind
        self.ssrc = line.recv_ssrc
        self.rtx_ssrc = line.recv_rtx_ssrc
        self.generation = 0  # bumps when the SSRC changes: a new sequence/timestamp space
        self.routes: list[_Route] = []
        self.history = _History(history_size)
        self.pending_rtx: dict[int, list[tuple[_Sink, _Segment]]] = {}
        self.media_pts = {c.payload_type for c in line.codecs if not c.is_rtx}
        self.clock_rates = {c.payload_type: c.clock_rate for c in line.codecs if not c.is_rtx}
        self.rtx_apt = {
            c.payload_type: c.rtx_apt for c in line.codecs if c.is_rtx and c.rtx_apt is not None
        }
        self.audio_level_id = line.extensions.get(AUDIO_LEVEL_URI)
        self.level = 127.0  # smoothed -dBov; 127 is silence
        self.last_packet_at: float | None = None
        self.last_keyframe_request_at: float | None = None
        self.keyframe_request_pending = False
        self.remb_sent: int | None = None  # the last bitrate sent to this source, and when
        self.remb_sent_at: float | None = None
        self.remb_pending = False  # a new value waits for REMB_INTERVAL to pass
        self.removed = False
        self.packets = 0
        self.bytes = 0
        self.rtx_packets = 0
        self.padding_only = 0
        self.keyframe_requests = 0
        self.nacks_forwarded = 0
        self.loss = _LossCounter()
        self.reception = _Reception()
        self.drops: Counter[str] = Counter()

    @property
    def speaking(self) -> bool:
        return self.level < SPEAKING_LEVEL

    def stats(self) -> dict[str, object]:
        return {
            "ssrc": self.ssrc,
            "rtx_ssrc": self.rtx_ssrc,
            "packets": self.packets,
            "bytes": self.bytes,
            "rtx_packets": self.rtx_packets,
            "padding_only": self.padding_only,
            "lost": self.loss.lost,
            "keyframe_requests_sent": self.keyframe_requests,
            "nacks_forwarded": self.nacks_forwarded,
            "sinks": [route.sink.leg.id for route in self.routes],
            "drops": _drop_dict(self.drops),
        }


class _Route:
    """A source bound to a sink, with the payload-type and extension maps precomputed."""

    def __init__(self, source: _Source, sink: _Sink) -> None:
        self.source = source
        self.sink = sink
        self.removed = False
        dst_by_identity: dict[tuple[object, ...], int] = {}
        for codec in sink.line.codecs:
            if not codec.is_rtx:
                dst_by_identity.setdefault(codec.identity, codec.payload_type)
        self.pt_map: dict[int, int] = {}
        self.clock_rate: dict[int, int] = {}
        for codec in source.line.codecs:
            if codec.is_rtx:
                continue
            self.clock_rate[codec.payload_type] = codec.clock_rate
            if codec.identity in dst_by_identity:
                self.pt_map[codec.payload_type] = dst_by_identity[codec.identity]
        # sink media PT -> sink RTX PT
        self.rtx_pt = {
            c.rtx_apt: c.payload_type
            for c in sink.line.codecs
            if c.is_rtx and c.rtx_apt is not None
        }
        # source extension id -> (sink extension id, URI); MID is written separately
        self.ext_map = {
            src_id: (sink.line.extensions[uri], uri)
            for uri, src_id in source.line.extensions.items()
            if uri in sink.line.extensions and uri != MID_URI
        }
        self.mid_id = sink.line.extensions.get(MID_URI)
        self.mid_value = sink.line.mid.encode()


class _Segment:
    """A run of a sink's output taken from one source generation with fixed offsets."""

    def __init__(
        self, route: _Route, generation: int, start_seq: int, seq_offset: int, ts_offset: int
    ) -> None:
        self.route = route
        self.generation = generation
        self.start_seq = start_seq
        self.seq_offset = seq_offset
        self.ts_offset = ts_offset
        self.fresh = True  # the next packet opens the segment


class _Sink:
    def __init__(self, leg: _Leg, line: MediaLine, rng: _RandomBits) -> None:
        self.leg = leg
        self.line = line
        self.kind: MediaKind = line.kind
        self.routes: list[_Route] = []
        self.current: _Segment | None = None
        self.segments: deque[_Segment] = deque(maxlen=MAX_SEGMENTS)
        self.last_seq: int | None = None
        self.last_ts = 0
        self.last_sent_at = 0.0
        self.switched_at = 0.0
        self.rtx_seq = rng.getrandbits(15)
        self.removed = False
        self.packets = 0
        self.bytes = 0
        self.payload_octets = 0
        self.retransmits = 0
        self.keyframe_requests = 0
        self.nacks_received = 0
        self.sender_reports = 0
        self.receiver_lost = 0  # cumulative, as the receiver last reported it
        self.remb: int | None = None  # bit/s, the receiver's latest estimate for this stream
        self.drops: Counter[str] = Counter()

    def note_sent(self, packet: RtpPacket, size: int, now: float) -> None:
        self.packets += 1
        self.bytes += size
        self.payload_octets += len(packet.payload)
        seq = packet.sequence_number
        if self.last_seq is None or (seq - self.last_seq) & _U16 < 0x8000:
            self.last_seq = seq
            self.last_ts = packet.timestamp
            self.last_sent_at = now

    def segment_covering(self, out_seq: int) -> _Segment | None:
        if self.last_seq is None:
            return None
        segments = self.segments
        for i in range(len(segments) - 1, -1, -1):
            seg = segments[i]
            end = self.last_seq if i == len(segments) - 1 else segments[i + 1].start_seq - 1
            if (out_seq - seg.start_seq) & _U16 <= (end - seg.start_seq) & _U16:
                return seg
        return None

    def stats(self) -> dict[str, object]:
        current = self.current.route.source.leg.id if self.current else None
        return {
            "ssrc": self.line.send_ssrc,
            "rtx_ssrc": self.line.send_rtx_ssrc,
            "source": current,
            "packets": self.packets,
            "bytes": self.bytes,
            "retransmits": self.retransmits,
            "receiver_lost": self.receiver_lost,
            "keyframe_requests_received": self.keyframe_requests,
            "nacks_received": self.nacks_received,
            "sender_reports": self.sender_reports,
            "drops": _drop_dict(self.drops),
        }


def _earliest(deadline: float | None, due: float) -> float:
    return due if deadline is None else min(deadline, due)


def _drop_dict(drops: Counter[str]) -> dict[str, int]:
    return {reason: drops[reason] for reason in DROP_REASONS if drops[reason]}


class Relay:
    """Forwarding state of one session. Not thread-safe; one caller at a time."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        history_size: int = HISTORY_SIZE,
        keyframe_interval: float = KEYFRAME_REQUEST_INTERVAL,
    ) -> None:
        """``seed``: 0 <= seed < 2**64 for reproducible output (the same as the Rust
        relay's with that seed); None for OS randomness."""
        if seed is not None and not 0 <= seed <= _U64:
            raise ValueError("seed must be an unsigned 64-bit integer")
        if not _valid_history_size(history_size):
            raise ValueError("history size must be a power of two up to 65536")
        # Sequence/timestamp starts need unpredictability, not secrecy (SRTP protects them).
        self._rng: _RandomBits = random.SystemRandom() if seed is None else SplitMix64(seed)
        self._history_size = history_size
        self._keyframe_interval = keyframe_interval
        self._legs: dict[LegId, _Leg] = {}
        self._totals: Counter[str] = Counter()
        self._total_drops: Counter[str] = Counter()

    # ------------------------------------------------------------------ topology

    def add_leg(
        self, leg_id: LegId, media: Iterable[MediaLine], *, forwarding: bool = False
    ) -> None:
        """Register a participant's transport. Fails closed: nothing reaches it until
        :meth:`set_forwarding` opens its gate and :meth:`set_connected` reports it up."""
        if leg_id in self._legs:
            raise ValueError(f"leg {leg_id!r} already exists")
        self._legs[leg_id] = _Leg(
            leg_id,
            media,
            forwarding=forwarding,
            history_size=self._history_size,
            rng=self._rng,
        )

    def remove_leg(self, leg_id: LegId) -> None:
        leg = self._legs.pop(leg_id, None)
        if leg is None:
            return
        for source in leg.sources.values():
            for route in list(source.routes):
                self._unlink(route)
            source.removed = True
        for sink in leg.sinks.values():
            for route in list(sink.routes):
                self._unlink(route)
            sink.removed = True

    def add_route(self, source_leg: LegId, sink_leg: LegId, kind: MediaKind) -> bool:
        """Subscribe ``sink_leg`` to the ``kind`` stream of ``source_leg``.

        Returns False (and does nothing) when the source leg does not send that kind
        or the sink leg does not receive it, e.g. a listen-only participant.
        """
        if source_leg == sink_leg:
            raise ValueError("a leg cannot subscribe to itself")
        source = self._leg(source_leg).sources.get(kind)
        sink = self._leg(sink_leg).sinks.get(kind)
        if source is None or sink is None:
            return False
        if not any(route.sink is sink for route in source.routes):
            route = _Route(source, sink)
            source.routes.append(route)
            sink.routes.append(route)
        return True

    def remove_route(self, source_leg: LegId, sink_leg: LegId, kind: MediaKind) -> None:
        source = self._leg(source_leg).sources.get(kind)
        for route in list(source.routes if source else ()):
            if route.sink.leg.id == sink_leg:
                self._unlink(route)

    def set_forwarding(self, leg_id: LegId, allowed: bool, now: float) -> list[Transmit]:
        """Open or close a leg's gate. Opening asks its video sources for a keyframe."""
        leg = self._leg(leg_id)
        was = leg.deliverable
        leg.forwarding = allowed
        out: list[Transmit] = []
        self._deliverability_changed(leg, was, now, out)
        return out

    def set_connected(self, leg_id: LegId, connected: bool, now: float) -> list[Transmit]:
        """Report a leg's transport up or down (packets are only produced for legs that are up)."""
        leg = self._leg(leg_id)
        was = leg.deliverable
        leg.connected = connected
        out: list[Transmit] = []
        if connected:
            # Keyframe requests that waited for this leg's transport can go now.
            for source in leg.sources.values():
                self._flush_keyframe_request(source, now, out)
        self._deliverability_changed(leg, was, now, out)
        return out

    # ------------------------------------------------------------------ packets

    def handle_rtp(self, leg_id: LegId, packet: bytes, now: float) -> list[Transmit]:
        out: list[Transmit] = []
        leg = self._legs.get(leg_id)
        if leg is None:
            self._totals["unknown_leg"] += 1
            return out
        self._totals["rtp_in"] += 1
        self._totals["bytes_in"] += len(packet)
        try:
            pkt = rtp.parse_rtp(packet)
        except rtp.MalformedPacket:
            self._drop(leg.drops, "malformed")
            return out
        found = leg.ssrc_table.get(pkt.ssrc) or self._learn_ssrc(leg, pkt)
        if found is None:
            self._drop(leg.drops, "unknown_ssrc")
            return out
        source, is_rtx = found
        source.packets += 1
        source.bytes += len(packet)
        source.last_packet_at = now
        self._flush_keyframe_request(source, now, out)
        if is_rtx:
            self._on_source_rtx(source, pkt, now, out)
        else:
            self._on_source_media(source, pkt, now, out)
        return out

    def handle_rtcp(self, leg_id: LegId, packet: bytes, now: float) -> list[Transmit]:
        out: list[Transmit] = []
        leg = self._legs.get(leg_id)
        if leg is None:
            self._totals["unknown_leg"] += 1
            return out
        self._totals["rtcp_in"] += 1
        self._totals["bytes_in"] += len(packet)
        try:
            packets = rtp.parse_rtcp(packet)
        except rtp.MalformedPacket:
            self._drop(leg.drops, "malformed")
            return out
        for item in packets:
            if isinstance(item, rtp.SenderReport | rtp.ReceiverReport):
                self._on_report_blocks(leg, item.reports)
            if isinstance(item, rtp.SenderReport):
                self._on_sender_report(leg, item, now, out)
            elif isinstance(item, rtp.PictureLossIndication):
                self._on_keyframe_request(leg, item.media_ssrc, now, out)
            elif isinstance(item, rtp.FullIntraRequest):
                for entry in item.entries:
                    self._on_keyframe_request(leg, entry.ssrc, now, out)
            elif isinstance(item, rtp.GenericNack):
                self._on_nack(leg, item, now, out)
            elif isinstance(item, rtp.ReceiverEstimatedMaxBitrate):
                self._on_remb(leg, item, now, out)
            # SDES, BYE, transport-cc: consumed here (aiortc cannot use transport-cc).
        return out

    def next_timeout(self) -> float | None:
        """When :meth:`handle_timeout` next has work (a deferred keyframe request or REMB, a
        receiver report), if ever."""
        deadline: float | None = None
        for leg in self._legs.values():
            for source in leg.sources.values():
                last = source.last_keyframe_request_at
                # Requests waiting for an SSRC or a transport go out on the first packet or
                # on set_connected instead; a deadline for them would only spin.
                ready = source.ssrc is not None and leg.connected
                if source.keyframe_request_pending and last is not None and ready:
                    deadline = _earliest(deadline, last + self._keyframe_interval)
                sent_at = source.remb_sent_at
                if source.remb_pending and sent_at is not None and ready:
                    deadline = _earliest(deadline, sent_at + REMB_INTERVAL)
            if leg.report_due is not None and leg.connected:
                deadline = _earliest(deadline, leg.report_due)
        return deadline

    def handle_timeout(self, now: float) -> list[Transmit]:
        out: list[Transmit] = []
        for leg in self._legs.values():
            for source in leg.sources.values():
                self._flush_keyframe_request(source, now, out)
        for leg in self._legs.values():
            self._report(leg, now, out)
        for leg in self._legs.values():
            for source in leg.sources.values():
                if source.remb_pending:
                    self._send_remb(source, now, out)
        return out

    def stats(self) -> dict[str, object]:
        legs: dict[str, object] = {}
        for leg in self._legs.values():
            legs[leg.id] = {
                "connected": leg.connected,
                "forwarding": leg.forwarding,
                "drops": _drop_dict(leg.drops),
                "sources": {kind: s.stats() for kind, s in leg.sources.items()},
                "sinks": {kind: s.stats() for kind, s in leg.sinks.items()},
            }
        totals: dict[str, object] = dict(self._totals)
        totals["drops"] = {reason: self._total_drops[reason] for reason in DROP_REASONS}
        return {"totals": totals, "legs": legs}

    # ------------------------------------------------------------------ internals

    def _leg(self, leg_id: LegId) -> _Leg:
        try:
            return self._legs[leg_id]
        except KeyError:
            raise KeyError(f"unknown leg {leg_id!r}") from None

    def _drop(self, drops: Counter[str], reason: DropReason) -> None:
        drops[reason] += 1
        self._total_drops[reason] += 1

    def _emit(self, out: list[Transmit], leg: _Leg, data: bytes, *, rtcp: bool) -> None:
        self._totals["rtcp_out" if rtcp else "rtp_out"] += 1
        self._totals["bytes_out"] += len(data)
        out.append(Transmit(leg.id, data))

    def _unlink(self, route: _Route) -> None:
        route.removed = True
        if route in route.source.routes:
            route.source.routes.remove(route)
        if route in route.sink.routes:
            route.sink.routes.remove(route)
        current = route.sink.current
        if current is not None and current.route is route:
            route.sink.current = None  # the next source continues the same output stream

    def _deliverability_changed(
        self, leg: _Leg, was: bool, now: float, out: list[Transmit]
    ) -> None:
        if leg.deliverable == was:
            return
        for sink in leg.sinks.values():
            # Restart with a fresh segment: timestamps rebased on elapsed time, a marker
            # on audio, and (video) a keyframe the receiver can start decoding from.
            sink.current = None
            if leg.deliverable and sink.kind == "video":
                for route in sink.routes:
                    self._request_keyframe(route.source, now, out)

    def _learn_ssrc(self, leg: _Leg, pkt: RtpPacket) -> tuple[_Source, bool] | None:
        """Bind an unsignalled SSRC to a source through the MID header extension."""
        mid = next((e.value for e in pkt.extensions if e.id in leg.mid_ext_ids), None)
        source = leg.source_by_mid.get(mid) if mid is not None else None
        if source is None:
            return None
        codec = source.line.codec(pkt.payload_type)
        is_rtx = codec is not None and codec.is_rtx
        if is_rtx:
            if source.rtx_ssrc is not None:
                leg.ssrc_table.pop(source.rtx_ssrc, None)
            source.rtx_ssrc = pkt.ssrc
        else:
            if source.ssrc is not None:
                leg.ssrc_table.pop(source.ssrc, None)
            source.ssrc = pkt.ssrc
            source.generation += 1
            source.history.clear()
            source.pending_rtx.clear()
            source.loss = _LossCounter()
            source.reception = _Reception()
        leg.ssrc_table[pkt.ssrc] = (source, is_rtx)
        return source, is_rtx

    def _on_source_media(
        self, source: _Source, pkt: RtpPacket, now: float, out: list[Transmit]
    ) -> None:
        in_order = source.loss.note(pkt.sequence_number)
        clock_rate = source.clock_rates.get(pkt.payload_type)
        if in_order and clock_rate is not None:
            source.reception.note_arrival(pkt.timestamp, now, clock_rate)
        if source.leg.report_due is None:
            source.leg.report_due = now + REPORT_INTERVAL
        if pkt.payload_type not in source.media_pts:
            self._drop(source.drops, "codec_mismatch")
            return
        if source.audio_level_id is not None:
            value = pkt.extension(source.audio_level_id)
            level = rtp.audio_level(value) if value is not None else None
            if level is not None:
                source.level += LEVEL_SMOOTHING * (level - source.level)
        source.history.put(pkt)
        # A source without RTX resends on its media SSRC; that copy goes out below.
        source.pending_rtx.pop(pkt.sequence_number, None)
        if not source.routes:
            self._drop(source.drops, "no_route")
            return
        for route in source.routes:
            self._forward(route, pkt, now, out)

    def _on_source_rtx(
        self, source: _Source, pkt: RtpPacket, now: float, out: list[Transmit]
    ) -> None:
        source.rtx_packets += 1
        if len(pkt.payload) < 2:
            source.padding_only += 1  # bandwidth probe: nothing to repair
            return
        apt = source.rtx_apt.get(pkt.payload_type)
        if apt is None or source.ssrc is None:
            self._drop(source.drops, "codec_mismatch")
            return
        osn = int.from_bytes(pkt.payload[:2], "big")
        original = RtpPacket(
            payload_type=apt,
            sequence_number=osn,
            timestamp=pkt.timestamp,
            ssrc=source.ssrc,
            marker=pkt.marker,
            csrc=pkt.csrc,
            extensions=pkt.extensions,
            payload=pkt.payload[2:],
        )
        if source.history.get(osn) is None:
            source.history.put(original)
        # Only receivers that asked get it; unsolicited RTX (probing) stops here.
        for sink, segment in source.pending_rtx.pop(osn, ()):
            if sink.removed or segment.route.removed or not sink.leg.deliverable:
                continue
            self._send_retransmission(segment, original, now, out)

    def _forward(self, route: _Route, pkt: RtpPacket, now: float, out: list[Transmit]) -> None:
        sink = route.sink
        if not sink.leg.forwarding:
            self._drop(sink.drops, "gated")
            return
        if not sink.leg.connected:
            self._drop(sink.drops, "not_connected")
            return
        dst_pt = route.pt_map.get(pkt.payload_type)
        if dst_pt is None:
            self._drop(sink.drops, "codec_mismatch")
            return
        segment = self._segment_for(route, pkt, now, out)
        if segment is None:
            self._drop(sink.drops, "not_selected")
            return
        # Audio: mark the start of a talkspurt so the jitter buffer resyncs after a switch.
        marker = pkt.marker or (segment.fresh and sink.kind == "audio")
        segment.fresh = False
        rewritten = self._rewrite(route, segment, pkt, dst_pt, marker, now)
        data = rewritten.to_bytes()
        sink.note_sent(rewritten, len(data), now)
        self._emit(out, sink.leg, data, rtcp=False)

    def _segment_for(
        self, route: _Route, pkt: RtpPacket, now: float, out: list[Transmit]
    ) -> _Segment | None:
        sink, source = route.sink, route.source
        current = sink.current
        if current is not None and current.route is route:
            if current.generation == source.generation:
                return current
        elif current is not None and not self._may_switch(sink, current.route.source, source, now):
            return None
        if sink.last_seq is None:
            start_seq = self._rng.getrandbits(15)  # below 2^15, like browsers: SRTP ROC safety
            ts_base = self._rng.getrandbits(32)
        else:
            start_seq = (sink.last_seq + 1) & _U16
            clock_rate = route.clock_rate.get(pkt.payload_type, 90000)
            elapsed = max(0.0, now - sink.last_sent_at)
            ts_base = (sink.last_ts + max(1, round(elapsed * clock_rate))) & _U32
        segment = _Segment(
            route,
            source.generation,
            start_seq,
            (start_seq - pkt.sequence_number) & _U16,
            (ts_base - pkt.timestamp) & _U32,
        )
        sink.segments.append(segment)
        sink.current = segment
        sink.switched_at = now
        if sink.kind == "video":
            self._request_keyframe(source, now, out)  # decoding can only start at a keyframe
        return segment

    def _may_switch(self, sink: _Sink, current: _Source, candidate: _Source, now: float) -> bool:
        last = current.last_packet_at
        if current.removed or last is None or now - last >= SOURCE_IDLE_SWITCH:
            return True
        # Dominant speaker for audio, from the RFC 6464 levels the browsers send.
        return (
            sink.kind == "audio"
            and now - sink.switched_at >= SPEAKER_HOLD
            and candidate.speaking
            and not current.speaking
        )

    def _rewrite(
        self,
        route: _Route,
        segment: _Segment,
        pkt: RtpPacket,
        dst_pt: int,
        marker: bool,
        now: float,
    ) -> RtpPacket:
        extensions: list[HeaderExtension] = []
        if route.mid_id is not None:
            extensions.append(HeaderExtension(route.mid_id, route.mid_value))
        for ext in pkt.extensions:
            mapped = route.ext_map.get(ext.id)
            if mapped is None:
                continue  # not negotiated with this receiver
            dst_id, uri = mapped
            # The receiver's delay-based estimate must see our send time, not the source's.
            value = rtp.abs_send_time(now) if uri == ABS_SEND_TIME_URI else ext.value
            extensions.append(HeaderExtension(dst_id, value))
        return RtpPacket(
            payload_type=dst_pt,
            sequence_number=(pkt.sequence_number + segment.seq_offset) & _U16,
            timestamp=(pkt.timestamp + segment.ts_offset) & _U32,
            ssrc=route.sink.line.send_ssrc,
            marker=marker,
            csrc=pkt.csrc,
            extensions=tuple(extensions),
            payload=pkt.payload,
            padding=pkt.padding,
        )

    def _send_retransmission(
        self, segment: _Segment, original: RtpPacket, now: float, out: list[Transmit]
    ) -> None:
        route = segment.route
        sink = route.sink
        dst_pt = route.pt_map.get(original.payload_type)
        if dst_pt is None:
            return
        media = self._rewrite(route, segment, original, dst_pt, original.marker, now)
        rtx_pt = route.rtx_pt.get(dst_pt)
        if sink.line.send_rtx_ssrc is None or rtx_pt is None:
            data = media.to_bytes()  # no RTX negotiated: resend as the original packet
        else:
            sink.rtx_seq = (sink.rtx_seq + 1) & _U16
            data = RtpPacket(
                payload_type=rtx_pt,
                sequence_number=sink.rtx_seq,
                timestamp=media.timestamp,
                ssrc=sink.line.send_rtx_ssrc,
                marker=media.marker,
                csrc=media.csrc,
                extensions=media.extensions,
                payload=media.sequence_number.to_bytes(2, "big") + media.payload,
            ).to_bytes()
        sink.retransmits += 1
        self._emit(out, sink.leg, data, rtcp=False)

    def _request_keyframe(self, source: _Source, now: float, out: list[Transmit]) -> None:
        if source.kind != "video" or source.removed:
            return
        last = source.last_keyframe_request_at
        ready = source.ssrc is not None and source.leg.connected
        # A clock that went backwards must not lock requests out, hence the `now < last`.
        if ready and (last is None or now - last >= self._keyframe_interval or now < last):
            assert source.ssrc is not None
            source.last_keyframe_request_at = now
            source.keyframe_request_pending = False
            source.keyframe_requests += 1
            pli = rtp.PictureLossIndication(source.line.send_ssrc, source.ssrc)
            self._emit(out, source.leg, pli.to_bytes(), rtcp=True)
        else:
            source.keyframe_request_pending = True  # sent when allowed, never lost

    def _flush_keyframe_request(self, source: _Source, now: float, out: list[Transmit]) -> None:
        if source.keyframe_request_pending:
            self._request_keyframe(source, now, out)

    def _on_keyframe_request(
        self, leg: _Leg, media_ssrc: int, now: float, out: list[Transmit]
    ) -> None:
        sink = leg.sink_by_ssrc.get(media_ssrc)
        if sink is None or not leg.deliverable:
            return
        sink.keyframe_requests += 1
        if sink.current is not None:
            self._request_keyframe(sink.current.route.source, now, out)
        else:
            for route in sink.routes:
                self._request_keyframe(route.source, now, out)

    def _on_nack(self, leg: _Leg, nack: rtp.GenericNack, now: float, out: list[Transmit]) -> None:
        sink = leg.sink_by_ssrc.get(nack.media_ssrc)
        if sink is None or not leg.deliverable:
            return  # the gate also covers retransmissions
        sink.nacks_received += 1
        to_forward: dict[_Source, list[int]] = {}
        for out_seq in nack.lost:
            segment = sink.segment_covering(out_seq)
            if segment is None or segment.route.removed:
                continue
            source = segment.route.source
            if segment.generation != source.generation or source.ssrc is None:
                continue
            src_seq = (out_seq - segment.seq_offset) & _U16
            original = source.history.get(src_seq)
            if original is not None:
                self._send_retransmission(segment, original, now, out)
                continue
            waiting = source.pending_rtx.setdefault(src_seq, [])
            if not any(s is sink for s, _ in waiting):
                waiting.append((sink, segment))
            while len(source.pending_rtx) > MAX_PENDING_RTX:
                del source.pending_rtx[next(iter(source.pending_rtx))]
            to_forward.setdefault(source, []).append(src_seq)
        for source, seqs in to_forward.items():
            if source.ssrc is None or not source.leg.connected:
                continue
            source.nacks_forwarded += 1
            forwarded = rtp.GenericNack(source.line.send_ssrc, source.ssrc, tuple(seqs))
            self._emit(out, source.leg, forwarded.to_bytes(), rtcp=True)

    def _on_sender_report(
        self, leg: _Leg, report: rtp.SenderReport, now: float, out: list[Transmit]
    ) -> None:
        found = leg.ssrc_table.get(report.ssrc)
        if found is None or found[1]:
            return
        source = found[0]
        source.reception.last_sr = (report.ntp_timestamp >> 16) & _U32
        source.reception.last_sr_at = now
        for route in source.routes:
            sink = route.sink
            segment = sink.current
            if (
                segment is None
                or segment.route is not route
                or segment.generation != source.generation
                or not sink.leg.deliverable
            ):
                continue
            # Same NTP time, RTP time moved into the sink's timestamp space: this is what
            # lets the receiver line audio and video up. Report blocks are not ours to pass.
            translated = rtp.SenderReport(
                ssrc=sink.line.send_ssrc,
                ntp_timestamp=report.ntp_timestamp,
                rtp_timestamp=(report.rtp_timestamp + segment.ts_offset) & _U32,
                packet_count=sink.packets,
                octet_count=sink.payload_octets,
            )
            data = translated.to_bytes()
            if sink.line.cname:
                sdes = rtp.SourceDescription(((sink.line.send_ssrc, sink.line.cname),))
                data += sdes.to_bytes()
            sink.sender_reports += 1
            self._emit(out, sink.leg, data, rtcp=True)

    def _report(self, leg: _Leg, now: float, out: list[Transmit]) -> None:
        """The leg's receiver report, if due: a block per source that sent since the last.

        It goes to a connected leg whether or not its gate is open: the gate keeps other
        participants' media from a leg, and an RR only tells the leg about its own stream.
        """
        due = leg.report_due
        if due is None or not leg.connected or now < due:
            return
        blocks = [
            self._report_block(source, now)
            for source in leg.sources.values()
            if source.ssrc is not None and source.loss.received > source.reception.received_prior
        ]
        if not blocks:
            leg.report_due = None  # idle: the next media packet schedules the next report
            return
        leg.report_due = now + REPORT_INTERVAL
        data = rtp.ReceiverReport(leg.rtcp_ssrc, tuple(blocks)).to_bytes()
        if leg.rtcp_cname:  # RFC 3550 §6.1: a compound carries our CNAME
            data += rtp.SourceDescription(((leg.rtcp_ssrc, leg.rtcp_cname),)).to_bytes()
        self._totals["rtcp_reports_sent"] += 1
        self._emit(out, leg, data, rtcp=True)

    @staticmethod
    def _report_block(source: _Source, now: float) -> rtp.ReportBlock:
        assert source.ssrc is not None
        loss, reception = source.loss, source.reception
        expected_interval = loss.expected - reception.expected_prior
        lost_interval = expected_interval - (loss.received - reception.received_prior)
        reception.expected_prior = loss.expected
        reception.received_prior = loss.received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        dlsr = 0
        if reception.last_sr_at is not None:  # in 1/65536 s
            dlsr = min(_U32, max(0, int((now - reception.last_sr_at) * 65536.0)))
        return rtp.ReportBlock(
            ssrc=source.ssrc,
            fraction_lost=fraction,
            packets_lost=min(loss.lost, 0x7FFFFF),
            highest_sequence=loss.highest & _U32,
            jitter=(reception.jitter >> 4) & _U32,
            last_sr=reception.last_sr,
            delay_since_last_sr=dlsr,
        )

    def _on_remb(
        self, leg: _Leg, remb: rtp.ReceiverEstimatedMaxBitrate, now: float, out: list[Transmit]
    ) -> None:
        """A receiver's bandwidth estimate: each source it receives from may have to slow
        down (or may speed up) to the slowest of its receivers."""
        sinks: list[_Sink] = []
        for ssrc in remb.ssrcs:
            sink = leg.sink_by_ssrc.get(ssrc)
            if sink is not None and sink not in sinks:
                sinks.append(sink)
        sources: list[_Source] = []
        for sink in sinks:
            sink.remb = remb.bitrate
            for route in sink.routes:
                if route.source not in sources:
                    sources.append(route.source)
        for source in sources:
            self._send_remb(source, now, out)

    def _send_remb(self, source: _Source, now: float, out: list[Transmit]) -> None:
        """REMB to a video source: the lowest latest estimate of the receivers it reaches,
        at most once per REMB_INTERVAL unless it fell by more than 20 %. A source none of
        whose receivers sent one gets none: the browser's own estimate stands."""
        source.remb_pending = False
        if source.kind != "video" or source.removed:
            return
        estimates = [
            route.sink.remb
            for route in source.routes
            if route.sink.remb is not None and route.sink.leg.deliverable
        ]
        if not estimates:
            return
        bitrate = min(estimates)
        last, sent_at = source.remb_sent, source.remb_sent_at
        # A clock that went backwards must not lock REMBs out, hence the `now < sent_at`.
        due = (
            sent_at is None
            or now >= sent_at + REMB_INTERVAL
            or now < sent_at
            or (last is not None and bitrate * 5 < last * 4)
        )
        if not due or source.ssrc is None or not source.leg.connected:
            source.remb_pending = True  # a later REMB or handle_timeout sends it
            return
        source.remb_sent, source.remb_sent_at = bitrate, now
        leg = source.leg
        remb = rtp.ReceiverEstimatedMaxBitrate(leg.rtcp_ssrc, bitrate, (source.ssrc,))
        self._totals["remb_forwarded"] += 1
        self._emit(out, leg, remb.to_bytes(), rtcp=True)

    def _on_report_blocks(self, leg: _Leg, blocks: Iterable[rtp.ReportBlock]) -> None:
        """What receivers report about our streams: the loss counter of each sink."""
        for block in blocks:
            sink = leg.sink_by_ssrc.get(block.ssrc)
            if sink is not None and sink.line.send_ssrc == block.ssrc:
                sink.receiver_lost = block.packets_lost
