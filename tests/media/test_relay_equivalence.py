"""Differential tests: the Rust relay (``livelens._fastpath.Relay``) against the Python
reference (``livelens.media.reference_relay.Relay``).

Both are seeded alike and driven through the same random trace: several legs with
randomly negotiated audio/video (payload types, extension ids, RTX, signalled and
unsignalled SSRCs), media with sequence wrap, loss, duplicates and reordering, RTX and
padding probes, NACKs for what was really sent, PLI/FIR, SR/RR/SDES, REMB and other RTCP
in compound packets, byte-level garbage, legs joining and leaving, routes changing, gate
and transport toggles, clock jumps and timeouts (so the relays' own receiver reports and
REMBs go out, on time and late). After every step the transmits must be byte-identical,
the errors of the same type, and ``stats()`` and ``next_timeout()`` equal.
"""

from __future__ import annotations

import inspect
import random
import struct
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from livelens import _fastpath
from livelens.media import reference_relay, rtcp, rtp
from livelens.media.rtp import HeaderExtension, RtpPacket
from livelens.media.streams import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    Codec,
    MediaKind,
    MediaLine,
)

TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
LEG_NAMES = ("customer", "agent1", "agent2", "agent3")
KINDS: tuple[MediaKind, ...] = ("audio", "video")
H264_FORMATS = (("1", "CONSTRAINED_BASELINE"), ("0", "CONSTRAINED_BASELINE"), ("1", "HIGH"))


# --------------------------------------------------------------------------- the pair


class Mismatch(AssertionError):
    pass


class RelayPair:
    """The reference and the Rust relay, called in lockstep and compared after each call."""

    def __init__(self, reference: Any, fast: Any) -> None:
        self.reference = reference
        self.fast = fast
        self.log: list[str] = []

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.log.append(f"{method}{_short(args)}{kwargs or ''}")
        results = [self._run(relay, method, args, kwargs) for relay in (self.reference, self.fast)]
        if results[0] != results[1]:
            self._fail(f"{method} results differ", results[0], results[1])
        for name in ("stats", "next_timeout"):
            expected, got = getattr(self.reference, name)(), getattr(self.fast, name)()
            if expected != got:
                self._fail(f"{name}() differ after {method}", expected, got)
        return results[0][1]

    @staticmethod
    def _run(relay: Any, method: str, args: Any, kwargs: Any) -> tuple[str, Any]:
        try:
            value = getattr(relay, method)(*args, **kwargs)
        except KeyError:  # the documented errors (Rust's are subclasses); anything else fails
            return ("raised", "KeyError")
        except ValueError:
            return ("raised", "ValueError")
        if isinstance(value, list):
            value = [(leg, bytes(data)) for leg, data in value]
        return ("returned", value)

    def _fail(self, what: str, expected: Any, got: Any) -> None:
        recent = "\n  ".join(self.log[-12:])
        raise Mismatch(
            f"{what} at step {len(self.log)}:\n reference: {expected!r}\n rust:      {got!r}\n"
            f"last steps:\n  {recent}"
        )


def _short(args: tuple[Any, ...]) -> str:
    return repr(tuple(a.hex()[:48] if isinstance(a, bytes) else a for a in args))[:200]


# --------------------------------------------------------------------------- negotiation


