"""Byte-level RTP/RTCP: exact wire vectors, round trips, every rejection path, and a fuzz loop."""

from __future__ import annotations

import random
import struct

import pytest

from livelens.media import rtcp, rtp
from livelens.media.rtcp import (
    FirEntry,
    FullIntraRequest,
    GenericNack,
    PictureLossIndication,
    ReceiverReport,
    ReportBlock,
    RtcpOther,
    SenderReport,
    SourceDescription,
)
from livelens.media.rtp import HeaderExtension, MalformedPacket, RtpPacket
from tests.media import rtp_vectors

# A hand-assembled RTP packet: V=2, X=1, CC=1, M=1, PT=96, seq 0x1234, ts 0xDEADBEEF,
# SSRC 0x01020304, CSRC 0x0A0B0C0D, one-byte extensions (id 1 "0", padding byte,
# id 3 three bytes), payload "abc".
VECTOR_ONE_BYTE = bytes.fromhex(
    "91e01234deadbeef01020304"
    "0a0b0c0d"
    "bede0002"  # profile, 2 words
    "1030"  # id 1, len 1: "0"
    "00"  # padding between elements
    "32aabbcc"  # id 3, len 3
    "00"  # pad to the word boundary
    "616263"
)


def test_parses_a_hand_assembled_packet_field_by_field() -> None:
    packet = rtp.parse_rtp(VECTOR_ONE_BYTE)
    assert packet == RtpPacket(
        payload_type=96,
        sequence_number=0x1234,
        timestamp=0xDEADBEEF,
        ssrc=0x01020304,
        marker=True,
        csrc=(0x0A0B0C0D,),
        extensions=(HeaderExtension(1, b"0"), HeaderExtension(3, b"\xaa\xbb\xcc")),
        payload=b"abc",
    )
    assert packet.extension(3) == b"\xaa\xbb\xcc"
    assert packet.extension(7) is None


def test_two_byte_extensions_including_empty_values() -> None:
    data = (
        bytes.fromhex("90600001000000020000000a")
        + bytes.fromhex("10000002")  # two-byte profile, 2 words
        + bytes.fromhex("1e002003aabbcc00")  # id 30 empty; id 32 three bytes; pad
        + b"pay"
    )
    packet = rtp.parse_rtp(data)
    assert packet.extensions == (HeaderExtension(30, b""), HeaderExtension(32, b"\xaa\xbb\xcc"))
    assert packet.payload == b"pay"
    assert rtp.parse_rtp(packet.to_bytes()) == packet


def test_one_byte_id_15_stops_extension_parsing() -> None:
    data = bytes.fromhex("90600001000000020000000abede00011041f000") + b"x"
    packet = rtp.parse_rtp(data)
    assert packet.extensions == (HeaderExtension(1, b"\x41"),)


def test_unknown_extension_profile_is_skipped_not_rejected() -> None:
    data = bytes.fromhex("90600001000000020000000aabcd000111223344") + b"x"
    packet = rtp.parse_rtp(data)
    assert packet.extensions == ()
    assert packet.payload == b"x"


def test_padding_is_kept_verbatim_and_out_of_the_payload() -> None:
    data = bytes.fromhex("a0600001000000020000000a") + b"media" + b"\x00\x00\x03"
    packet = rtp.parse_rtp(data)
    assert packet.payload == b"media"
    assert packet.padding == b"\x00\x00\x03"
    assert packet.to_bytes() == data


def test_padding_only_packet() -> None:
    data = bytes.fromhex("a0600001000000020000000a") + bytes(3) + b"\x04"
    packet = rtp.parse_rtp(data)
    assert packet.payload == b""
    assert len(packet.padding) == 4


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(0, 0, 0, 0),
        RtpPacket(127, 65535, 2**32 - 1, 2**32 - 1, marker=True, payload=b"\x00" * 1200),
        RtpPacket(96, 1, 2, 3, csrc=tuple(range(15)), payload=b"p"),
        RtpPacket(
            111,
            7,
            8,
            9,
            extensions=(HeaderExtension(14, b"x" * 16), HeaderExtension(1, b"\x80")),
            payload=b"opus",
        ),
        RtpPacket(
            100,
            7,
            8,
            9,
            extensions=(HeaderExtension(15, b"y"), HeaderExtension(200, b"z" * 255)),
            payload=b"v",
            padding=b"\x00\x02",
        ),
    ],
)
def test_round_trip(packet: RtpPacket) -> None:
    assert rtp.parse_rtp(packet.to_bytes()) == packet


