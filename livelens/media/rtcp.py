"""Byte-level RTCP on plaintext (already SRTP-unprotected) compound packets (RFC 3550):
the twin of ``rust_fastpath/src/relay/rtcp.rs``, with the same validation as RTP in
:mod:`livelens.media.rtp` (one failure mode, :class:`~livelens.media.rtp.MalformedPacket`).

Covered: SR, RR, SDES (CNAME), generic NACK (RFC 4585), PLI (RFC 4585), FIR (RFC 5104)
and REMB (draft-alvestrand-rmcat-remb). Anything else in a compound (BYE, APP, XR,
transport-cc, ...) is kept as :class:`RtcpOther`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from livelens.media.rtp import RTP_VERSION, MalformedPacket

RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
RTCP_RTPFB = 205
RTCP_PSFB = 206
RTPFB_NACK = 1
PSFB_PLI = 1
PSFB_FIR = 4
PSFB_APP = 15  # application layer feedback: REMB when its FCI starts with "REMB"
REMB_ID = b"REMB"
SDES_CNAME = 1

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int
    packets_lost: int  # signed 24-bit cumulative count
    highest_sequence: int
    jitter: int
    last_sr: int
    delay_since_last_sr: int

    def to_bytes(self) -> bytes:
        lost = self.packets_lost & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            ((self.fraction_lost & 0xFF) << 24) | lost,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        )

    @classmethod
    def parse(cls, data: bytes, pos: int) -> ReportBlock:
        ssrc, word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, pos)
        lost = word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, word >> 24, lost, highest, jitter, lsr, dlsr)


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP time, kept opaque
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def to_bytes(self) -> bytes:
        body = struct.pack(
            "!IQIII",
            self.ssrc,
            self.ntp_timestamp,
            self.rtp_timestamp & _U32,
            self.packet_count & _U32,
            self.octet_count & _U32,
        ) + b"".join(r.to_bytes() for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_SR, body)


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def to_bytes(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(r.to_bytes() for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_RR, body)


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES with one CNAME per chunk (the only item WebRTC needs); other items are skipped."""

    chunks: tuple[tuple[int, str], ...]  # (ssrc, cname)

    def to_bytes(self) -> bytes:
        body = bytearray()
        for ssrc, cname in self.chunks:
            text = cname.encode()
            if len(text) > 255:
                raise ValueError("CNAME longer than 255 bytes")
            chunk = struct.pack("!IBB", ssrc, SDES_CNAME, len(text)) + text + b"\x00"
            body += chunk + b"\x00" * (-len(chunk) % 4)  # null-terminate to a word boundary
        return _rtcp_header(len(self.chunks), RTCP_SDES, bytes(body))


@dataclass(frozen=True, slots=True)
class PictureLossIndication:
    sender_ssrc: int
    media_ssrc: int

    def to_bytes(self) -> bytes:
        return _rtcp_header(
            PSFB_PLI, RTCP_PSFB, struct.pack("!II", self.sender_ssrc, self.media_ssrc)
        )


@dataclass(frozen=True, slots=True)
class FirEntry:
    """One FCI entry of a FIR (RFC 5104 §4.3.1.1): the SSRC asked for a decoder refresh
    and the request's 8-bit sequence number; 8 bytes on the wire."""

    ssrc: int
    sequence_number: int

    def to_bytes(self) -> bytes:
        return struct.pack("!IB3x", self.ssrc, self.sequence_number & 0xFF)

    @classmethod
    def parse(cls, fci: bytes, pos: int) -> FirEntry:
        return cls(*struct.unpack_from("!IB", fci, pos))


@dataclass(frozen=True, slots=True)
class FullIntraRequest:
    sender_ssrc: int
    entries: tuple[FirEntry, ...]

    def to_bytes(self) -> bytes:
        # RFC 5104 §4.3.1: the common-header media SSRC is unused and set to 0.
        head = struct.pack("!II", self.sender_ssrc, 0)
        entries = b"".join(e.to_bytes() for e in self.entries)
        return _rtcp_header(PSFB_FIR, RTCP_PSFB, head + entries)


