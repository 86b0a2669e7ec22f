"""The sans-IO relay, driven packet by packet with an explicit clock and a seeded RNG.

Every test runs on both relays: the Python reference and the Rust one (``_fastpath``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
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
    MediaLine,
)

Transmit = tuple[str, bytes]
Relay = Any  # either implementation; they share one API

_relay_class: type[Any] = reference_relay.Relay


@pytest.fixture(autouse=True, params=["reference", "fast"])
def relay_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Which relay ``new_relay`` builds in this test."""
    global _relay_class
    _relay_class = reference_relay.Relay if request.param == "reference" else _fastpath.Relay
    yield request.param
    _relay_class = reference_relay.Relay


def new_relay(**kwargs: Any) -> Relay:
    return _relay_class(**kwargs)


TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

# The customer's browser numbers things one way ...
C_AUDIO_SSRC, C_VIDEO_SSRC, C_RTX_SSRC = 1111, 2222, 2223
C_OUT_AUDIO_SSRC, C_OUT_VIDEO_SSRC = 5001, 5002  # ours towards the customer
OPUS = Codec(111, "audio/opus", 48000, 2)
VP8 = Codec(96, "video/vp8", 90000)
VP8_RTX = Codec(97, "video/rtx", 90000, rtx_apt=96)
H264 = Codec(102, "video/h264", 90000, format_key=("1", "CONSTRAINED_BASELINE"))
H264_RTX = Codec(103, "video/rtx", 90000, rtx_apt=102)

CUSTOMER = (
    MediaLine(
        kind="audio",
        mid="0",
        codecs=(OPUS,),
        extensions={MID_URI: 4, AUDIO_LEVEL_URI: 1},
        recv_ssrc=C_AUDIO_SSRC,
        send_ssrc=C_OUT_AUDIO_SSRC,
        cname="c-cname",
    ),
    MediaLine(
        kind="video",
        mid="1",
        codecs=(VP8, VP8_RTX, H264, H264_RTX),
        extensions={MID_URI: 4, ABS_SEND_TIME_URI: 2, TWCC_URI: 3},
        recv_ssrc=C_VIDEO_SSRC,
        recv_rtx_ssrc=C_RTX_SSRC,
        send_ssrc=C_OUT_VIDEO_SSRC,
        sends=False,
    ),
)


def agent_lines(
    base: int, *, rtx: bool = True, h264: bool = True, mid_prefix: str = "a"
) -> tuple[MediaLine, ...]:
    """... and each agent's browser another way (other PTs, extension ids, MIDs)."""
    video_codecs = [Codec(120, "video/vp8", 90000)]
    if rtx:
        video_codecs.append(Codec(121, "video/rtx", 90000, rtx_apt=120))
    if h264:
        video_codecs.append(
            Codec(122, "video/h264", 90000, format_key=("1", "CONSTRAINED_BASELINE"))
        )
        if rtx:
            video_codecs.append(Codec(123, "video/rtx", 90000, rtx_apt=122))
    return (
        MediaLine(
            kind="video",
            mid=f"{mid_prefix}-video",
            codecs=tuple(video_codecs),
            extensions={MID_URI: 9, ABS_SEND_TIME_URI: 11},
            send_ssrc=base + 1,
            send_rtx_ssrc=base + 2 if rtx else None,
            cname=f"cname-{base}",
            receives=False,
        ),
        MediaLine(
            kind="audio",
            mid=f"{mid_prefix}-audio",
            codecs=(Codec(109, "audio/opus", 48000, 2),),
            extensions={MID_URI: 9, AUDIO_LEVEL_URI: 10},
            recv_ssrc=base + 3,
            send_ssrc=base + 4,
        ),
    )


def video(seq: int, ts: int = 9000, *, pt: int = 96, payload: bytes = b"frame") -> bytes:
    return RtpPacket(
        payload_type=pt,
        sequence_number=seq,
        timestamp=ts,
        ssrc=C_VIDEO_SSRC,
        extensions=(
            HeaderExtension(4, b"1"),
            HeaderExtension(2, b"\x01\x02\x03"),
            HeaderExtension(3, b"\x00\x07"),  # transport-cc: not negotiated with agents
        ),
        payload=payload + seq.to_bytes(2, "big"),
        padding=b"\x00\x02",
    ).to_bytes()