def random_lines(rng: random.Random) -> tuple[MediaLine, ...]:
    """What one participant might have negotiated; now and then something invalid."""
    two_byte = rng.random() < 0.2  # ids only the two-byte form (RFC 8285) can carry
    ids = rng.sample(range(1, 256) if two_byte else range(1, 15), 4)
    uri_ids = dict(zip((MID_URI, AUDIO_LEVEL_URI, ABS_SEND_TIME_URI, TWCC_URI), ids, strict=True))
    pts = iter(rng.sample(range(96, 128), 12))
    kinds: list[MediaKind] = rng.choice(
        [["audio", "video"], ["video", "audio"], ["audio"], ["video"], []]
        if rng.random() < 0.1
        else [["audio", "video"], ["video", "audio"]]
    )
    lines = []
    for kind in kinds:
        codecs: list[Codec] = []
        if kind == "audio":
            codecs.append(Codec(next(pts), "audio/opus", 48000, 2))
            if rng.random() < 0.3:
                codecs.insert(rng.randrange(2), Codec(0, "audio/pcmu", 8000, 1))
        else:
            vp8 = next(pts)
            codecs.append(Codec(vp8, "video/vp8", 90000))
            if rng.random() < 0.7:
                codecs.append(Codec(next(pts), "video/rtx", 90000, rtx_apt=vp8))
            if rng.random() < 0.6:
                h264 = next(pts)
                codecs.append(Codec(h264, "video/h264", 90000, format_key=rng.choice(H264_FORMATS)))
                if rng.random() < 0.6:
                    codecs.append(Codec(next(pts), "video/rtx", 90000, rtx_apt=h264))
            rng.shuffle(codecs)
        wanted = {
            MID_URI: 0.9,
            AUDIO_LEVEL_URI: 0.8 if kind == "audio" else 0.05,
            ABS_SEND_TIME_URI: 0.7 if kind == "video" else 0.2,
            TWCC_URI: 0.5,
        }
        extensions = {uri: uri_ids[uri] for uri, p in wanted.items() if rng.random() < p}
        has_rtx = any(c.is_rtx for c in codecs)
        signalled = rng.random() < 0.7
        direction = rng.choices(["sendrecv", "recvonly", "sendonly", "inactive"], [8, 3, 3, 1])[0]
        lines.append(
            MediaLine(
                kind=kind,
                mid=rng.choice([kind[0], kind, "0", "1", f"{kind}-{rng.randrange(9)}", "m" * 20]),
                codecs=tuple(codecs),
                extensions=extensions,
                recv_ssrc=rng.getrandbits(32) if signalled else None,
                recv_rtx_ssrc=rng.getrandbits(32) if signalled and has_rtx else None,
                send_ssrc=rng.getrandbits(32),
                send_rtx_ssrc=rng.getrandbits(32) if has_rtx and rng.random() < 0.8 else None,
                cname=rng.choice([None, "", "cname-" + str(rng.randrange(1000))]),
                receives=direction in ("sendrecv", "recvonly"),
                sends=direction in ("sendrecv", "sendonly"),
            )
        )
    if lines and rng.random() < 0.04:  # invalid: both relays must refuse it alike
        broken = rng.choice(
            [
                lambda line: replace(line, codecs=(Codec(130, "audio/opus", 48000, 2),)),
                lambda line: replace(line, extensions={MID_URI: 0}),
                lambda line: replace(line, extensions={TWCC_URI: 300}),
                lambda line: replace(line, mid="x" * 300),
                lambda line: replace(line, send_ssrc=1 << 32),
            ]
        )
        lines[0] = broken(lines[0])
    if lines and rng.random() < 0.03:
        lines.append(lines[0])  # two m-lines of one kind
    return tuple(lines)


# --------------------------------------------------------------------------- participants


@dataclass
class Stream:
    """What a participant's browser sends for one m-line."""

    line: MediaLine
    ssrc: int
    rtx_ssrc: int
    seq: int
    ts: int
    rtx_seq: int
    level: int
    sent: deque[RtpPacket] = field(default_factory=lambda: deque(maxlen=64))
    # Packets "lost on the way": the relay never saw them, a retransmission may bring them.
    lost: deque[RtpPacket] = field(default_factory=lambda: deque(maxlen=64))
    # Sequence numbers the relay NACKed: a browser answers those with RTX.
    nacked: deque[int] = field(default_factory=lambda: deque(maxlen=64))


