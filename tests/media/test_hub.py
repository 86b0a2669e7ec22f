"""MediaHub end to end: real aiortc "browsers" on loopback, the server relaying between them.

These run the hub on the aiortc media path (``AiortcPath``: aioice's sockets, packets
through Python) with either relay, the oracle the Rust media port is held to; the same
clients against the media port are in test_media_port.py.

The customer sends a synthetic picture and a tone; agents decode what reaches them.
Agent offers are renumbered (payload types, extension ids) and list video first, so
every header field the relay rewrites differs between the two sides.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest

from livelens.media import rtcp, rtp
from livelens.media.aiortc_path import AiortcPath
from livelens.media.hub import MediaHub, OfferRejected, Role
from livelens.media.relay import RELAYS, RelayKind
from livelens.media.streams import MID_URI, MediaLine
from tests.media.clients import (
    HEIGHT,
    LOOPBACK,
    WIDTH,
    Client,
    Probe,
    agent_client,
    connect,
    customer_client,
    vp8_keyframe,
)


class World:
    """A hub, the clients talking to it, and every state change it reported."""

    def __init__(self, relay: RelayKind) -> None:
        self.probe = Probe()
        self.hub = MediaHub(AiortcPath(host_addresses=LOOPBACK, relay=relay))
        self.states: list[tuple[str, str, str]] = []
        self.clients: list[Client] = []
        self.hub.on_state(self._on_state)

    def _on_state(self, session_id: str, participant_id: str, state: str) -> None:
        self.states.append((session_id, participant_id, state))
        self.probe.poke()

    async def join(
        self, session_id: str, participant_id: str, client: Client, *, munge: bool = False
    ) -> dict[str, MediaLine]:
        self.clients.append(client)
        role: Role = "customer" if client.name == "customer" else "agent"

        async def answer(offer: str) -> str:
            return await self.hub.connect(session_id, participant_id, role, offer)

        return await connect(client, answer, munge=munge)

    async def connected(self, session_id: str, *participants: str) -> None:
        wanted = {(session_id, p, "connected") for p in participants}
        await self.probe.until(lambda: wanted <= set(self.states), f"{participants} connected")

    def stats(self, session_id: str) -> Any:
        return self.hub.stats(session_id)


@pytest.fixture
def relay() -> RelayKind:
    """The relay the hub uses; the tests of what reaches whom run on both."""
    return "fast"


@pytest.fixture
async def world(relay: RelayKind) -> AsyncIterator[World]:
    w = World(relay)
    try:
        yield w
    finally:
        await w.hub.close()
        for client in w.clients:
            await client.close()


def codec_pt(line: MediaLine, mime: str) -> int:
    return next(c.payload_type for c in line.codecs if c.mime_type == mime)


def assert_forwarded_verbatim(
    sent: list[rtp.RtpPacket],
    received: list[rtp.RtpPacket],
    source: MediaLine,
    sink: MediaLine,
    mime: str,
) -> int:
    """Every packet the receiver got on the sink's SSRC is a packet the source sent, with
    the same payload and padding, one constant sequence and timestamp offset, the
    receiver's payload type and the receiver's MID. Returns how many were checked."""
    src = [p for p in sent if p.ssrc == source.recv_ssrc]
    got = [p for p in received if p.ssrc == sink.send_ssrc]
    assert got, "nothing arrived on the receiver's SSRC"
    by_body: dict[bytes, list[rtp.RtpPacket]] = defaultdict(list)
    for p in src:
        by_body[p.payload + p.padding].append(p)
    offsets: set[tuple[int, int]] | None = None
    for p in got:
        candidates = {
            (
                (p.sequence_number - s.sequence_number) & 0xFFFF,
                (p.timestamp - s.timestamp) & 0xFFFFFFFF,
            )
            for s in by_body[p.payload + p.padding]
        }
        assert candidates, "a forwarded payload the source never sent"
        offsets = candidates if offsets is None else offsets & candidates
    assert offsets is not None and len(offsets) == 1, "not one constant seq/ts offset"
    seq_offset, ts_offset = offsets.pop()
    by_seq = {p.sequence_number: p for p in src}
    mid_id = sink.extensions[MID_URI]
    for i, p in enumerate(got):
        s = by_seq[(p.sequence_number - seq_offset) & 0xFFFF]
        assert (p.payload, p.padding) == (s.payload, s.padding)
        assert p.timestamp == (s.timestamp + ts_offset) & 0xFFFFFFFF
        assert p.payload_type == codec_pt(sink, mime) != codec_pt(source, mime)
        assert p.extension(mid_id) == sink.mid.encode()
        if i:  # the first packet of a stream may carry a marker the relay set
            assert p.marker == s.marker
    return len(got)


@pytest.mark.parametrize("relay", RELAYS)
async def test_consent_gate_then_live_media_both_ways_and_keyframe_requests(world: World) -> None:
    customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
    c = await world.join("s1", "cust", customer)
    a = await world.join("s1", "agent", agent, munge=True)
    assert c["video"].mid != a["video"].mid
    await world.connected("s1", "cust", "agent")

    # (a) Consent not given: the customer's media reaches the relay and stops there.
    def gated(kind: str) -> int:
        return int(world.stats("s1")["legs"]["agent"]["sinks"][kind]["drops"].get("gated", 0))

    await world.probe.until(lambda: gated("video") >= 30 and gated("audio") >= 30, "gated drops")
    # (c) ... while the agent's voice already reaches the customer.
    await world.probe.until(lambda: len(customer.frames["audio"]) >= 10, "customer hears agent")
    assert agent.received_rtp == []
    assert agent.frames == {"audio": [], "video": []}
    assert world.stats("s1")["media_allowed"] is False

    # (b) Consent given: the agent decodes picture and sound, forwarded byte for byte.
    world.hub.set_media_allowed("s1", True)
    await world.probe.until(
        lambda: len(agent.frames["video"]) >= 15 and len(agent.frames["audio"]) >= 25,
        "agent decodes video and audio",
        within=15,
    )
    assert {(f.width, f.height) for f in agent.frames["video"]} == {(WIDTH, HEIGHT)}
    assert {(f.sample_rate, f.samples) for f in agent.frames["audio"]} == {(48000, 960)}
    assert (
        assert_forwarded_verbatim(
            customer.sent_rtp, agent.received_rtp, c["video"], a["video"], "video/vp8"
        )
        >= 15
    )
    assert (
        assert_forwarded_verbatim(
            customer.sent_rtp, agent.received_rtp, c["audio"], a["audio"], "audio/opus"
        )
        >= 25
    )
    assert (
        assert_forwarded_verbatim(
            agent.sent_rtp, customer.received_rtp, a["audio"], c["audio"], "audio/opus"
        )
        >= 10
    )

    # (d) A PLI from the agent reaches the customer, whose encoder answers with a keyframe
    # (aiortc's VP8 encoder makes keyframes only when asked, so this proves the loop).
    def customer_plis() -> int:
        return customer.plis_for(c["video"].recv_ssrc or 0)

    def agent_keyframes() -> int:
        return sum(
            1
            for p in agent.received_rtp
            if p.ssrc == a["video"].send_ssrc and vp8_keyframe(p.payload)
        )

    plis, keyframes = customer_plis(), agent_keyframes()
    await agent.dtls._send_rtp(rtcp.PictureLossIndication(1, a["video"].send_ssrc).to_bytes())
    await world.probe.until(lambda: customer_plis() > plis, "PLI at the customer", within=3)
    await world.probe.until(
        lambda: agent_keyframes() > keyframes, "keyframe at the agent", within=3
    )

    # The customer's sender reports reach the agent translated into its timeline, which
    # is what lets a browser line picture and sound up.
    def video_sr() -> rtcp.SenderReport | None:
        return next(
            (
                p
                for p in reversed(agent.received_rtcp)
                if isinstance(p, rtcp.SenderReport) and p.ssrc == a["video"].send_ssrc
            ),
            None,
        )

    await world.probe.until(
        lambda: video_sr() is not None, "a translated SR at the agent", within=3
    )
    report = video_sr()
    assert report is not None
    # The SR may be seconds old by now, so it is compared with the nearest forwarded
    # packet: translated, it lands among them; untranslated, a random 32-bit offset away.
    forwarded = [p.timestamp for p in agent.received_rtp if p.ssrc == a["video"].send_ssrc]
    assert (
        min(
            min((report.rtp_timestamp - ts) & 0xFFFFFFFF, (ts - report.rtp_timestamp) & 0xFFFFFFFF)
            for ts in forwarded
        )
        < 90000
    )
    assert (
        rtcp.SourceDescription(((a["video"].send_ssrc, a["video"].cname or ""),))
        in agent.received_rtcp
    )

    stats = world.stats("s1")
    assert stats["participants"] == {
        "cust": {"role": "customer", "state": "connected"},
        "agent": {"role": "agent", "state": "connected"},
    }
    assert stats["legs"]["agent"]["sinks"]["video"]["keyframe_requests_received"] >= 1
    assert stats["legs"]["cust"]["sources"]["video"]["keyframe_requests_sent"] >= 2
    assert stats["totals"]["drops"]["malformed"] == 0

    await world.hub.end_session("s1")
    assert {("s1", "cust", "closed"), ("s1", "agent", "closed")} <= set(world.states)
    assert world.stats("s1")["participants"] == {}


@pytest.mark.parametrize("relay", RELAYS)
async def test_two_agents_both_receive_the_customer(world: World) -> None:
    world.hub.set_media_allowed("s2", True)  # consent before anyone joined
    customer = customer_client(world.probe)
    one, two = agent_client("agent1", world.probe), agent_client("agent2", world.probe)
    c = await world.join("s2", "cust", customer)
    a1 = await world.join("s2", "agent1", one, munge=True)
    a2 = await world.join("s2", "agent2", two)
    await world.connected("s2", "cust", "agent1", "agent2")
    await world.probe.until(
        lambda: len(one.frames["video"]) >= 10 and len(two.frames["video"]) >= 10,
        "both agents decode video",
        within=15,
    )
    assert assert_forwarded_verbatim(
        customer.sent_rtp, one.received_rtp, c["video"], a1["video"], "video/vp8"
    )
    two_video = [p for p in two.received_rtp if p.ssrc == a2["video"].send_ssrc]
    assert two_video and {p.payload_type for p in two_video} == {codec_pt(a2["video"], "video/vp8")}
    assert world.stats("s2")["legs"]["cust"]["sources"]["video"]["sinks"] == ["agent1", "agent2"]

    # One agent leaves; the other keeps receiving.
    await world.hub.disconnect("s2", "agent1")
    assert ("s2", "agent1", "closed") in world.states
    frames = len(two.frames["video"])
    await world.probe.until(lambda: len(two.frames["video"]) >= frames + 5, "agent2 still decodes")
    assert world.stats("s2")["legs"]["cust"]["sources"]["video"]["sinks"] == ["agent2"]


@pytest.mark.parametrize("relay", RELAYS)
async def test_customer_reconnect_replaces_its_peer_and_the_agent_stream_continues(
    world: World,
) -> None:
    world.hub.set_media_allowed("s3", True)
    first, agent = customer_client(world.probe), agent_client("agent", world.probe)
    await world.join("s3", "cust", first)
    a = await world.join("s3", "agent", agent)
    await world.connected("s3", "cust", "agent")
    await world.probe.until(lambda: len(agent.frames["video"]) >= 5, "video before reconnect")

    second = customer_client(world.probe)  # the phone's new PeerConnection
    await world.join("s3", "cust", second)
    await world.probe.until(
        lambda: world.states.count(("s3", "cust", "connected")) == 2, "customer reconnected"
    )
    before = len(agent.frames["video"])
    await world.probe.until(
        lambda: (
            len(agent.frames["video"]) >= before + 10
            and any(
                p.payload in {q.payload for q in second.sent_rtp[-30:]}
                for p in agent.received_rtp[-30:]
            )
        ),
        "video from the new connection",
        within=15,
    )
    # The agent saw one uninterrupted stream: same SSRC, sequence numbers without a jump
    # (a step of 2-3 would be a packet lost on loopback, not a restart).
    video = [p for p in agent.received_rtp if p.ssrc == a["video"].send_ssrc]
    steps = [(b.sequence_number - p.sequence_number) & 0xFFFF for p, b in itertools.pairwise(video)]
    assert steps and all(1 <= step <= 3 for step in steps)
    assert ("s3", "cust", "closed") not in world.states  # a replacement is not a departure
    # The server closed the replaced connection (DTLS close_notify reached the old client).
    await world.probe.until(lambda: first.pc.connectionState == "closed", "old connection closed")


async def test_rejected_offer_leaves_the_session_untouched(world: World) -> None:
    with pytest.raises(OfferRejected):
        await world.hub.connect("s4", "cust", "customer", "not sdp")
    assert world.stats("s4")["participants"] == {}
    with pytest.raises(ValueError, match="role"):
        await world.hub.connect("s4", "x", "admin", "v=0")  # type: ignore[arg-type]
    assert world.states == []


async def test_an_offer_without_candidates_connects_through_peer_reflexive_checks(
    world: World,
) -> None:
    # A browser that sends its offer before ICE gathering finished (trickle) lists no
    # candidates; its checks to our host candidate are enough for aioice to connect.
    world.hub.set_media_allowed("s5", True)
    customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
    world.clients += [customer, agent]
    offer = await customer.offer()
    bare = "".join(
        line
        for line in offer.splitlines(True)
        if not line.startswith(("a=candidate", "a=end-of-candidates"))
    )
    await customer.accept_answer(await world.hub.connect("s5", "cust", "customer", bare))
    await world.join("s5", "agent", agent)
    await world.connected("s5", "cust", "agent")
    await world.probe.until(lambda: len(agent.frames["video"]) >= 5, "video via prflx")