def test_serialiser_picks_the_extension_form() -> None:
    one = RtpPacket(96, 1, 1, 1, extensions=(HeaderExtension(14, b"a" * 16),)).to_bytes()
    assert one[12:14] == b"\xbe\xde"
    for ext in (HeaderExtension(15, b"a"), HeaderExtension(1, b"a" * 17), HeaderExtension(1, b"")):
        two = RtpPacket(96, 1, 1, 1, extensions=(ext,)).to_bytes()
        assert two[12:14] == b"\x10\x00", ext
    assert RtpPacket(96, 1, 1, 1).to_bytes()[0] & 0x10 == 0  # no extensions, no X bit


def test_serialiser_refuses_impossible_packets() -> None:
    with pytest.raises(ValueError, match="payload type"):
        RtpPacket(128, 1, 1, 1).to_bytes()
    with pytest.raises(ValueError, match="padding"):
        RtpPacket(96, 1, 1, 1, padding=b"\x01\x01").to_bytes()
    with pytest.raises(ValueError, match="two-byte"):
        RtpPacket(96, 1, 1, 1, extensions=(HeaderExtension(1, b"a" * 256),)).to_bytes()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "shorter"),
        (bytes(11), "shorter"),
        (bytes.fromhex("40600001000000020000000a"), "version"),
        (bytes.fromhex("82600001000000020000000a") + bytes(4), "CSRC"),
        (bytes.fromhex("90600001000000020000000a") + b"\xbe\xde", "extension"),
        (bytes.fromhex("90600001000000020000000a") + b"\xbe\xde\x00\x02" + bytes(4), "extension"),
        (
            bytes.fromhex("90600001000000020000000a") + b"\xbe\xde\x00\x01" + b"\x13ab\x00",
            "one-byte",
        ),
        (
            bytes.fromhex("90600001000000020000000a") + b"\x10\x00\x00\x01" + b"\x00\x00\x00\x05",
            "two-byte",
        ),
        (
            bytes.fromhex("90600001000000020000000a") + b"\x10\x00\x00\x01" + b"\x00\x00\x00\x07",
            "two-byte",
        ),
        (bytes.fromhex("a0600001000000020000000a") + b"x\x00", "padding"),
        (bytes.fromhex("a0600001000000020000000a") + b"\x09", "padding"),
    ],
)
def test_rejects_malformed_rtp(data: bytes, why: str) -> None:
    with pytest.raises(MalformedPacket, match=why):
        rtp.parse_rtp(data)


def test_malformed_packet_is_a_value_error() -> None:
    assert issubclass(MalformedPacket, ValueError)


def test_extension_value_helpers() -> None:
    assert rtp.audio_level(b"\x9e") == 30  # voice-activity bit is not part of the level
    assert rtp.audio_level(b"") is None
    assert rtp.abs_send_time(1.5) == (3 << 17).to_bytes(3, "big")
    assert rtp.abs_send_time(64.0) == b"\x00\x00\x00"  # wraps every 64 s


def test_rtp_rtcp_demultiplexing() -> None:
    assert rtp.is_rtcp(PictureLossIndication(1, 2).to_bytes())
    assert rtp.is_rtcp(SenderReport(1, 2, 3, 4, 5).to_bytes())
    assert not rtp.is_rtcp(RtpPacket(96, 1, 1, 1, marker=True).to_bytes())
    assert not rtp.is_rtcp(b"\x80")


# --------------------------------------------------------------------------- RTCP