def audio(ssrc: int, seq: int, ts: int, *, level: int = 127, level_id: int = 1) -> bytes:
    return RtpPacket(
        111 if ssrc == C_AUDIO_SSRC else 109,
        seq,
        ts,
        ssrc,
        extensions=(HeaderExtension(level_id, bytes([level])),),
        payload=b"opus" + seq.to_bytes(2, "big"),
    ).to_bytes()


def parsed(transmits: Sequence[Transmit], leg: str) -> list[RtpPacket]:
    return [rtp.parse_rtp(data) for to, data in transmits if to == leg and not rtp.is_rtcp(data)]


def rtcp_to(transmits: Sequence[Transmit], leg: str) -> list[rtcp.RtcpPacket]:
    return [
        p
        for to, data in transmits
        if to == leg and rtp.is_rtcp(data)
        for p in rtcp.parse_rtcp(data)
    ]


def make_relay(*agents: str, allowed: bool = True, history: int = 512) -> Relay:
    relay = new_relay(seed=7, history_size=history)
    relay.add_leg("customer", CUSTOMER, forwarding=True)
    relay.switch("customer", "connected", True, 0.0)
    for i, agent in enumerate(agents):
        relay.add_leg(agent, agent_lines(1000 * (i + 1), mid_prefix=agent), forwarding=allowed)
        relay.switch(agent, "connected", True, 0.0)
        for kind in ("audio", "video"):
            assert relay.add_route("customer", agent, kind)
        assert relay.add_route(agent, "customer", "audio")
    return relay


def drops(relay: Relay, leg: str, side: str, kind: str) -> dict[str, int]:
    legs = relay.stats()["legs"]
    assert isinstance(legs, dict)
    result: dict[str, int] = legs[leg][side][kind]["drops"]
    return result


# --------------------------------------------------------------------------- rewriting


def test_rewrites_every_header_field_for_the_receiver_and_keeps_the_payload() -> None:
    relay = make_relay("agent")
    sent = video(4000, ts=123456)
    out = parsed(relay.handle_packet("customer", sent, 10.0), "agent")
    assert len(out) == 1
    got, original = out[0], rtp.parse_rtp(sent)
    assert got.ssrc == 1001  # the agent's receive SSRC from our answer
    assert got.payload_type == 120  # VP8 on the agent's numbering
    assert got.sequence_number < 32768
    assert (got.payload, got.padding, got.marker) == (original.payload, original.padding, False)
    # MID rewritten to the agent's MID on the agent's id; abs-send-time moved to the
    # agent's id and restamped with our send time; transport-cc dropped (not negotiated).
    assert got.extensions == (
        HeaderExtension(9, b"agent-video"),
        HeaderExtension(11, rtp.abs_send_time(10.0)),
    )


def test_sequence_and_timestamp_stay_continuous_across_the_source_wrap() -> None:
    relay = make_relay("agent")
    seqs = [65530 + i for i in range(6)] + list(range(6))
    out: list[RtpPacket] = []
    for i, seq in enumerate(seqs):
        out += parsed(
            relay.handle_packet("customer", video(seq & 0xFFFF, ts=2**32 - 6000 + 3000 * i), 1.0),
            "agent",
        )
    out_seqs = [p.sequence_number for p in out]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(out_seqs))
    out_ts = [p.timestamp for p in out]
    assert all((b - a) & 0xFFFFFFFF == 3000 for a, b in itertools.pairwise(out_ts))


def test_h264_maps_by_codec_identity_and_missing_codecs_are_counted() -> None:
    relay = make_relay("agent")
    relay.add_leg("vp8-only", agent_lines(7000, h264=False), forwarding=True)
    relay.switch("vp8-only", "connected", True, 0.0)
    relay.add_route("customer", "vp8-only", "video")
    out = relay.handle_packet("customer", video(1, pt=102), 1.0)
    assert [p.payload_type for p in parsed(out, "agent")] == [122]
    assert parsed(out, "vp8-only") == []
    assert drops(relay, "vp8-only", "sinks", "video") == {"codec_mismatch": 1}