@dataclass(frozen=True, slots=True)
class GenericNack:
    sender_ssrc: int
    media_ssrc: int
    lost: tuple[int, ...]  # sequence numbers, in FCI order

    def to_bytes(self) -> bytes:
        if not self.lost:
            raise ValueError("a NACK needs at least one sequence number")
        return _rtcp_header(
            RTPFB_NACK,
            RTCP_RTPFB,
            struct.pack("!II", self.sender_ssrc, self.media_ssrc) + _nack_fci(self.lost),
        )


@dataclass(frozen=True, slots=True)
class ReceiverEstimatedMaxBitrate:
    """REMB: a receiver's estimate of the bandwidth available for the listed SSRCs."""

    sender_ssrc: int
    bitrate: int  # bit/s; mantissa << exponent on the wire, read capped at 2**64 - 1
    ssrcs: tuple[int, ...]

    def to_bytes(self) -> bytes:
        if not 0 <= self.bitrate <= _U64:
            raise ValueError("REMB bitrate must be an unsigned 64-bit integer")
        if len(self.ssrcs) > 255:
            raise ValueError("a REMB lists at most 255 SSRCs")
        exponent, mantissa = 0, self.bitrate
        while mantissa >= 1 << 18:  # the largest exponent loses the fewest low bits
            mantissa >>= 1
            exponent += 1
        fci = REMB_ID + struct.pack("!I", len(self.ssrcs) << 24 | exponent << 18 | mantissa)
        fci += b"".join(struct.pack("!I", ssrc & _U32) for ssrc in self.ssrcs)
        # The media SSRC of the common header is unused: 0.
        return _rtcp_header(PSFB_APP, RTCP_PSFB, struct.pack("!II", self.sender_ssrc, 0) + fci)


@dataclass(frozen=True, slots=True)
class RtcpOther:
    """A well-framed packet of a type or format this module does not interpret."""

    packet_type: int
    fmt: int
    data: bytes  # the whole packet, header included

    def to_bytes(self) -> bytes:
        return self.data


RtcpPacket = (
    SenderReport
    | ReceiverReport
    | SourceDescription
    | PictureLossIndication
    | FullIntraRequest
    | GenericNack
    | ReceiverEstimatedMaxBitrate
    | RtcpOther
)