def test_pli_and_fir_wire_format() -> None:
    assert PictureLossIndication(0x11111111, 0x22222222).to_bytes() == bytes.fromhex(
        "81ce00021111111122222222"
    )
    fir = FullIntraRequest(0x11111111, (FirEntry(0x33333333, 7),))
    assert fir.to_bytes() == bytes.fromhex("84ce000411111111000000003333333307000000")
    assert rtcp.parse_rtcp(fir.to_bytes()) == [fir]


def test_nack_wire_format_and_bitmask() -> None:
    nack = GenericNack(1, 2, (100, 101, 116, 117))
    # 100 with bits for 101 (bit 0) and 116 (bit 15); 117 needs its own entry.
    assert nack.to_bytes() == bytes.fromhex("81cd000400000001000000020064800100750000")
    parsed = rtcp.parse_rtcp(nack.to_bytes())[0]
    assert isinstance(parsed, GenericNack)
    assert parsed.lost == (100, 101, 116, 117)


def test_nack_packs_a_run_across_the_sequence_wrap() -> None:
    nack = GenericNack(1, 2, (0, 65534, 1, 65535))
    assert len(nack.to_bytes()) == 16  # one FCI entry: 65534 + bits for 65535, 0, 1
    parsed = rtcp.parse_rtcp(nack.to_bytes())[0]
    assert isinstance(parsed, GenericNack)
    assert parsed.lost == (65534, 65535, 0, 1)


def test_sender_and_receiver_reports_round_trip() -> None:
    block = ReportBlock(0xABCDEF01, 25, -3, 70000, 42, 0x12345678, 65536)
    sr = SenderReport(0x01020304, 0xE1234567_89ABCDEF, 90000, 1000, 123456, (block,))
    rr = ReceiverReport(0x05060708, (block, block))
    data = sr.to_bytes() + rr.to_bytes()
    assert len(sr.to_bytes()) == 28 + 24
    assert rtcp.parse_rtcp(data) == [sr, rr]
    assert rtcp.split_compound(data) == [sr.to_bytes(), rr.to_bytes()]


def test_sdes_cname_round_trip_and_alignment() -> None:
    sdes = SourceDescription(((1, "abc"), (2, "a-much-longer-cname")))
    data = sdes.to_bytes()
    assert len(data) % 4 == 0
    assert rtcp.parse_rtcp(data) == [sdes]


def test_unknown_packets_are_kept_whole() -> None:
    app = bytes.fromhex("8fce0005000000010000000041424344010000010000000f")  # not REMB
    bye = bytes.fromhex("81cb000100000001")
    assert rtcp.parse_rtcp(app + bye) == [RtcpOther(206, 15, app), RtcpOther(203, 1, bye)]


def test_remb_round_trips_with_its_exponent_and_mantissa() -> None:
    remb = bytes.fromhex("8fce0005000000010000000052454d420100000100000002")
    assert rtcp.parse_rtcp(remb) == [rtcp.ReceiverEstimatedMaxBitrate(1, 1, (2,))]
    # 2.5 Mbit/s needs exponent 4: 156250 << 4, exact; odd low bits are rounded down.
    packet = rtcp.ReceiverEstimatedMaxBitrate(7, 2_500_001, (8, 9))
    assert rtcp.parse_rtcp(packet.to_bytes()) == [
        rtcp.ReceiverEstimatedMaxBitrate(7, 2_500_000, (8, 9))
    ]
    for wrong_count in (
        "8fce0005000000010000000052454d420200000100000002",
        "8fce0003000000010000000052454d42",
    ):
        with pytest.raises(rtp.MalformedPacket):
            rtcp.parse_rtcp(bytes.fromhex(wrong_count))
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        rtcp.ReceiverEstimatedMaxBitrate(1, 1 << 64, ()).to_bytes()