def test_fan_out_gives_each_receiver_its_own_stream_of_the_same_payload() -> None:
    relay = make_relay("agent1", "agent2")
    out = relay.handle_packet("customer", video(50), 1.0) + relay.handle_packet(
        "customer", video(51), 1.03
    )
    one, two = parsed(out, "agent1"), parsed(out, "agent2")
    assert [p.ssrc for p in one] == [1001, 1001] and [p.ssrc for p in two] == [2001, 2001]
    assert [p.payload for p in one] == [p.payload for p in two]
    assert one[0].sequence_number != two[0].sequence_number  # independent random starts
    assert [p.extension(9) for p in two] == [b"agent2-video"] * 2


# --------------------------------------------------------------------------- gate


def test_a_closed_gate_forwards_nothing_and_counts_it() -> None:
    relay = make_relay("agent", allowed=False)
    out: list[Transmit] = []
    for seq in range(10):
        out += relay.handle_packet("customer", video(seq), 1.0)
        out += relay.handle_packet("customer", audio(C_AUDIO_SSRC, seq, 960 * seq), 1.0)
        sr = rtcp.SenderReport(C_VIDEO_SSRC, 1 << 40, 9000, 1, 1).to_bytes()
        out += relay.handle_packet("customer", sr, 1.0)
    assert [t for t in out if t[0] == "agent"] == []
    assert drops(relay, "agent", "sinks", "video") == {"gated": 10}
    assert drops(relay, "agent", "sinks", "audio") == {"gated": 10}
    totals = relay.stats()["totals"]
    assert isinstance(totals, dict)
    assert totals["drops"]["gated"] == 20


def test_nack_answers_respect_the_gate() -> None:
    relay = make_relay("agent")
    first = parsed(relay.handle_packet("customer", video(1), 1.0), "agent")[0]
    relay.switch("agent", "forwarding", False, 2.0)
    nack = rtcp.GenericNack(77, 1001, (first.sequence_number,)).to_bytes()
    assert relay.handle_packet("agent", nack, 2.0) == []


def test_opening_the_gate_requests_a_keyframe_and_starts_the_stream() -> None:
    relay = make_relay("agent", allowed=False)
    relay.handle_packet("customer", video(1), 1.0)
    out = relay.switch("agent", "forwarding", True, 5.0)
    assert rtcp_to(out, "customer") == [rtcp.PictureLossIndication(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC)]
    assert len(parsed(relay.handle_packet("customer", video(2), 5.0), "agent")) == 1


def test_agent_audio_reaches_the_customer_while_agents_are_gated() -> None:
    relay = make_relay("agent", allowed=False)
    out = relay.handle_packet("agent", audio(1003, 10, 480, level_id=10), 1.0)
    got = parsed(out, "customer")
    assert [(p.ssrc, p.payload_type) for p in got] == [(C_OUT_AUDIO_SSRC, 111)]
    assert got[0].marker  # first packet of the output stream opens a talkspurt
    assert got[0].extensions == (HeaderExtension(4, b"0"), HeaderExtension(1, b"\x7f"))


def test_nothing_is_produced_for_a_leg_whose_transport_is_down() -> None:
    relay = make_relay("agent")
    relay.switch("agent", "connected", False, 1.0)
    assert parsed(relay.handle_packet("customer", video(1), 1.0), "agent") == []
    assert drops(relay, "agent", "sinks", "video") == {"not_connected": 1}


# --------------------------------------------------------------------------- keyframes


def test_receiver_pli_and_fir_become_rate_limited_plis_to_the_source() -> None:
    relay = make_relay("agent")
    relay.handle_packet("customer", video(1), 1.0)  # opens the stream (and asks for a keyframe)
    assert relay.next_timeout() == 2.0  # only the first receiver report
    pli = rtcp.PictureLossIndication(0, 1001).to_bytes()
    expected = [rtcp.PictureLossIndication(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC)]

    assert rtcp_to(relay.handle_packet("agent", pli, 2.0), "customer") == expected
    fir = rtcp.FullIntraRequest(0, (rtcp.FirEntry(1001, 1),)).to_bytes()
    assert relay.handle_packet("agent", fir, 2.2) == []  # within 500 ms: deferred, not lost
    relay.handle_timeout(2.2)  # the receiver report due since 2.0; the next is due at 3.2
    assert relay.next_timeout() == pytest.approx(2.5)
    assert relay.handle_timeout(2.4) == []
    assert rtcp_to(relay.handle_timeout(2.5), "customer") == expected
    assert relay.next_timeout() == pytest.approx(3.2)


