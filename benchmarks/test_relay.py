"""Relay throughput, the Rust relay against the Python reference (its baseline).

Not part of the test suite; run with ``.venv/bin/python -m pytest benchmarks/test_relay.py``.
One customer's video fanned out to three agents, 1000 packets per round, through the
Python API (so the Rust figures include the PyO3 call per packet).
"""

from __future__ import annotations

from typing import Any

import pytest

from livelens.media.relay import RELAYS, RelayKind, new_relay
from livelens.media.rtp import HeaderExtension, RtpPacket
from livelens.media.streams import ABS_SEND_TIME_URI, MID_URI, Codec, MediaLine


def video_line(mid: str, base: int, pt: int) -> MediaLine:
    return MediaLine(
        kind="video",
        mid=mid,
        codecs=(Codec(pt, "video/vp8", 90000), Codec(pt + 1, "video/rtx", 90000, rtx_apt=pt)),
        extensions={MID_URI: 4, ABS_SEND_TIME_URI: 2},
        recv_ssrc=base,
        send_ssrc=base + 1,
        send_rtx_ssrc=base + 2,
    )


@pytest.mark.parametrize("kind", RELAYS)
def test_fan_out_one_video_source_to_three_receivers(benchmark: Any, kind: RelayKind) -> None:
    relay = new_relay(kind)
    relay.add_leg("customer", (video_line("v", 1000, 96),), forwarding=True)
    relay.switch("customer", "connected", True, 0.0)
    for i in range(3):
        agent = f"agent{i}"
        relay.add_leg(agent, (video_line(f"a{i}", 2000 + 10 * i, 120),), forwarding=True)
        relay.switch(agent, "connected", True, 0.0)
        relay.add_route("customer", agent, "video")
    packets = [
        RtpPacket(
            96,
            seq,
            seq * 3000,
            1000,
            extensions=(HeaderExtension(4, b"v"), HeaderExtension(2, b"\x01\x02\x03")),
            payload=bytes(1100),
        ).to_bytes()
        for seq in range(1000)
    ]

    def one_round() -> int:
        sent = 0
        for i, packet in enumerate(packets):
            sent += len(relay.handle_packet("customer", packet, 1.0 + i / 1000))
        return sent

    benchmark.group = "relay core"
    benchmark.extra_info["packets_per_round"] = len(packets)
    assert benchmark(one_round) >= 3000