@dataclass
class Participant:
    lines: tuple[MediaLine, ...]
    streams: dict[str, Stream] = field(default_factory=dict)
    # What the relay sent this participant: SSRC -> recent sequence numbers.
    received: dict[int, deque[int]] = field(default_factory=lambda: defaultdict(deque))


class Trace:
    """One random session, fed to a :class:`RelayPair` step by step."""

    def __init__(self, seed: int, reference: Callable[..., Any] = reference_relay.Relay) -> None:
        self.rng = random.Random(seed)
        config = {
            "history_size": self.rng.choice([16, 64, 512]),
            "keyframe_interval": self.rng.choice([0.5, 0.2, 1.0]),
        }
        relay_seed = self.rng.getrandbits(64)
        self.pair = RelayPair(
            reference(seed=relay_seed, **config), _fastpath.Relay(seed=relay_seed, **config)
        )
        # A dyadic clock (multiples of 1/256 s, exact in binary) makes ties happen: 1/256 s
        # at 48 kHz is exactly 187.5 ticks, idle times of exactly 1 s, and so on.
        self.dyadic = self.rng.random() < 0.5
        start = self.rng.choice([0.0, 1000.0, 1_800_000_000.0])
        self.now = start + (self.rng.randrange(256) / 256 if self.dyadic else self.rng.random())
        self.participants: dict[str, Participant] = {}

    def run(self, steps: int) -> None:
        actions: list[tuple[Callable[[], None], int]] = [
            (self.media, 40),
            (self.rtx, 8),
            (self.garbage_rtp, 2),
            (self.rtcp, 12),
            (self.join, 3),
            (self.leave, 1),
            (self.route, 4),
            (self.gate, 2),
            (self.transport, 2),
            (self.timeout, 3),
            (self.clock_jump, 3),
        ]
        for name in LEG_NAMES[: self.rng.randint(2, 4)]:
            self.join(name)
        for _ in range(steps):
            self.tick()
            action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
            action()

    # ----------------------------------------------------------------- helpers

    def tick(self) -> None:
        if self.dyadic:
            self.now += self.rng.choice([0, 1, 1, 2, 3, 5, 8, 13]) / 256
        else:
            self.now += self.rng.choice([0.0, 0.001, 0.01, 0.02, 0.02, 0.05])

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = self.pair.call(method, *args, **kwargs)
        if isinstance(result, list):
            self.observe(result)
        return result

    def observe(self, transmits: list[tuple[str, bytes]]) -> None:
        for leg, data in transmits:
            participant = self.participants.get(leg)
            if participant is None:
                continue
            if rtp.is_rtcp(data):
                for item in rtcp.parse_rtcp(data):
                    for stream in participant.streams.values():
                        if isinstance(item, rtcp.GenericNack) and item.media_ssrc == stream.ssrc:
                            stream.nacked.extend(item.lost)
                continue
            packet = rtp.parse_rtp(data)
            seqs = participant.received[packet.ssrc]
            seqs.append(packet.sequence_number)
            if len(seqs) > 200:
                seqs.popleft()

    def some_leg(self) -> str:
        if self.rng.random() < 0.03:
            return "ghost"  # never added
        return self.rng.choice(list(self.participants) or list(LEG_NAMES))

    def sending(self) -> tuple[str, Participant, Stream] | None:
        candidates = [
            (name, p, s) for name, p in self.participants.items() for s in p.streams.values()
        ]
        return self.rng.choice(candidates) if candidates else None

    # ----------------------------------------------------------------- topology

    def join(self, name: str | None = None) -> None:
        name = name or self.rng.choice(LEG_NAMES)
        lines = random_lines(self.rng)
        forwarding = self.rng.random() < 0.75
        result = self.call("add_leg", name, lines, forwarding=forwarding)
        if result is None:  # added
            self.participants[name] = self.participant(lines)
            for other in list(self.participants):
                for kind in KINDS:
                    if other != name and self.rng.random() < 0.7:
                        self.call("add_route", other, name, kind)
                    if other != name and self.rng.random() < 0.7:
                        self.call("add_route", name, other, kind)
            if self.rng.random() < 0.9:
                self.call("switch", name, "connected", True, self.now)

    def participant(self, lines: tuple[MediaLine, ...]) -> Participant:
        participant = Participant(lines)
        for line in lines:
            if not line.receives or line.kind in participant.streams:
                continue
            near_wrap = self.rng.random() < 0.3
            participant.streams[line.kind] = Stream(
                line=line,
                ssrc=line.recv_ssrc if line.recv_ssrc is not None else self.rng.getrandbits(32),
                rtx_ssrc=(
                    line.recv_rtx_ssrc
                    if line.recv_rtx_ssrc is not None
                    else self.rng.getrandbits(32)
                ),
                seq=self.rng.randrange(65500, 65536) if near_wrap else self.rng.getrandbits(16),
                ts=self.rng.getrandbits(32),
                rtx_seq=self.rng.getrandbits(16),
                level=self.rng.randrange(128),
            )
        return participant

    def leave(self) -> None:
        name = self.some_leg()
        self.call("remove_leg", name)
        self.participants.pop(name, None)

    def route(self) -> None:
        kind = "data" if self.rng.random() < 0.02 else self.rng.choice(KINDS)
        source, sink = self.some_leg(), self.some_leg()
        method = "add_route" if self.rng.random() < 0.6 else "remove_route"
        self.call(method, source, sink, kind)

    def gate(self) -> None:
        self.call("switch", self.some_leg(), "forwarding", self.rng.random() < 0.75, self.now)

    def transport(self) -> None:
        self.call("switch", self.some_leg(), "connected", self.rng.random() < 0.8, self.now)

    def timeout(self) -> None:
        due = self.pair.reference.next_timeout()
        if due is not None and self.rng.random() < 0.7:
            self.now = max(self.now, due + self.rng.choice([0.0, 0.0, 0.001]))
        self.call("handle_timeout", self.now)

    def clock_jump(self) -> None:
        # Idle switches and speaker holds need seconds; a clock may also step back.
        self.now += self.rng.choice([0.25, 0.5, 1.0, 1.25, 1.5, 2.5, -0.25])

    # ----------------------------------------------------------------- RTP

    def media(self) -> None:
        found = self.sending()
        if found is None:
            return
        name, _, stream = found
        line = stream.line
        roll = self.rng.random()
        if roll < 0.04 and stream.sent:  # late or duplicated
            packet = self.rng.choice(stream.sent)
        elif roll < 0.08 and stream.lost:  # resent on the media SSRC (no RTX negotiated)
            packet = self.rng.choice(stream.lost)
        else:
            if roll < 0.02 and line.recv_ssrc is None:
                stream.ssrc = self.rng.getrandbits(32)  # a new SSRC, learnt from the MID
            packet = self.next_packet(stream)
            if roll < 0.3:  # lost on the way, and maybe the next few too
                for _ in range(self.rng.choice([0, 0, 1, 5, 40])):
                    stream.lost.append(packet)
                    packet = self.next_packet(stream)
                stream.lost.append(packet)
                packet = self.next_packet(stream)
            stream.sent.append(packet)
        self.send_rtp(name, packet.to_bytes())

    def next_packet(self, stream: Stream) -> RtpPacket:
        stream.seq = (stream.seq + 1) & 0xFFFF
        stream.ts = (stream.ts + self.rng.choice([960, 3000, 3000, 0])) & 0xFFFFFFFF
        media_pts = [c.payload_type for c in stream.line.codecs if not c.is_rtx]
        pt = self.rng.choice(media_pts) if self.rng.random() < 0.95 else self.rng.randrange(128)
        if self.rng.random() < 0.05:  # talking or not, for a while
            stream.level = self.rng.choice([5, 20, 40, 60, 127])
        return RtpPacket(
            payload_type=pt,
            sequence_number=stream.seq,
            timestamp=stream.ts,
            ssrc=stream.ssrc,
            marker=self.rng.random() < 0.1,
            csrc=tuple(self.rng.getrandbits(32) for _ in range(self.rng.choice([0, 0, 0, 2]))),
            extensions=self.extensions(stream),
            payload=self.rng.randbytes(self.rng.choice([0, 1, 5, 20, 120])),
            padding=self.rng.choice([b"", b"", b"", b"\x01", b"\x00\x00\x03"]),
        )

    def extensions(self, stream: Stream) -> tuple[HeaderExtension, ...]:
        line = stream.line
        out: list[HeaderExtension] = []
        for uri, ext_id in line.extensions.items():
            if self.rng.random() < 0.1:
                continue
            if uri == MID_URI:
                mid = line.mid.encode() if self.rng.random() < 0.95 else b"nope"
                out.append(HeaderExtension(ext_id, mid))
            elif uri == AUDIO_LEVEL_URI:
                value = bytes([0x80 | stream.level]) if self.rng.random() < 0.97 else b""
                out.append(HeaderExtension(ext_id, value))
            elif uri == ABS_SEND_TIME_URI:
                out.append(HeaderExtension(ext_id, self.rng.randbytes(3)))
            else:
                out.append(HeaderExtension(ext_id, self.rng.randbytes(2)))
        if self.rng.random() < 0.1:
            out.append(HeaderExtension(self.rng.randrange(1, 15), self.rng.randbytes(4)))
        self.rng.shuffle(out)
        return tuple(out)

    def rtx(self) -> None:
        found = self.sending()
        if found is None:
            return
        name, _, stream = found
        rtx_pts = [c.payload_type for c in stream.line.codecs if c.is_rtx]
        pt = self.rng.choice(rtx_pts) if rtx_pts else self.rng.randrange(96, 128)
        stream.rtx_seq = (stream.rtx_seq + 1) & 0xFFFF
        mid = stream.line.extensions.get(MID_URI)
        extensions = (HeaderExtension(mid, stream.line.mid.encode()),) if mid else ()
        if self.rng.random() < 0.15 or not (stream.sent or stream.lost):  # a bandwidth probe
            padding = bytes(9) + b"\n"
            probe = RtpPacket(pt, stream.rtx_seq, stream.ts, stream.rtx_ssrc, padding=padding)
            self.send_rtp(name, probe.to_bytes())
            return
        # Mostly what was asked for: the source's original of a NACKed packet.
        pool = stream.lost if stream.lost and self.rng.random() < 0.7 else stream.sent
        original = self.rng.choice(pool or stream.lost)
        if stream.nacked and self.rng.random() < 0.8:
            wanted = stream.nacked.popleft()
            known = [p for p in (*stream.lost, *stream.sent) if p.sequence_number == wanted]
            original = known[0] if known else replace(original, sequence_number=wanted)
        osn = original.sequence_number
        if self.rng.random() < 0.3:
            osn = (osn + self.rng.randint(-3, 3)) & 0xFFFF
        packet = RtpPacket(
            pt,
            stream.rtx_seq,
            original.timestamp,
            stream.rtx_ssrc,
            marker=original.marker,
            extensions=extensions + original.extensions[:1],
            payload=struct.pack("!H", osn) + original.payload,
        )
        if (not rtx_pts and self.rng.random() < 0.95) or self.rng.random() < 0.1:
            packet = original  # no RTX on this stream: resent on the media SSRC
        self.send_rtp(name, packet.to_bytes())

    def garbage_rtp(self) -> None:
        found = self.sending()
        if found is None:
            return
        name, _, stream = found
        data = stream.sent[-1].to_bytes() if stream.sent else self.rng.randbytes(30)
        self.send_rtp(name, self.mangle(data, force=True))

    def send_rtp(self, name: str, data: bytes) -> None:
        if self.rng.random() < 0.03:
            data = self.mangle(data)
        if self.rng.random() < 0.01:
            name = "ghost"
        self.call("handle_packet", name, data, self.now)

    def mangle(self, data: bytes, *, force: bool = False) -> bytes:
        how = self.rng.randrange(4 if force else 3)
        if how == 0 and data:  # truncated
            return data[: self.rng.randrange(len(data))]
        if how == 1 and data:  # bytes flipped
            buf = bytearray(data)
            for _ in range(self.rng.randint(1, 3)):
                buf[self.rng.randrange(len(buf))] ^= 1 << self.rng.randrange(8)
            return bytes(buf)
        if how == 2:  # bytes appended
            return data + self.rng.randbytes(self.rng.randint(1, 9))
        return self.rng.randbytes(self.rng.randrange(40))

    # ----------------------------------------------------------------- RTCP

    def rtcp(self) -> None:
        if not self.participants:
            return
        name = self.rng.choice(list(self.participants))
        participant = self.participants[name]
        items = [self.rtcp_item(participant) for _ in range(self.rng.choice([1, 1, 2, 3, 4]))]
        data = b"".join(items)
        if self.rng.random() < 0.05:
            data = self.mangle(data, force=True)
        self.call("handle_packet", name, data, self.now)

    def rtcp_item(self, participant: Participant) -> bytes:
        rng = self.rng
        sink_ssrcs = [
            ssrc
            for line in participant.lines
            if line.sends
            for ssrc in (line.send_ssrc, line.send_rtx_ssrc)
            if ssrc is not None
        ] or [rng.getrandbits(32)]
        source_ssrcs = [s.ssrc for s in participant.streams.values()] + [
            s.rtx_ssrc for s in participant.streams.values()
        ]
        kinds = ["sr", "rr", "sdes", "pli", "fir", "nack", "remb", "other"]
        kind = rng.choices(kinds, [3, 2, 1, 3, 1, 5, 4, 1])[0]
        if kind in ("sr", "rr"):
            blocks = tuple(
                rtcp.ReportBlock(
                    rng.choice([*sink_ssrcs, rng.getrandbits(32)]),
                    rng.randrange(256),
                    rng.randint(-(1 << 23), (1 << 23) - 1),
                    rng.getrandbits(32),
                    rng.getrandbits(32),
                    rng.getrandbits(32),
                    rng.getrandbits(32),
                )
                for _ in range(rng.choice([0, 1, 2]))
            )
            if kind == "rr":
                return rtcp.ReceiverReport(rng.getrandbits(32), blocks).to_bytes()
            ssrc = rng.choice(source_ssrcs) if source_ssrcs and rng.random() < 0.9 else 7
            report = rtcp.SenderReport(
                ssrc, rng.getrandbits(64), rng.getrandbits(32), rng.getrandbits(32), 0, blocks
            )
            return report.to_bytes()
        if kind == "remb":
            # Around a few levels, so both "fell by more than 20 %" and "did not" happen.
            level = rng.choice([0, 30_000, 300_000, 1_000_000, 2_500_000, 1 << 40, (1 << 64) - 1])
            bitrate = min((1 << 64) - 1, int(level * rng.choice([1.0, 0.9, 0.79, 0.5, 1.3])))
            ssrcs = tuple(
                rng.choice([*sink_ssrcs, rng.getrandbits(32)]) for _ in range(rng.randint(0, 3))
            )
            return rtcp.ReceiverEstimatedMaxBitrate(rng.getrandbits(32), bitrate, ssrcs).to_bytes()
        if kind == "sdes":
            return rtcp.SourceDescription(((rng.getrandbits(32), "someone"),)).to_bytes()
        if kind == "pli":
            return rtcp.PictureLossIndication(
                rng.getrandbits(32), rng.choice(sink_ssrcs)
            ).to_bytes()
        if kind == "fir":
            entries = tuple(
                rtcp.FirEntry(rng.choice(sink_ssrcs), rng.randrange(256))
                for _ in range(rng.randint(1, 2))
            )
            return rtcp.FullIntraRequest(rng.getrandbits(32), entries).to_bytes()
        if kind == "nack":
            ssrc = rng.choice(sink_ssrcs)
            seen = list(participant.received.get(ssrc, ()))
            # Around what arrived: sent packets (history) and the gaps between them (lost).
            lost = [
                (rng.choice(seen) + rng.choice([0, 0, 1, -1, 2, 5])) & 0xFFFF
                for _ in range(rng.randint(1, 5) if seen else 0)
            ]
            if not lost or rng.random() < 0.2:
                lost.append(rng.getrandbits(16))
            return rtcp.GenericNack(rng.getrandbits(32), ssrc, tuple(lost)).to_bytes()
        packet_type, fmt = rng.choice([(203, 1), (206, 15), (205, 15), (204, 0), (207, 0)])
        body = rng.randbytes(4 * rng.randint(2, 4))
        return struct.pack("!BBH", 0x80 | fmt, packet_type, len(body) // 4) + body


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", range(100))
def test_rust_and_reference_relays_agree_on_a_random_session(seed: int) -> None:
    Trace(seed).run(steps=500)


def test_a_long_session_through_many_sequence_wraps() -> None:
    trace = Trace(1000)
    trace.run(steps=4000)


class _OffByOneTimestamp(reference_relay.Relay):
    """A deliberately wrong rewrite: every fifth packet's timestamp is one tick late."""

    def _rewrite(self, *args: Any) -> RtpPacket:
        packet = super()._rewrite(*args)
        if packet.sequence_number % 5:
            return packet
        return replace(packet, timestamp=(packet.timestamp + 1) & 0xFFFFFFFF)


def test_the_comparison_catches_a_wrong_rewrite() -> None:
    with pytest.raises(Mismatch, match="handle_packet results differ"):
        Trace(3, reference=_OffByOneTimestamp).run(steps=400)


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(function).parameters.values()
        if p.name != "self"
    ]