def test_a_deferred_request_also_rides_on_the_next_source_packet() -> None:
    relay = make_relay("agent")
    relay.handle_packet("customer", video(1), 1.0)
    relay.handle_packet("agent", rtcp.PictureLossIndication(0, 1001).to_bytes(), 1.2)
    out = relay.handle_packet("customer", video(2), 1.6)
    assert rtcp_to(out, "customer") == [rtcp.PictureLossIndication(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC)]


def test_a_receiver_that_becomes_active_asks_for_a_keyframe() -> None:
    relay = make_relay()
    relay.handle_packet("customer", video(1), 1.0)
    relay.add_leg("late", agent_lines(9000), forwarding=True)
    relay.add_route("customer", "late", "video")
    out = relay.switch("late", "connected", True, 3.0)
    assert rtcp_to(out, "customer") == [rtcp.PictureLossIndication(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC)]


def test_feedback_for_unknown_ssrcs_is_ignored() -> None:
    relay = make_relay("agent")
    relay.handle_packet("customer", video(1), 1.0)
    packet = (
        rtcp.PictureLossIndication(0, 424242).to_bytes()
        + rtcp.GenericNack(0, 424242, (1,)).to_bytes()
    )
    assert relay.handle_packet("agent", packet, 5.0) == []


# --------------------------------------------------------------------------- NACK


def test_nack_is_answered_from_history_over_rtx() -> None:
    relay = make_relay("agent")
    sent = [
        parsed(relay.handle_packet("customer", video(seq), 1.0), "agent")[0]
        for seq in range(100, 110)
    ]
    lost = sent[3]
    out = relay.handle_packet(
        "agent", rtcp.GenericNack(0, 1001, (lost.sequence_number,)).to_bytes(), 1.1
    )
    assert rtcp_to(out, "customer") == []  # nothing asked of the customer
    (rtx,) = parsed(out, "agent")
    assert (rtx.ssrc, rtx.payload_type) == (1002, 121)
    assert rtx.payload[:2] == lost.sequence_number.to_bytes(2, "big")  # OSN in agent numbering
    assert rtx.payload[2:] == lost.payload
    assert rtx.timestamp == lost.timestamp


def test_without_rtx_the_original_packet_is_resent() -> None:
    relay = make_relay()
    relay.add_leg("plain", agent_lines(3000, rtx=False), forwarding=True)
    relay.switch("plain", "connected", True, 0.0)
    relay.add_route("customer", "plain", "video")
    first = parsed(relay.handle_packet("customer", video(5), 1.0), "plain")[0]
    relay.handle_packet("customer", video(6), 1.0)
    out = relay.handle_packet(
        "plain", rtcp.GenericNack(0, 3001, (first.sequence_number,)).to_bytes(), 1.1
    )
    # The same packet; only abs-send-time carries the new send time.
    restamped = (first.extensions[0], HeaderExtension(11, rtp.abs_send_time(1.1)))
    assert parsed(out, "plain") == [replace(first, extensions=restamped)]


def test_nack_beyond_history_goes_to_the_source_and_its_rtx_comes_back_translated() -> None:
    relay = make_relay("agent1", "agent2", history=16)
    sent = [
        parsed(relay.handle_packet("customer", video(seq), 1.0), "agent1")[0]
        for seq in range(200, 240)
    ]
    old = sent[0]  # seq 200: long gone from a 16-packet history
    out = relay.handle_packet(
        "agent1", rtcp.GenericNack(0, 1001, (old.sequence_number,)).to_bytes(), 1.1
    )
    assert parsed(out, "agent1") == []
    assert rtcp_to(out, "customer") == [rtcp.GenericNack(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC, (200,))]

    rtx_from_customer = RtpPacket(
        97,
        7,
        9000,
        C_RTX_SSRC,
        payload=(200).to_bytes(2, "big") + rtp.parse_rtp(video(200)).payload,
    ).to_bytes()
    out = relay.handle_packet("customer", rtx_from_customer, 1.2)
    assert parsed(out, "agent2") == []  # agent2 never asked
    (rtx,) = parsed(out, "agent1")
    assert (rtx.ssrc, rtx.payload_type) == (1002, 121)
    assert rtx.payload == old.sequence_number.to_bytes(2, "big") + old.payload


