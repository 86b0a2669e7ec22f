"""Browser-shaped offers: what the server negotiates, and how the relay maps between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from livelens.media import rtp
from livelens.media.peer import Direction, ServerPeer
from livelens.media.relay import RELAYS, RelayKind, new_relay
from livelens.media.streams import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    MID_URI,
    MediaKind,
    MediaLine,
)
from tests.media.clients import LOOPBACK, Probe
from tests.media.test_peer import Recorder

VECTORS = Path(__file__).parents[1] / "vectors" / "media"
TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


async def negotiate(browser: str, role: str) -> tuple[str, dict[str, MediaLine]]:
    offer = (VECTORS / f"{browser}_offer.sdp").read_text().replace("\n", "\r\n")
    directions: dict[MediaKind, Direction] = {
        "video": "recvonly" if role == "customer" else "sendonly"
    }
    recorder = Recorder(Probe())
    peer = ServerPeer(
        browser, recorder, directions=directions, host_addresses=LOOPBACK, packets=recorder
    )
    try:
        answer = await peer.accept(offer)
    finally:
        await peer.close()
    return answer, {line.kind: line for line in peer.media}


def codecs(line: MediaLine) -> list[tuple[int, str, int | None]]:
    return [(c.payload_type, c.mime_type, c.rtx_apt) for c in line.codecs]


async def test_chrome_offer() -> None:
    answer, media = await negotiate("chrome", "customer")
    audio, video = media["audio"], media["video"]
    assert codecs(audio) == [(111, "audio/opus", None)]
    assert codecs(video) == [
        (96, "video/vp8", None),
        (97, "video/rtx", 96),
        (106, "video/h264", None),  # 42e01f, packetization-mode 1
        (107, "video/rtx", 106),
        (102, "video/h264", None),  # 42001f, packetization-mode 1
        (103, "video/rtx", 102),
    ]
    assert dict(audio.extensions) == {AUDIO_LEVEL_URI: 1, MID_URI: 4}
    assert dict(video.extensions) == {ABS_SEND_TIME_URI: 2, MID_URI: 4}  # no transport-cc
    assert (audio.recv_ssrc, video.recv_ssrc, video.recv_rtx_ssrc) == (1001, 2001, 2002)
    assert (audio.mid, video.mid) == ("0", "1")
    assert audio.sends and audio.receives and video.receives and not video.sends
    assert video.send_rtx_ssrc is not None and video.cname
    assert "a=setup:active" in answer and "a=recvonly" in answer
    assert "transport-cc" not in answer and "VP9" not in answer
    # Bandwidth feedback the relay can give: it forwards the receivers' REMB for video.
    assert "a=rtcp-fb:96 goog-remb" in answer


async def test_firefox_offer() -> None:
    _, media = await negotiate("firefox", "agent")
    audio, video = media["audio"], media["video"]
    assert codecs(audio) == [(109, "audio/opus", None)]
    # H.264 97 has no packetization-mode (so mode 0): not answerable, left out.
    assert codecs(video) == [
        (120, "video/vp8", None),
        (124, "video/rtx", 120),
        (126, "video/h264", None),
        (127, "video/rtx", 126),
    ]
    assert dict(video.extensions) == {MID_URI: 3, ABS_SEND_TIME_URI: 4}
    assert (audio.recv_ssrc, video.recv_ssrc, video.recv_rtx_ssrc) == (3001, 4001, 4002)
    assert video.sends and not video.receives


@pytest.mark.parametrize("relay_kind", RELAYS)
@pytest.mark.parametrize(("pt_in", "pt_out"), [(96, 120), (106, 126)])
async def test_chrome_customer_to_firefox_agent(
    pt_in: int, pt_out: int, relay_kind: RelayKind
) -> None:
    _, chrome = await negotiate("chrome", "customer")
    _, firefox = await negotiate("firefox", "agent")
    relay = new_relay(relay_kind)
    relay.add_leg("customer", chrome.values(), forwarding=True)
    relay.add_leg("agent", firefox.values(), forwarding=True)
    for leg in ("customer", "agent"):
        relay.switch(leg, "connected", True, 0.0)
    assert relay.add_route("customer", "agent", "video")
    packet = rtp.RtpPacket(
        pt_in,
        1,
        1,
        2001,
        extensions=(
            rtp.HeaderExtension(4, b"1"),
            rtp.HeaderExtension(3, b"\x00\x01"),
            rtp.HeaderExtension(2, b"\x00\x00\x01"),
        ),
        payload=b"picture",
    )
    out = [
        data
        for _, data in relay.handle_packet("customer", packet.to_bytes(), 2.0)
        if not rtp.is_rtcp(data)
    ]
    got = rtp.parse_rtp(out[0])
    assert (got.payload_type, got.ssrc, got.payload) == (
        pt_out,
        firefox["video"].send_ssrc,
        b"picture",
    )
    assert got.extensions == (
        rtp.HeaderExtension(3, firefox["video"].mid.encode()),
        rtp.HeaderExtension(4, rtp.abs_send_time(2.0)),
    )