def test_the_rust_relay_has_the_reference_api() -> None:
    assert _parameters(_fastpath.Relay) == _parameters(reference_relay.Relay)
    public = [name for name in dir(reference_relay.Relay) if not name.startswith("_")]
    assert public == sorted(n for n in dir(_fastpath.Relay) if not n.startswith("_"))
    for name in public:
        reference, fast = getattr(reference_relay.Relay, name), getattr(_fastpath.Relay, name)
        assert _parameters(fast) == _parameters(reference), name


def test_splitmix64_is_vignas() -> None:
    generator = reference_relay.SplitMix64(1234567)
    assert [generator.next_u64() for _ in range(3)] == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
    ]


def test_unseeded_relays_start_at_random_sequence_numbers() -> None:
    line = MediaLine("audio", "0", (Codec(111, "audio/opus", 48000, 2),), {}, 1, None, 2)
    starts = set()
    for _ in range(8):
        relay = _fastpath.Relay()
        for leg in ("a", "b"):
            relay.add_leg(leg, (line,), forwarding=True)
            relay.switch(leg, "connected", True, 0.0)
        relay.add_route("a", "b", "audio")
        packet = RtpPacket(111, 1, 1, 1, payload=b"x").to_bytes()
        ((_, data),) = relay.handle_packet("a", packet, 0.0)
        starts.add(rtp.parse_rtp(data).sequence_number)
    assert len(starts) > 1 and all(s < 0x8000 for s in starts)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"history_size": 100}, ValueError),
        ({"history_size": 0}, ValueError),
        ({"history_size": -4}, ValueError),
        ({"seed": -1}, ValueError),
        ({"seed": 1 << 64}, ValueError),
    ],
)
def test_both_refuse_the_same_settings(kwargs: dict[str, int], error: type[Exception]) -> None:
    for relay in (reference_relay.Relay, _fastpath.Relay):
        with pytest.raises(error):
            relay(**kwargs)