def test_unsolicited_and_padding_only_rtx_is_not_forwarded() -> None:
    relay = make_relay("agent")
    relay.handle_packet("customer", video(1), 1.0)
    probe = RtpPacket(97, 8, 9000, C_RTX_SSRC, padding=bytes(9) + b"\x0a").to_bytes()
    repeat = RtpPacket(97, 9, 9000, C_RTX_SSRC, payload=b"\x00\x01frame").to_bytes()
    assert relay.handle_packet("customer", probe, 1.1) == []
    assert relay.handle_packet("customer", repeat, 1.1) == []


# --------------------------------------------------------------------------- SR


def test_sender_report_is_translated_into_each_receivers_timeline() -> None:
    relay = make_relay("agent")
    first = parsed(relay.handle_packet("customer", video(1, ts=90000), 1.0), "agent")[0]
    relay.handle_packet("customer", video(2, ts=93000), 1.03)
    sr = rtcp.SenderReport(C_VIDEO_SSRC, 0xE000000012345678, 180000, 2, 1000)
    rr = rtcp.ReceiverReport(C_AUDIO_SSRC)
    out = relay.handle_packet("customer", sr.to_bytes() + rr.to_bytes(), 2.0)
    offset = (first.timestamp - 90000) & 0xFFFFFFFF
    assert rtcp_to(out, "agent") == [
        rtcp.SenderReport(1001, 0xE000000012345678, (180000 + offset) & 0xFFFFFFFF, 2, 2 * 7),
        rtcp.SourceDescription(((1001, "cname-1000"),)),
    ]


# --------------------------------------------------------------------------- sources


def test_audio_from_two_agents_takes_turns_on_the_customers_one_stream() -> None:
    relay = make_relay("agent1", "agent2")
    out = parsed(relay.handle_packet("agent1", audio(1003, 10, 4800), 1.0), "customer")
    out += parsed(relay.handle_packet("agent2", audio(2003, 500, 77777), 1.0), "customer")
    assert len(out) == 1
    assert drops(relay, "customer", "sinks", "audio") == {"not_selected": 1}
    # agent1 falls silent (sends nothing) for a second: agent2 takes the stream over.
    taken = parsed(relay.handle_packet("agent2", audio(2003, 501, 78737), 2.0), "customer")
    assert len(taken) == 1
    assert taken[0].sequence_number == (out[0].sequence_number + 1) & 0xFFFF
    assert taken[0].timestamp == (out[0].timestamp + 48000) & 0xFFFFFFFF  # 1 s at 48 kHz
    assert taken[0].marker


def test_the_louder_speaker_takes_over_after_the_hold_time() -> None:
    relay = make_relay("agent1", "agent2")
    winners: list[int] = []
    for seq in range(1, 151):  # 3 s of 20 ms packets from both; agent2 speaks, agent1 is quiet
        now = 1.0 + 0.02 * seq
        for agent, ssrc, level in (("agent1", 1003, 90), ("agent2", 2003, 20)):
            out = parsed(
                relay.handle_packet(
                    agent, audio(ssrc, seq, 960 * seq, level=level, level_id=10), now
                ),
                "customer",
            )
            winners += [ssrc for _ in out]
    assert winners[0] == 1003  # first come, first served
    assert winners[-1] == 2003 and winners.count(2003) > 50


def test_an_unsignalled_ssrc_is_learnt_from_the_mid_extension() -> None:
    relay = new_relay(seed=1)
    unsignalled = tuple(
        MediaLine(
            line.kind,
            line.mid,
            line.codecs,
            line.extensions,
            None,
            None,
            line.send_ssrc,
            None,
            None,
            True,
            line.sends,
        )
        for line in CUSTOMER
    )
    relay.add_leg("customer", unsignalled, forwarding=True)
    relay.add_leg("agent", agent_lines(1000), forwarding=True)
    for leg in ("customer", "agent"):
        relay.switch(leg, "connected", True, 0.0)
    relay.add_route("customer", "agent", "video")
    no_mid = RtpPacket(96, 1, 1, 4444, payload=b"x").to_bytes()
    assert relay.handle_packet("customer", no_mid, 1.0) == []
    assert relay.stats()["legs"]["customer"]["drops"] == {"unknown_ssrc": 1}  # type: ignore[index]
    with_mid = RtpPacket(
        96, 2, 1, 4444, extensions=(HeaderExtension(4, b"1"),), payload=b"x"
    ).to_bytes()
    assert len(parsed(relay.handle_packet("customer", with_mid, 1.0), "agent")) == 1
    assert len(parsed(relay.handle_packet("customer", no_mid, 1.0), "agent")) == 1  # SSRC now known