def _rtcp_header(count_or_fmt: int, packet_type: int, body: bytes) -> bytes:
    if len(body) % 4:
        raise ValueError("RTCP body must be a whole number of 32-bit words")
    if not 0 <= count_or_fmt <= 31:
        raise ValueError("RTCP count/format must fit in 5 bits")
    return (
        struct.pack("!BBH", (RTP_VERSION << 6) | count_or_fmt, packet_type, len(body) // 4) + body
    )


def _nack_fci(lost: Iterable[int]) -> bytes:
    seqs = sorted({s & _U16 for s in lost})
    # Start after the widest circular gap, so a run across the 65535->0 wrap packs together.
    gaps = [(seqs[(i + 1) % len(seqs)] - s) & _U16 for i, s in enumerate(seqs)]
    start = (gaps.index(max(gaps)) + 1) % len(seqs)
    seqs = seqs[start:] + seqs[:start]
    fci = bytearray()
    while seqs:
        pid, rest = seqs[0], []
        blp = 0
        for s in seqs[1:]:
            d = (s - pid) & _U16
            if 1 <= d <= 16:
                blp |= 1 << (d - 1)
            else:
                rest.append(s)
        fci += struct.pack("!HH", pid, blp)
        seqs = rest
    return bytes(fci)


def split_compound(data: bytes) -> list[bytes]:
    """Split a compound RTCP packet into its packets, checking every length field."""
    packets: list[bytes] = []
    pos, size = 0, len(data)
    if size == 0:
        raise MalformedPacket("empty RTCP packet")
    while pos < size:
        if pos + 4 > size:
            raise MalformedPacket("RTCP header runs past the compound packet")
        b0, _, words = struct.unpack_from("!BBH", data, pos)
        if b0 >> 6 != RTP_VERSION:
            raise MalformedPacket("RTCP version is not 2")
        end = pos + 4 * (words + 1)
        if end > size:
            raise MalformedPacket("RTCP packet runs past the compound packet")
        packets.append(bytes(data[pos:end]))
        pos = end
    return packets


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Parse a compound RTCP packet; raise :class:`MalformedPacket` if any part is invalid."""
    return [_parse_one(raw) for raw in split_compound(data)]


def _parse_one(raw: bytes) -> RtcpPacket:
    b0, packet_type = raw[0], raw[1]
    count = b0 & 0x1F
    body = raw[4:]
    if b0 & 0x20:  # padding: the last byte counts the padding bytes, itself included
        pad = raw[-1]
        if pad == 0 or pad > len(body):
            raise MalformedPacket("bad RTCP padding count")
        body = body[:-pad]

    if packet_type == RTCP_SR:
        if len(body) < 24 + 24 * count:
            raise MalformedPacket("SR shorter than its report count")
        ssrc, ntp, rtp_ts, packets, octets = struct.unpack_from("!IQIII", body, 0)
        blocks = tuple(ReportBlock.parse(body, 24 + 24 * i) for i in range(count))
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, blocks)
    if packet_type == RTCP_RR:
        if len(body) < 4 + 24 * count:
            raise MalformedPacket("RR shorter than its report count")
        (ssrc,) = struct.unpack_from("!I", body, 0)
        return ReceiverReport(
            ssrc, tuple(ReportBlock.parse(body, 4 + 24 * i) for i in range(count))
        )
    if packet_type == RTCP_SDES:
        return SourceDescription(_parse_sdes(body, count))
    if packet_type in (RTCP_RTPFB, RTCP_PSFB):
        if len(body) < 8:
            raise MalformedPacket("feedback packet shorter than its SSRCs")
        sender, media = struct.unpack_from("!II", body, 0)
        fci = body[8:]
        if packet_type == RTCP_RTPFB and count == RTPFB_NACK:
            if not fci or len(fci) % 4:
                raise MalformedPacket("NACK without whole FCI entries")
            return GenericNack(sender, media, _parse_nack_fci(fci))
        if packet_type == RTCP_PSFB and count == PSFB_PLI:
            return PictureLossIndication(sender, media)
        if packet_type == RTCP_PSFB and count == PSFB_FIR:
            if not fci or len(fci) % 8:
                raise MalformedPacket("FIR without whole FCI entries")
            entries = tuple(FirEntry.parse(fci, i) for i in range(0, len(fci), 8))
            return FullIntraRequest(sender, entries)
        if packet_type == RTCP_PSFB and count == PSFB_APP and fci[:4] == REMB_ID:
            return _parse_remb(sender, fci)
    return RtcpOther(packet_type, count, raw)


def _parse_remb(sender: int, fci: bytes) -> ReceiverEstimatedMaxBitrate:
    if len(fci) < 8 or len(fci) != 8 + 4 * fci[4]:
        raise MalformedPacket("REMB length does not match its SSRC count")
    (word,) = struct.unpack_from("!I", fci, 4)
    exponent, mantissa = (word >> 18) & 0x3F, word & 0x3FFFF
    ssrcs = struct.unpack_from(f"!{fci[4]}I", fci, 8)
    return ReceiverEstimatedMaxBitrate(sender, min(mantissa << exponent, _U64), tuple(ssrcs))


def _parse_nack_fci(fci: bytes) -> tuple[int, ...]:
    lost: list[int] = []
    for pos in range(0, len(fci), 4):
        pid, blp = struct.unpack_from("!HH", fci, pos)
        lost.append(pid)
        lost.extend((pid + bit + 1) & _U16 for bit in range(16) if blp >> bit & 1)
    return tuple(lost)


def _parse_sdes(body: bytes, count: int) -> tuple[tuple[int, str], ...]:
    chunks: list[tuple[int, str]] = []
    pos, size = 0, len(body)
    for _ in range(count):
        if pos + 4 > size:
            raise MalformedPacket("SDES chunk runs past the packet")
        (ssrc,) = struct.unpack_from("!I", body, pos)
        pos += 4
        cname = ""
        while True:
            if pos >= size:
                raise MalformedPacket("SDES items are not terminated")
            item = body[pos]
            if item == 0:  # end of items; the chunk is padded to a word boundary
                pos += 1
                pos += -pos % 4
                break
            if pos + 2 > size or pos + 2 + body[pos + 1] > size:
                raise MalformedPacket("SDES item runs past the packet")
            length = body[pos + 1]
            if item == SDES_CNAME:
                cname = body[pos + 2 : pos + 2 + length].decode("utf-8", "replace")
            pos += 2 + length
        chunks.append((ssrc, cname))
    return tuple(chunks)