def test_rtcp_padding_is_honoured() -> None:
    body = struct.pack("!II", 1, 2)
    data = bytes([0xA1, 206, 0, 3]) + body + b"\x00\x00\x00\x04"
    assert rtcp.parse_rtcp(data) == [PictureLossIndication(1, 2)]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x81\xce\x00",  # short header
        bytes.fromhex("41ce00020000000100000002"),  # version 1
        bytes.fromhex("81ce00030000000100000002"),  # length past the end
        bytes.fromhex("81c80000"),  # SR without sender info
        bytes.fromhex("81c9000100000001"),  # RR claims one block, has none
        bytes.fromhex("81ce000100000001"),  # PLI without media SSRC
        bytes.fromhex("81cd00020000000100000002"),  # NACK without FCI
        bytes.fromhex("84ce0003000000010000000000000003"),  # FIR half an entry
        bytes.fromhex("81ca000100000001"),  # SDES chunk without items end
        bytes.fromhex("81ca00020000000101090000"),  # SDES item past the end
        bytes.fromhex("a1ce00020000000100000000"),  # padding count 0
        bytes.fromhex("a1ce000200000001000000ff"),  # padding count too big
    ],
)
def test_rejects_malformed_rtcp(data: bytes) -> None:
    with pytest.raises(MalformedPacket):
        rtcp.parse_rtcp(data)


def test_builders_refuse_what_cannot_be_sent() -> None:
    with pytest.raises(ValueError, match="at least one"):
        GenericNack(1, 2, ()).to_bytes()
    with pytest.raises(ValueError, match="CNAME"):
        SourceDescription(((1, "x" * 256),)).to_bytes()


# --------------------------------------------------------------------------- fuzz

_VALID_RTP = [
    VECTOR_ONE_BYTE,
    RtpPacket(
        100, 9, 9, 9, extensions=(HeaderExtension(200, b"z" * 20),), payload=b"v" * 40
    ).to_bytes(),
    RtpPacket(96, 1, 2, 3, csrc=(1, 2), payload=b"x" * 10, padding=b"\x00\x00\x03").to_bytes(),
]
_VALID_RTCP = [
    SenderReport(1, 2, 3, 4, 5, (ReportBlock(1, 2, 3, 4, 5, 6, 7),)).to_bytes()
    + SourceDescription(((1, "cname"),)).to_bytes(),
    ReceiverReport(1, (ReportBlock(1, 2, -3, 4, 5, 6, 7),)).to_bytes()
    + GenericNack(1, 2, (5, 6, 30)).to_bytes()
    + PictureLossIndication(1, 2).to_bytes()
    + FullIntraRequest(1, (FirEntry(2, 3), FirEntry(4, 5))).to_bytes(),
]


def _mutations(rng: random.Random, seeds: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for _ in range(1500):
        out.append(rng.randbytes(rng.randrange(0, 80)))
        seed = rng.choice(seeds)
        out.append(seed[: rng.randrange(0, len(seed) + 1)])  # truncation
        flipped = bytearray(seed)
        for _ in range(rng.randrange(1, 4)):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        out.append(bytes(flipped))
        # Keep the version bits valid so mutations reach the deeper checks.
        deep = bytearray(rng.randbytes(rng.randrange(4, 64)))
        deep[0] = 0x80 | (deep[0] & 0x3F)
        out.append(bytes(deep))
    return out


def test_fuzz_rtp_parser_raises_only_malformed_packet() -> None:
    rng = random.Random(5761)
    parsed = 0
    for data in _mutations(rng, _VALID_RTP):
        try:
            packet = rtp.parse_rtp(data)
        except MalformedPacket:
            continue
        parsed += 1
        # Anything accepted is re-serialisable and parses back to the same packet.
        assert rtp.parse_rtp(packet.to_bytes()) == packet
    assert parsed > 500  # the loop exercised the success path too


def test_fuzz_rtcp_parser_raises_only_malformed_packet() -> None:
    rng = random.Random(3550)
    parsed = 0
    for data in _mutations(rng, _VALID_RTCP):
        try:
            packets = rtcp.parse_rtcp(data)
        except MalformedPacket:
            continue
        parsed += 1
        try:
            again = b"".join(p.to_bytes() for p in packets)
        except ValueError:
            continue  # e.g. a NACK or SDES whose fuzzed contents cannot be rebuilt
        rtcp.parse_rtcp(again)
    assert parsed > 100


def test_shared_vectors_are_what_the_reference_says() -> None:
    # The Rust parser is tested against this file; it must not drift from the reference.
    assert rtp_vectors.PATH.read_text() == rtp_vectors.text()