def test_a_returning_source_continues_the_receivers_stream() -> None:
    relay = make_relay("agent")
    before = parsed(relay.handle_packet("customer", video(40000, ts=5000), 1.0), "agent")[0]
    relay.remove_leg("customer")  # customer reconnects: new transport, new SSRCs
    relay.add_leg("customer", CUSTOMER, forwarding=True)
    relay.switch("customer", "connected", True, 2.0)
    relay.add_route("customer", "agent", "video")
    out = relay.handle_packet("customer", video(7, ts=1), 2.0)
    after = parsed(out, "agent")[0]
    assert after.ssrc == before.ssrc
    assert after.sequence_number == (before.sequence_number + 1) & 0xFFFF
    assert after.timestamp == (before.timestamp + 90000) & 0xFFFFFFFF
    assert rtcp_to(out, "customer") == [rtcp.PictureLossIndication(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC)]


def test_malformed_and_unknown_input_is_counted_not_raised() -> None:
    relay = make_relay("agent")
    assert relay.handle_packet("customer", b"\x80\x60", 1.0) == []
    assert relay.handle_packet("customer", b"\x81\xce\x00\x09", 1.0) == []
    assert relay.handle_packet("customer", RtpPacket(96, 1, 1, 999).to_bytes(), 1.0) == []
    assert relay.handle_packet("customer", video(1, pt=45), 1.0) == []
    assert relay.handle_packet("nobody", video(1), 1.0) == []
    legs = relay.stats()["legs"]
    assert isinstance(legs, dict)
    assert legs["customer"]["drops"] == {"malformed": 2, "unknown_ssrc": 1}
    assert legs["customer"]["sources"]["video"]["drops"] == {"codec_mismatch": 1}


def test_stream_counters() -> None:
    relay = make_relay("agent")
    for seq in range(5):
        relay.handle_packet("customer", video(seq), 1.0)
    relay.handle_packet("agent", audio(1003, 1, 1), 1.0)
    legs = relay.stats()["legs"]
    assert isinstance(legs, dict)
    source = legs["customer"]["sources"]["video"]
    sink = legs["agent"]["sinks"]["video"]
    assert (source["packets"], source["ssrc"], source["sinks"]) == (5, C_VIDEO_SSRC, ["agent"])
    assert source["bytes"] == 5 * len(video(0))
    assert (sink["packets"], sink["source"], sink["drops"]) == (5, "customer", {})
    assert legs["agent"]["sources"]["audio"]["packets"] == 1
    assert "video" not in legs["agent"]["sources"]  # agents do not publish video here


def test_topology_errors() -> None:
    relay = make_relay("agent")
    with pytest.raises(ValueError, match="already exists"):
        relay.add_leg("agent", ())
    with pytest.raises(ValueError, match="itself"):
        relay.add_route("agent", "agent", "audio")
    with pytest.raises(KeyError):
        relay.switch("ghost", "forwarding", True, 0.0)
    with pytest.raises(ValueError, match="no switch"):
        relay.switch("agent", "gate", True, 0.0)
    with pytest.raises(ValueError, match="more than one"):
        relay.add_leg("twice", (CUSTOMER[0], CUSTOMER[0]))
    assert not relay.add_route("agent", "customer", "video")  # agents send no video here


def test_a_request_for_a_source_whose_transport_is_down_waits_without_a_deadline() -> None:
    relay = make_relay("agent")
    relay.handle_packet("customer", video(1), 1.0)  # keyframe request sent at 1.0
    relay.switch("customer", "connected", False, 1.1)
    relay.handle_packet("agent", rtcp.PictureLossIndication(0, 1001).to_bytes(), 1.2)
    assert relay.next_timeout() is None  # nothing to do until the transport is back
    assert relay.handle_timeout(9.0) == []
    out = relay.switch("customer", "connected", True, 9.0)
    assert rtcp_to(out, "customer") == [rtcp.PictureLossIndication(C_OUT_VIDEO_SSRC, C_VIDEO_SSRC)]


