"""The relay's state per leg and per stream: legs, sources (what a leg sends us), sinks
(what we send a leg), routes between them and segments of a sink's output, with the
receiver statistics of a source."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from typing import Literal

from livelens.media.reference_relay.history import History
from livelens.media.reference_relay.rng import RandomBits
from livelens.media.reference_relay.stats import drop_dict
from livelens.media.rtp import RtpPacket
from livelens.media.streams import AUDIO_LEVEL_URI, MID_URI, MediaKind, MediaLine

LegId = str
# A leg's two switches: its consent gate and its transport (the Rust relay's ``Switch``).
Switch = Literal["forwarding", "connected"]

SPEAKING_LEVEL = 50.0  # smoothed -dBov below which a source counts as speaking
MAX_SEGMENTS = 8  # per sink, for translating NACKs that reach back across a switch
MAX_PENDING_RTX = 1024  # per source: NACKed sequence numbers waiting for the source's RTX

U16 = 0xFFFF
U32 = 0xFFFFFFFF


def check_lines(leg_id: LegId, lines: tuple[MediaLine, ...]) -> None:
    """Refuse m-lines that could never be put on the wire, so a bad answer fails when its
    leg is added rather than on every packet, and two m-lines of one kind on a leg."""
    source_kinds: set[str] = set()
    sink_kinds: set[str] = set()
    for line in lines:
        for codec in line.codecs:
            for pt in (codec.payload_type, codec.rtx_apt):
                if pt is not None and not 0 <= pt <= 127:
                    raise ValueError(f"payload type {pt} out of range")
            if not 0 <= codec.clock_rate <= U32 or not 0 <= (codec.channels or 0) <= U32:
                raise ValueError(f"codec {codec.mime_type} out of range")
        for ext_id in line.extensions.values():
            if not 1 <= ext_id <= 255:
                raise ValueError(f"header extension id {ext_id} out of range")
        for ssrc in (line.recv_ssrc, line.recv_rtx_ssrc, line.send_ssrc, line.send_rtx_ssrc):
            if ssrc is not None and not 0 <= ssrc <= U32:
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


class LossCounter:
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
        delta = (seq - self.highest) & U16
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


class Reception:
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
        transit = (int(now * clock_rate) - timestamp) & U32
        if self.transit is not None:
            d = (transit - self.transit) & U32
            d = min(d, 0x100000000 - d)  # |D| of a signed 32-bit difference
            self.jitter += d - ((self.jitter + 8) >> 4)
        self.transit = transit
        self.last_ts = timestamp


class Leg:
    def __init__(
        self,
        leg_id: LegId,
        lines: Iterable[MediaLine],
        *,
        forwarding: bool,
        history_size: int,
        rng: RandomBits,
    ) -> None:
        self.id = leg_id
        self.forwarding = forwarding
        self.connected = False
        self.drops: Counter[str] = Counter()
        self.sources: dict[MediaKind, Source] = {}
        self.sinks: dict[MediaKind, Sink] = {}
        self.ssrc_table: dict[int, tuple[Source, bool]] = {}  # SSRC -> (source, is RTX)
        self.sink_by_ssrc: dict[int, Sink] = {}
        self.source_by_mid: dict[bytes, Source] = {}
        self.mid_ext_ids: set[int] = set()
        self.report_due: float | None = None  # the next receiver report, once media came
        lines = tuple(lines)
        check_lines(leg_id, lines)  # before anything changes, the generator included
        # Our RTCP towards this leg (RR, REMB) comes from the first m-line we send on: its
        # SSRC and CNAME are in our answer. Failing that, the first m-line's.
        rtcp_line = next((line for line in lines if line.sends), lines[0] if lines else None)
        self.rtcp_ssrc = rtcp_line.send_ssrc if rtcp_line else 0
        self.rtcp_cname = rtcp_line.cname if rtcp_line else None
        for line in lines:
            if MID_URI in line.extensions:
                self.mid_ext_ids.add(line.extensions[MID_URI])
            if line.receives:
                source = Source(self, line, history_size)
                self.sources[line.kind] = source
                self.source_by_mid[line.mid.encode()] = source
                if line.recv_ssrc is not None:
                    self.ssrc_table[line.recv_ssrc] = (source, False)
                if line.recv_rtx_ssrc is not None:
                    self.ssrc_table[line.recv_rtx_ssrc] = (source, True)
            if line.sends:
                sink = Sink(self, line, rng)
                self.sinks[line.kind] = sink
                self.sink_by_ssrc[line.send_ssrc] = sink
                if line.send_rtx_ssrc is not None:
                    self.sink_by_ssrc[line.send_rtx_ssrc] = sink

    @property
    def deliverable(self) -> bool:
        return self.connected and self.forwarding


class Stream:
    """What a source and a sink have alike: the leg and m-line they belong to, their
    routes, and the counters both report: packets and bytes (a source's received, a
    sink's sent), keyframe requests (a source's sent, a sink's received) and drops."""

    def __init__(self, leg: Leg, line: MediaLine) -> None:
        self.leg = leg
        self.line = line
        self.kind: MediaKind = line.kind
        self.routes: list[Route] = []
        self.removed = False
        self.packets = 0
        self.bytes = 0
        self.keyframe_requests = 0
        self.drops: Counter[str] = Counter()


class Source(Stream):
    """A stream a leg sends to the server (one per kind)."""

    def __init__(self, leg: Leg, line: MediaLine, history_size: int) -> None:
        super().__init__(leg, line)
        self.ssrc = line.recv_ssrc
        self.rtx_ssrc = line.recv_rtx_ssrc
        self.generation = 0  # bumps when the SSRC changes: a new sequence/timestamp space
        self.history = History(history_size)
        self.pending_rtx: dict[int, list[tuple[Sink, Segment]]] = {}
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
        self.rtx_packets = 0
        self.padding_only = 0
        self.nacks_forwarded = 0
        self.loss = LossCounter()
        self.reception = Reception()

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
            "drops": drop_dict(self.drops),
        }


