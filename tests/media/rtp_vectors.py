"""The RTP/RTCP vectors both parsers are held to: ``tests/vectors/media/rtp_rtcp.json``.

Inputs are hand-made packets plus seeded mutations (truncation, bit flips, random bytes);
expected results are what the Python reference (``livelens.media.rtp`` and ``.rtcp``)
makes of them.
The Rust unit tests (``rust_fastpath/src/relay/vectors.rs``) read the file; the Python
test checks it still matches the reference. Regenerate with
``.venv/bin/python -m tests.media.rtp_vectors``.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

from livelens.media import rtcp, rtp
from livelens.media.rtcp import (
    FirEntry,
    FullIntraRequest,
    GenericNack,
    PictureLossIndication,
    ReceiverEstimatedMaxBitrate,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
)
from livelens.media.rtp import HeaderExtension, RtpPacket

PATH = Path(__file__).resolve().parents[1] / "vectors" / "media" / "rtp_rtcp.json"

RTP_SEEDS = [
    bytes.fromhex("91e01234deadbeef010203040a0b0c0dbede00021030" + "0032aabbcc00616263"),
    bytes.fromhex("90600001000000020000000a100000021e002003aabbcc00") + b"pay",
    bytes.fromhex("90600001000000020000000abede00011041f000") + b"x",
    bytes.fromhex("90600001000000020000000aabcd000111223344") + b"x",
    RtpPacket(
        100, 9, 9, 9, extensions=(HeaderExtension(200, b"z" * 20),), payload=b"v" * 40
    ).to_bytes(),
    RtpPacket(96, 1, 2, 3, csrc=(1, 2), payload=b"x" * 10, padding=b"\x00\x00\x03").to_bytes(),
    RtpPacket(97, 8, 9000, 2223, padding=bytes(9) + b"\x0a").to_bytes(),
]
RTCP_SEEDS = [
    SenderReport(1, 2, 3, 4, 5, (ReportBlock(1, 2, 3, 4, 5, 6, 7),)).to_bytes()
    + SourceDescription(((1, "cname"),)).to_bytes(),
    ReceiverReport(1, (ReportBlock(1, 2, -3, 4, 5, 6, 7),)).to_bytes()
    + GenericNack(1, 2, (5, 6, 30)).to_bytes()
    + PictureLossIndication(1, 2).to_bytes()
    + FullIntraRequest(1, (FirEntry(2, 3), FirEntry(4, 5))).to_bytes(),
    bytes.fromhex("8fce0005000000010000000052454d420100000100000002")  # REMB
    + bytes.fromhex("81cb000100000001"),  # BYE
    bytes([0xA1, 206, 0, 3]) + struct.pack("!II", 1, 2) + b"\x00\x00\x00\x04",  # padded PLI
    bytes.fromhex("81ca00020000000101090000"),
    ReceiverReport(5, (ReportBlock(7, 64, 12, 0x1FFFE, 30, 0x12345678, 65536),)).to_bytes()
    + SourceDescription(((5, "server"),)).to_bytes()
    + ReceiverEstimatedMaxBitrate(5, 2_500_000, (7, 8)).to_bytes(),
    ReceiverEstimatedMaxBitrate(1, 0xFFFFFFFFFFFFFFFF, ()).to_bytes(),
    bytes.fromhex("8fce0004000000010000000052454d4200ffffff"),  # (2**18-1) << 63: capped
]


def mutations(rng: random.Random, seeds: list[bytes], count: int) -> list[bytes]:
    out = list(seeds)
    for _ in range(count):
        seed = rng.choice(seeds)
        how = rng.randrange(4)
        if how == 0:
            out.append(seed[: rng.randrange(len(seed) + 1)])
        elif how == 1:
            flipped = bytearray(seed)
            for _ in range(rng.randrange(1, 4)):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            out.append(bytes(flipped))
        elif how == 2:
            deep = bytearray(rng.randbytes(rng.randrange(4, 64)))
            deep[0] = 0x80 | (deep[0] & 0x3F)  # version 2, so the deeper checks run
            out.append(bytes(deep))
        else:
            out.append(rng.randbytes(rng.randrange(0, 40)))
    return out


def rtp_result(data: bytes) -> dict[str, Any] | None:
    try:
        p = rtp.parse_rtp(data)
    except rtp.MalformedPacket:
        return None
    return {
        "pt": p.payload_type,
        "seq": p.sequence_number,
        "ts": p.timestamp,
        "ssrc": p.ssrc,
        "marker": p.marker,
        "csrc": list(p.csrc),
        "ext": [[e.id, e.value.hex()] for e in p.extensions],
        "payload": p.payload.hex(),
        "padding": p.padding.hex(),
        "bytes": p.to_bytes().hex(),  # the serialiser's form of what was parsed
    }


def _blocks(blocks: tuple[ReportBlock, ...]) -> list[list[int]]:
    return [
        [
            b.ssrc,
            b.fraction_lost,
            b.packets_lost,
            b.highest_sequence,
            b.jitter,
            b.last_sr,
            b.delay_since_last_sr,
        ]
        for b in blocks
    ]


def rtcp_item(p: rtcp.RtcpPacket) -> dict[str, Any]:
    if isinstance(p, SenderReport):
        return {
            "kind": "sr",
            "ssrc": p.ssrc,
            "ntp": p.ntp_timestamp,
            "rtp_ts": p.rtp_timestamp,
            "packets": p.packet_count,
            "octets": p.octet_count,
            "reports": _blocks(p.reports),
        }
    if isinstance(p, ReceiverReport):
        return {"kind": "rr", "ssrc": p.ssrc, "reports": _blocks(p.reports)}
    if isinstance(p, SourceDescription):
        return {"kind": "sdes", "chunks": [[ssrc, cname] for ssrc, cname in p.chunks]}
    if isinstance(p, PictureLossIndication):
        return {"kind": "pli", "sender": p.sender_ssrc, "media": p.media_ssrc}
    if isinstance(p, FullIntraRequest):
        entries = [[e.ssrc, e.sequence_number] for e in p.entries]
        return {"kind": "fir", "sender": p.sender_ssrc, "entries": entries}
    if isinstance(p, GenericNack):
        return {"kind": "nack", "sender": p.sender_ssrc, "media": p.media_ssrc, "lost": p.lost}
    if isinstance(p, ReceiverEstimatedMaxBitrate):
        return {"kind": "remb", "sender": p.sender_ssrc, "bitrate": p.bitrate, "ssrcs": p.ssrcs}
    return {"kind": "other", "type": p.packet_type, "fmt": p.fmt, "data": p.data.hex()}


def rtcp_result(data: bytes) -> list[dict[str, Any]] | None:
    try:
        return [rtcp_item(p) for p in rtcp.parse_rtcp(data)]
    except rtp.MalformedPacket:
        return None


def build() -> dict[str, Any]:
    rng = random.Random(8285)
    nack_sets = [
        [1],
        [5, 6, 30],
        [65534, 65535, 0, 1],
        [0, 32768],  # two widest gaps of equal size: the first one wins
        [0, 16384, 32768, 49152],
        [100, 100, 116, 117, 133],
        [rng.getrandbits(16) for _ in range(40)],
        [(60000 + i * 7) & 0xFFFF for i in range(30)],
    ]
    nows = [0.0, 10.0, 1.5, -1.5, 63.999999, 64.0, 1_800_000_000.123, 1e300, -1e300, 2.0**63]
    return {
        "rtp": [{"hex": d.hex(), "parsed": rtp_result(d)} for d in mutations(rng, RTP_SEEDS, 400)],
        "rtcp": [
            {"hex": d.hex(), "parsed": rtcp_result(d)} for d in mutations(rng, RTCP_SEEDS, 400)
        ],
        "nack": [
            {"lost": lost, "hex": GenericNack(1, 2, tuple(lost)).to_bytes().hex()}
            for lost in nack_sets
        ],
        "remb": [
            {
                "bitrate": bitrate,
                "ssrcs": ssrcs,
                "hex": ReceiverEstimatedMaxBitrate(9, bitrate, tuple(ssrcs)).to_bytes().hex(),
            }
            for bitrate, ssrcs in [
                (0, []),
                (300_000, [1]),
                ((1 << 18) - 1, [1, 2]),
                (1 << 18, [3]),
                (2_500_001, [0xFFFFFFFF]),
                (0xFFFFFFFFFFFFFFFF, [4]),
            ]
        ],
        "abs_send_time": [{"now": now, "hex": rtp.abs_send_time(now).hex()} for now in nows],
    }


def text() -> str:
    """One vector per line, so a change shows up as a readable diff."""
    sections = []
    for name, vectors in sorted(build().items()):
        lines = ",\n".join(json.dumps(v, sort_keys=True, separators=(",", ":")) for v in vectors)
        sections.append(f'"{name}": [\n{lines}\n]')
    return "{\n" + ",\n".join(sections) + "\n}\n"


if __name__ == "__main__":
    PATH.write_text(text())