def test_losses_per_stream() -> None:
    relay = make_relay("agent")
    for seq in (65530, 65531, 65534, 1, 0, 1):  # 2 gaps across the wrap; late; duplicate
        relay.handle_packet("customer", video(seq), 1.0)
    block = rtcp.ReportBlock(1001, 12, 3, 0, 0, 0, 0)
    other = rtcp.ReportBlock(424242, 0, 99, 0, 0, 0, 0)  # not one of ours: ignored
    relay.handle_packet("agent", rtcp.ReceiverReport(9, (block, other)).to_bytes(), 1.1)
    legs = relay.stats()["legs"]
    assert isinstance(legs, dict)
    # 65530..1 is 8 packets and 3 never came, but RFC 3550 counts the duplicate as
    # received: expected 8 - received 6.
    assert legs["customer"]["sources"]["video"]["lost"] == 2
    assert legs["agent"]["sinks"]["video"]["receiver_lost"] == 3
    relay.handle_packet(
        "agent", rtcp.ReceiverReport(9, (replace(block, packets_lost=-1),)).to_bytes(), 1.2
    )
    assert relay.stats()["legs"]["agent"]["sinks"]["video"]["receiver_lost"] == -1  # type: ignore[index]


# --------------------------------------------------------------------------- our own RTCP


def test_publishers_get_receiver_reports_with_their_losses_and_jitter() -> None:
    relay = make_relay("agent")
    # Video every 1/8 s (exact in binary) with matching timestamps; 13 and 14 are lost
    # and 17 comes 1/8 s late, so two arrivals are 11250 ticks (1/8 s at 90 kHz) off.
    arrivals = {seq: 1 + seq / 8 for seq in (10, 11, 12, 15, 16, 17, 18, 19)}
    arrivals[17] += 1 / 8
    relay.handle_packet("customer", audio(C_AUDIO_SSRC, 7, 960), 2.25)
    for seq, now in arrivals.items():
        relay.handle_packet("customer", video(seq, ts=seq * 11250), now)
    sr = rtcp.SenderReport(C_VIDEO_SSRC, 0x123456789ABCDEF0, 0, 0, 0)
    relay.handle_packet("customer", sr.to_bytes(), 3.0)
    assert relay.next_timeout() == 3.25  # a second after the first packet
    out = relay.handle_timeout(4.0)
    assert rtcp_to(out, "agent") == []  # it sent nothing, so it hears nothing
    rr, sdes = rtcp_to(out, "customer")
    # From our first m-line towards the customer that we send on (audio), with its CNAME.
    assert sdes == rtcp.SourceDescription(((C_OUT_AUDIO_SSRC, "c-cname"),))
    assert rr == rtcp.ReceiverReport(
        C_OUT_AUDIO_SSRC,
        (
            rtcp.ReportBlock(C_AUDIO_SSRC, 0, 0, 7, 0, 0, 0),
            # 2 of 10 lost: fraction 51/256. RFC 3550 A.8 jitter after |D| = 11250 twice
            # and then 0: 703.1, 703.1 + (11250 - 703.1)/16 = 1362.3, 1362.3 * 15/16 =
            # 1277.2. LSR: the middle 32 bits of the SR's NTP time; DLSR: 1 s in 1/65536 s.
            rtcp.ReportBlock(C_VIDEO_SSRC, 51, 2, 19, 1277, 0x56789ABC, 65536),
        ),
    )
    assert relay.stats()["totals"]["rtcp_reports_sent"] == 1  # type: ignore[index]

    # The next interval: only what happened since (audio was silent, so no block).
    assert relay.next_timeout() == 5.0
    relay.handle_packet("customer", video(20, ts=20 * 11250), 4.125)
    relay.handle_packet("customer", video(22, ts=22 * 11250), 4.375)
    assert relay.handle_timeout(4.9) == []
    rr, _ = rtcp_to(relay.handle_timeout(5.0), "customer")
    assert isinstance(rr, rtcp.ReceiverReport)
    ((block),) = rr.reports
    assert (block.ssrc, block.fraction_lost, block.packets_lost, block.highest_sequence) == (
        C_VIDEO_SSRC,
        256 // 3,  # 1 of 3 lost
        3,
        22,
    )
    # Idle: no report and no deadline until media comes again.
    assert relay.handle_timeout(6.0) == []
    assert relay.next_timeout() is None
    relay.handle_packet("customer", video(23, ts=23 * 11250), 7.0)
    assert relay.next_timeout() == 8.0


