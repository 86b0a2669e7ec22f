"""RTP and RTCP packets to feed SRTP, and the vector files under ``tests/vectors/srtp``."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

PROFILES = ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM")
KEY_LEN = {"AES_CM_128_HMAC_SHA1_80": 16, "AEAD_AES_128_GCM": 16, "AEAD_AES_256_GCM": 32}
SALT_LEN = {"AES_CM_128_HMAC_SHA1_80": 14, "AEAD_AES_128_GCM": 12, "AEAD_AES_256_GCM": 12}
TAG_LEN = {"AES_CM_128_HMAC_SHA1_80": 10, "AEAD_AES_128_GCM": 16, "AEAD_AES_256_GCM": 16}

VECTORS = Path(__file__).parents[1] / "vectors" / "srtp"


def vectors(name: str) -> dict[str, Any]:
    """One of ``rfc3711``, ``rfc6188``, ``rfc7714`` (the files the Rust tests read too)."""
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    return data


def master_keys(profile: str, rng: random.Random) -> tuple[bytes, bytes]:
    """A random master key and salt of the profile's lengths."""
    return rng.randbytes(KEY_LEN[profile]), rng.randbytes(SALT_LEN[profile])


def rtp(
    seq: int,
    ssrc: int,
    payload: bytes = b"",
    *,
    payload_type: int = 96,
    timestamp: int | None = None,
    marker: bool = False,
    csrcs: tuple[int, ...] = (),
    extension: tuple[int, bytes] | None = None,
    padding: int = 0,
) -> bytes:
    """An RTP packet; ``extension`` is (profile, data padded to 32-bit words)."""
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0) | len(csrcs)
    second = (0x80 if marker else 0) | payload_type
    ts = seq * 960 if timestamp is None else timestamp
    packet = struct.pack("!BBHII", first, second, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    packet += b"".join(struct.pack("!I", c) for c in csrcs)
    if extension is not None:
        profile, data = extension
        data += b"\0" * (-len(data) % 4)
        packet += struct.pack("!HH", profile, len(data) // 4) + data
    packet += payload
    if padding:
        packet += b"\0" * (padding - 1) + bytes([padding])
    return packet


def sender_report(ssrc: int, packets: int = 10, reports: int = 0) -> bytes:
    """An RTCP SR with ``reports`` report blocks."""
    body = struct.pack(
        "!IIIIII", ssrc, 0xE1234567, 0x89ABCDEF, 960 * packets, packets, 1000 * packets
    )
    body += b"".join(struct.pack("!IIIIII", 0x2000 + i, 0, i, 0, 0, 0) for i in range(reports))
    return struct.pack("!BBH", 0x80 | reports, 200, (len(body) + 4) // 4 - 1) + body


def receiver_report(ssrc: int, source: int, lost: int = 0) -> bytes:
    """An RTCP RR with one report block about ``source``."""
    body = struct.pack("!I", ssrc) + struct.pack("!IIIIII", source, lost, 1000, 20, 0, 0)
    return struct.pack("!BBH", 0x81, 201, len(body) // 4) + body


def sdes(ssrc: int, cname: bytes) -> bytes:
    """An RTCP SDES with one CNAME chunk."""
    chunk = struct.pack("!IBB", ssrc, 1, len(cname)) + cname + b"\0"
    chunk += b"\0" * (-len(chunk) % 4)
    return struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk


def bye(ssrc: int) -> bytes:
    """An RTCP BYE."""
    return struct.pack("!BBHI", 0x81, 203, 1, ssrc)


def varied_rtp(rng: random.Random, seq: int, ssrc: int) -> bytes:
    """An RTP packet with a random mix of CSRCs, one- or two-byte header extensions,
    marker, padding and a payload of 0 to 1200 bytes."""
    csrcs = tuple(rng.getrandbits(32) for _ in range(rng.choice((0, 0, 1, 3, 15))))
    extension = None
    if rng.random() < 0.5:
        profile = rng.choice((0xBEDE, 0x1000))
        extension = (profile, rng.randbytes(rng.choice((0, 4, 8, 13))))
    size = rng.choice((0, 1, 15, 16, 17, 160, 500, 1200))
    padding = rng.choice((0, 0, 0, 1, 4, 31))
    return rtp(
        seq,
        ssrc,
        rng.randbytes(size),
        payload_type=rng.choice((96, 111, 100)),
        marker=rng.random() < 0.2,
        csrcs=csrcs,
        extension=extension,
        padding=padding,
    )


def compound_rtcp(rng: random.Random, ssrc: int) -> bytes:
    """A compound RTCP packet as a browser sends them: SR or RR first, then SDES, and
    sometimes a BYE."""
    first = (
        sender_report(ssrc, rng.randrange(1000), reports=rng.randrange(3))
        if rng.random() < 0.5
        else receiver_report(ssrc, rng.getrandbits(32), rng.randrange(100))
    )
    packet = first + sdes(ssrc, rng.randbytes(rng.randrange(1, 20)).hex().encode())
    if rng.random() < 0.1:
        packet += bye(ssrc)
    return packet
