"""Packets and keys the benchmarks share."""

from __future__ import annotations

import struct

PACKET_BYTES = 1200  # a full video packet
BATCH = 1000  # packets per timed call: per-packet figures are time / BATCH
ROUNDS = 25

PROFILES = ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM")
KEY_LEN = {"AES_CM_128_HMAC_SHA1_80": 16, "AEAD_AES_128_GCM": 16, "AEAD_AES_256_GCM": 32}
SALT_LEN = {"AES_CM_128_HMAC_SHA1_80": 14, "AEAD_AES_128_GCM": 12, "AEAD_AES_256_GCM": 12}


def master_keys(profile: str) -> tuple[bytes, bytes]:
    return bytes(range(KEY_LEN[profile])), bytes(range(100, 100 + SALT_LEN[profile]))


def rtp_packet(seq: int, ssrc: int = 0x12345678) -> bytes:
    header = struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, seq * 3000 & 0xFFFFFFFF, ssrc)
    return header + bytes([0xAB]) * (PACKET_BYTES - len(header))


def rtp_stream(count: int) -> list[bytes]:
    """``count`` packets of one stream with consecutive sequence numbers from 1."""
    return [rtp_packet(seq) for seq in range(1, count + 1)]