def test_extended_highest_sequence_counts_wraps() -> None:
    relay = make_relay("agent")
    for seq in (65534, 65535, 1):
        relay.handle_packet("customer", video(seq), 1.0)
    rr, _ = rtcp_to(relay.handle_timeout(2.0), "customer")
    assert isinstance(rr, rtcp.ReceiverReport)
    assert [(b.highest_sequence, b.packets_lost) for b in rr.reports] == [((1 << 16) + 1, 1)]


def test_receiver_reports_need_the_transport_but_not_the_gate() -> None:
    relay = make_relay("agent")
    relay.switch("customer", "forwarding", False, 0.5)  # gated: nothing from others reaches it ...
    relay.handle_packet("customer", video(1), 1.0)
    assert len(rtcp_to(relay.handle_timeout(2.0), "customer")) == 2  # ... but our RR does
    relay.handle_packet("customer", video(2), 2.5)
    relay.switch("customer", "connected", False, 2.6)
    assert relay.next_timeout() is None  # nothing can be sent to it: no deadline
    assert relay.handle_timeout(3.0) == []
    relay.switch("customer", "connected", True, 9.0)
    assert relay.next_timeout() == 3.0  # overdue: it goes at the next timeout
    assert len(rtcp_to(relay.handle_timeout(9.0), "customer")) == 2


def remb(bitrate: int, *ssrcs: int) -> bytes:
    return rtcp.ReceiverEstimatedMaxBitrate(0, bitrate, ssrcs).to_bytes()


def remb_to(transmits: Sequence[Transmit], leg: str) -> list[int]:
    """The bitrates of the REMBs sent to ``leg`` (checking they are about its video)."""
    found = []
    for packet in rtcp_to(transmits, leg):
        assert isinstance(packet, rtcp.ReceiverEstimatedMaxBitrate)
        assert (packet.sender_ssrc, packet.ssrcs) == (C_OUT_AUDIO_SSRC, (C_VIDEO_SSRC,))
        found.append(packet.bitrate)
    return found


def test_the_publisher_gets_the_lowest_remb_of_its_receivers_rate_limited() -> None:
    relay = make_relay("agent1", "agent2")  # their video sinks: SSRCs 1001 and 2001
    assert remb_to(relay.handle_packet("agent1", remb(1_000_000, 1001), 1.0), "customer") == [
        1_000_000
    ]
    # Lower, but by less than 20 % and within 500 ms: it waits for the interval.
    assert relay.handle_packet("agent2", remb(900_000, 2001), 1.1) == []
    assert relay.next_timeout() == 1.5
    assert remb_to(relay.handle_timeout(1.5), "customer") == [900_000]
    assert relay.next_timeout() is None
    # A fall of more than 20 % goes at once.
    assert remb_to(relay.handle_packet("agent1", remb(500_000, 1001), 1.6), "customer") == [500_000]
    # Rises wait; what goes out when the interval is over is the minimum at that time.
    assert relay.handle_packet("agent1", remb(2_000_000, 1001), 1.7) == []
    assert relay.handle_packet("agent2", remb(3_000_000, 2001, 2002), 1.8) == []
    assert relay.next_timeout() == 2.1
    assert remb_to(relay.handle_timeout(2.1), "customer") == [2_000_000]
    assert relay.stats()["totals"]["remb_forwarded"] == 4  # type: ignore[index]


def test_no_remb_is_invented_and_gated_receivers_do_not_count() -> None:
    relay = make_relay("agent1", "agent2", allowed=False)
    # Unknown SSRCs and audio streams: nothing to say to the publisher's video.
    assert relay.handle_packet("agent1", remb(100_000, 424242, 1004), 1.0) == []
    # A gated receiver's estimate is kept but not used until its gate opens.
    assert relay.handle_packet("agent1", remb(100_000, 1001), 1.1) == []
    assert relay.next_timeout() is None
    relay.switch("agent2", "forwarding", True, 1.2)
    assert remb_to(relay.handle_packet("agent2", remb(800_000, 2001), 1.3), "customer") == [800_000]
    relay.switch("agent1", "forwarding", True, 1.4)
    assert remb_to(relay.handle_packet("agent2", remb(800_000, 2001), 2.0), "customer") == [100_000]