class Route:
    """A source bound to a sink, with the payload-type and extension maps precomputed."""

    def __init__(self, source: Source, sink: Sink) -> None:
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


class Segment:
    """A run of a sink's output taken from one source generation with fixed offsets."""

    def __init__(
        self, route: Route, generation: int, start_seq: int, seq_offset: int, ts_offset: int
    ) -> None:
        self.route = route
        self.generation = generation
        self.start_seq = start_seq
        self.seq_offset = seq_offset
        self.ts_offset = ts_offset
        self.fresh = True  # the next packet opens the segment


class Sink(Stream):
    """A stream the server sends to a leg (one per kind), on the SSRC from its answer."""

    def __init__(self, leg: Leg, line: MediaLine, rng: RandomBits) -> None:
        super().__init__(leg, line)
        self.current: Segment | None = None
        self.segments: deque[Segment] = deque(maxlen=MAX_SEGMENTS)
        self.last_seq: int | None = None
        self.last_ts = 0
        self.last_sent_at = 0.0
        self.switched_at = 0.0
        self.rtx_seq = rng.getrandbits(15)
        self.payload_octets = 0
        self.retransmits = 0
        self.nacks_received = 0
        self.sender_reports = 0
        self.receiver_lost = 0  # cumulative, as the receiver last reported it
        self.remb: int | None = None  # bit/s, the receiver's latest estimate for this stream

    def note_sent(self, packet: RtpPacket, size: int, now: float) -> None:
        self.packets += 1
        self.bytes += size
        self.payload_octets += len(packet.payload)
        seq = packet.sequence_number
        if self.last_seq is None or (seq - self.last_seq) & U16 < 0x8000:
            self.last_seq = seq
            self.last_ts = packet.timestamp
            self.last_sent_at = now

    def segment_covering(self, out_seq: int) -> Segment | None:
        if self.last_seq is None:
            return None
        segments = self.segments
        for i in range(len(segments) - 1, -1, -1):
            seg = segments[i]
            end = self.last_seq if i == len(segments) - 1 else segments[i + 1].start_seq - 1
            if (out_seq - seg.start_seq) & U16 <= (end - seg.start_seq) & U16:
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
            "drops": drop_dict(self.drops),
        }
