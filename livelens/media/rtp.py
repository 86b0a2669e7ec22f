"""Byte-level RTP on plaintext (already SRTP-unprotected) packets: the twin of
``rust_fastpath/src/relay/rtp.rs``. RTCP is :mod:`livelens.media.rtcp`.

No aiortc here: aiortc's ``RtpPacket`` silently drops header extensions it does not
know, which a relay must not do. This module and :mod:`~livelens.media.rtcp` are the
reference for the Rust port, so every parser has one failure mode:
:class:`MalformedPacket` (a ``ValueError``). Any other exception escaping a parser is a
bug (the fuzz test checks this).

Covered: RTP fixed header, CSRC list, one-byte and two-byte header extensions
(RFC 8285), padding, and the values of the extensions the relay reads or writes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

RTP_VERSION = 2
RTP_HEADER_SIZE = 12
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x1000  # the low 4 bits ("appbits") may be anything
_TWO_BYTE_PROFILE_MASK = 0xFFF0

_U16 = 0xFFFF
_U32 = 0xFFFFFFFF


class MalformedPacket(ValueError):
    """The bytes are not a valid RTP or RTCP packet."""


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4 demultiplexing: RTCP packet types 192-223 sit where RTP has M+PT 64-95."""
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(frozen=True, slots=True)
class HeaderExtension:
    """One RFC 8285 element: the local id (1-255) and its value bytes."""

    id: int
    value: bytes


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extensions: tuple[HeaderExtension, ...] = ()
    payload: bytes = b""
    # Trailing padding exactly as received, including the final count byte; b"" = none.
    # Kept verbatim so a relay forwards padding (e.g. bandwidth probes) unchanged.
    padding: bytes = b""

    def extension(self, ext_id: int) -> bytes | None:
        for ext in self.extensions:
            if ext.id == ext_id:
                return ext.value
        return None

    def to_bytes(self) -> bytes:
        if not 0 <= self.payload_type <= 127:
            raise ValueError(f"payload type out of range: {self.payload_type}")
        if len(self.csrc) > 15:
            raise ValueError("at most 15 CSRCs")
        if self.padding and self.padding[-1] != len(self.padding):
            raise ValueError("padding must end with its own length")
        ext_block = _serialize_extensions(self.extensions)
        b0 = (
            (RTP_VERSION << 6)
            | (0x20 if self.padding else 0)
            | (0x10 if ext_block else 0)
            | len(self.csrc)
        )
        b1 = (0x80 if self.marker else 0) | self.payload_type
        parts = [
            struct.pack(
                "!BBHII",
                b0,
                b1,
                self.sequence_number & _U16,
                self.timestamp & _U32,
                self.ssrc & _U32,
            )
        ]
        parts.extend(struct.pack("!I", c & _U32) for c in self.csrc)
        parts.append(ext_block)
        parts.append(self.payload)
        parts.append(self.padding)
        return b"".join(parts)


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one plaintext RTP packet; raise :class:`MalformedPacket` if it is not one."""
    size = len(data)
    if size < RTP_HEADER_SIZE:
        raise MalformedPacket("RTP packet shorter than its fixed header")
    b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data, 0)
    if b0 >> 6 != RTP_VERSION:
        raise MalformedPacket("RTP version is not 2")
    pos = RTP_HEADER_SIZE
    cc = b0 & 0x0F
    if pos + 4 * cc > size:
        raise MalformedPacket("CSRC list runs past the packet")
    csrc = struct.unpack_from(f"!{cc}I", data, pos) if cc else ()
    pos += 4 * cc

    extensions: tuple[HeaderExtension, ...] = ()
    if b0 & 0x10:
        if pos + 4 > size:
            raise MalformedPacket("header extension runs past the packet")
        profile, words = struct.unpack_from("!HH", data, pos)
        pos += 4
        end = pos + 4 * words
        if end > size:
            raise MalformedPacket("header extension runs past the packet")
        extensions = _parse_extensions(profile, bytes(data[pos:end]))
        pos = end

    padding = b""
    payload_end = size
    if b0 & 0x20:
        count = data[-1]
        if count == 0 or pos + count > size:
            raise MalformedPacket("bad RTP padding count")
        payload_end = size - count
        padding = bytes(data[payload_end:])
    return RtpPacket(
        payload_type=b1 & 0x7F,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        marker=bool(b1 & 0x80),
        csrc=tuple(csrc),
        extensions=extensions,
        payload=bytes(data[pos:payload_end]),
        padding=padding,
    )


def _parse_extensions(profile: int, block: bytes) -> tuple[HeaderExtension, ...]:
    out: list[HeaderExtension] = []
    pos, size = 0, len(block)
    if profile == ONE_BYTE_PROFILE:
        while pos < size:
            head = block[pos]
            ext_id, length = head >> 4, (head & 0x0F) + 1
            if ext_id == 0:  # padding byte (its length bits are ignored, as libwebrtc does)
                pos += 1
                continue
            if ext_id == 15:  # RFC 8285 §4.2: reserved, stop processing
                break
            pos += 1
            if pos + length > size:
                raise MalformedPacket("one-byte header extension runs past its block")
            out.append(HeaderExtension(ext_id, block[pos : pos + length]))
            pos += length
    elif profile & _TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while pos < size:
            ext_id = block[pos]
            if ext_id == 0:  # padding byte
                pos += 1
                continue
            if pos + 2 > size:
                raise MalformedPacket("two-byte header extension runs past its block")
            length = block[pos + 1]
            pos += 2
            if pos + length > size:
                raise MalformedPacket("two-byte header extension runs past its block")
            out.append(HeaderExtension(ext_id, block[pos : pos + length]))
            pos += length
    # Any other profile is not RFC 8285: its ids mean nothing to us, so keep none.
    return tuple(out)


def _serialize_extensions(extensions: Sequence[HeaderExtension]) -> bytes:
    if not extensions:
        return b""
    body = bytearray()
    if all(1 <= e.id <= 14 and 1 <= len(e.value) <= 16 for e in extensions):
        profile = ONE_BYTE_PROFILE
        for e in extensions:
            body.append((e.id << 4) | (len(e.value) - 1))
            body += e.value
    else:
        profile = TWO_BYTE_PROFILE
        for e in extensions:
            if not 1 <= e.id <= 255 or len(e.value) > 255:
                raise ValueError(f"header extension {e.id} does not fit the two-byte form")
            body += bytes((e.id, len(e.value)))
            body += e.value
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", profile, len(body) // 4) + bytes(body)


# ------------------------------------------------------------- header extension values


def audio_level(value: bytes) -> int | None:
    """RFC 6464 level in -dBov (0 = loudest, 127 = silence), or None if the value is empty."""
    return value[0] & 0x7F if value else None


def abs_send_time(now: float) -> bytes:
    """abs-send-time value: 24-bit seconds in 6.18 fixed point, wrapping every 64 s."""
    return (int(now * (1 << 18)) & 0xFFFFFF).to_bytes(3, "big")
