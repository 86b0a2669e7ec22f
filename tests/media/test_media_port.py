"""The Rust media port end to end: aiortc "browsers" on loopback talk ICE-lite, DTLS and
SRTP to the one UDP port the data plane owns; Python only sees DTLS.

The clients are the same as in test_hub.py; the hub runs with a MediaPort, so STUN is
answered, SRTP unprotected, relayed and re-protected in Rust.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aioice import stun

from livelens._fastpath import (
    MediaPortError,
    MediaSocket,
    RelayError,
    SrtpError,
    UnknownLeg,
    UnknownSession,
    UnknownTransport,
)
from livelens.media import rtcp
from livelens.media.hub import MediaHub, Role
from livelens.media.media_port import MediaPort
from livelens.media.peer import ServerPeer
from livelens.media.streams import MediaLine
from tests.media.clients import (
    HEIGHT,
    WIDTH,
    Client,
    Probe,
    agent_client,
    binding_request,
    connect,
    customer_client,
)
from tests.media.test_hub import assert_forwarded_verbatim


class PortWorld:
    """A hub on a Rust media port (ephemeral), its clients and the states it reported."""

    def __init__(self, port: MediaPort | None = None) -> None:
        self.probe = Probe()
        self.port = port or MediaPort("127.0.0.1", 0)
        self.hub = MediaHub(self.port)
        self.states: list[tuple[str, str, str]] = []
        self.clients: list[Client] = []
        self.answers: dict[str, str] = {}
        self.hub.on_state(self._on_state)

    def _on_state(self, session_id: str, participant_id: str, state: str) -> None:
        self.states.append((session_id, participant_id, state))
        self.probe.poke()

    async def join(
        self,
        session_id: str,
        participant_id: str,
        client: Client,
        *,
        munge: bool = False,
        rewrite_answer: Any = None,
    ) -> dict[str, MediaLine]:
        self.clients.append(client)
        role: Role = "customer" if client.name == "customer" else "agent"

        async def answer(offer: str) -> str:
            sdp = await self.hub.connect(session_id, participant_id, role, offer)
            self.answers[participant_id] = sdp
            return rewrite_answer(sdp) if rewrite_answer else sdp

        return await connect(client, answer, munge=munge)

    async def connected(self, session_id: str, *participants: str) -> None:
        wanted = {(session_id, p, "connected") for p in participants}
        await self.probe.until(lambda: wanted <= set(self.states), f"{participants} connected")

    def peer(self, session_id: str, participant_id: str) -> ServerPeer:
        peer = self.hub.peer(session_id, participant_id)
        assert peer is not None
        return peer


@contextlib.asynccontextmanager
async def port_world(port: MediaPort | None = None) -> AsyncIterator[PortWorld]:
    w = PortWorld(port)
    try:
        yield w
    finally:
        await w.hub.close()
        for client in w.clients:
            await client.close()
        w.port.close()


@pytest.fixture
async def world() -> AsyncIterator[PortWorld]:
    async with port_world() as w:
        yield w


def offered(answer: str) -> set[tuple[str, str]]:
    return set(re.findall(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", answer))


def client_ufrag(client: Client) -> str:
    gatherer = client.pc.getTransceivers()[0].receiver.transport.transport.iceGatherer
    return str(gatherer.getLocalParameters().usernameFragment)


def transport_stats(world: PortWorld, peer: ServerPeer) -> dict[str, Any]:
    stats: dict[str, Any] = world.port.stats()["transports"][peer.transport_id]
    return stats


async def test_media_crosses_the_rust_port_byte_for_byte_and_never_python(
    world: PortWorld,
) -> None:
    customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
    c = await world.join("s1", "cust", customer)
    a = await world.join("s1", "agent", agent, munge=True)
    # The answer is ICE-lite with the port's one host candidate.
    answer = world.answers["cust"]
    assert "a=ice-lite" in answer
    assert offered(answer) == {("127.0.0.1", str(world.port.port))}  # one per m-line
    await world.connected("s1", "cust", "agent")

    # Before consent nothing reaches the agent; the agent's voice reaches the customer.
    await world.probe.until(lambda: len(customer.frames["audio"]) >= 10, "customer hears agent")
    assert agent.received_rtp == []

    world.hub.set_media_allowed("s1", True)
    await world.probe.until(
        lambda: len(agent.frames["video"]) >= 15 and len(agent.frames["audio"]) >= 25,
        "agent decodes video and audio",
        within=15,
    )
    assert {(f.width, f.height) for f in agent.frames["video"]} == {(WIDTH, HEIGHT)}
    for sent, received, source, sink, mime, at_least in (
        (customer.sent_rtp, agent.received_rtp, c["video"], a["video"], "video/vp8", 15),
        (customer.sent_rtp, agent.received_rtp, c["audio"], a["audio"], "audio/opus", 25),
        (agent.sent_rtp, customer.received_rtp, a["audio"], c["audio"], "audio/opus", 10),
    ):
        assert assert_forwarded_verbatim(sent, received, source, sink, mime) >= at_least

    # The publisher hears back: receiver reports on its streams, once a second.
    def reported_on(ssrc: int | None) -> bool:
        return any(
            block.ssrc == ssrc
            for report in customer.received_rtcp
            if isinstance(report, rtcp.ReceiverReport)
            for block in report.reports
        )

    await world.probe.until(lambda: reported_on(c["video"].recv_ssrc), "an RR on the video")
    await world.probe.until(lambda: reported_on(c["audio"].recv_ssrc), "an RR on the audio")

    # Python saw DTLS only: the aiortc packet hooks were never called.
    cust, agt = world.peer("s1", "cust"), world.peer("s1", "agent")
    assert cust.python_packets == 0 and agt.python_packets == 0
    for peer in (cust, agt):
        stats = transport_stats(world, peer)
        assert stats["rx_packets"]["dtls"] >= 1
        assert stats["rx_packets"]["srtp"] >= 10
        assert stats["srtp"]["rtp_unprotected"] >= 10
        assert stats["drops"].get("srtp_auth_failed", 0) == 0
    # The hub's view: the relay's counters in Rust, legs named by participant (Rust only
    # knows their numbers), and each participant's transport.
    stats = world.hub.stats("s1")
    assert stats["path"] == "media_port"
    assert stats["legs"]["cust"]["sources"]["video"]["sinks"] == ["agent"]
    assert stats["legs"]["agent"]["sinks"]["video"]["source"] == "cust"
    assert stats["transports"]["agent"]["srtp"]["rtp_unprotected"] >= 10
    assert stats["transports"]["cust"]["nominated"][0] == "127.0.0.1"

    await world.hub.end_session("s1")
    assert {("s1", "cust", "closed"), ("s1", "agent", "closed")} <= set(world.states)
    assert world.port.stats()["transports"] == {}


async def test_the_customer_gets_receiver_reports_and_the_agents_bandwidth_estimate(
    world: PortWorld,
) -> None:
    customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
    c = await world.join("s1", "cust", customer)
    await world.join("s1", "agent", agent, munge=True)
    await world.connected("s1", "cust", "agent")
    world.hub.set_media_allowed("s1", True)
    video_ssrc = c["video"].recv_ssrc

    def reports() -> list[rtcp.ReportBlock]:
        return [
            block
            for p in customer.received_rtcp
            if isinstance(p, rtcp.ReceiverReport)
            for block in p.reports
            if block.ssrc == video_ssrc
        ]

    def rembs() -> list[rtcp.ReceiverEstimatedMaxBitrate]:
        return [
            p
            for p in customer.received_rtcp
            if isinstance(p, rtcp.ReceiverEstimatedMaxBitrate) and p.ssrcs == (video_ssrc,)
        ]

    # The relay's own RR (aiortc's receiver would send one too, but Python is not on
    # this path), and the REMB aiortc's agent estimates from abs-send-time, passed on.
    await world.probe.until(lambda: len(reports()) >= 2, "RRs about the customer's video")
    sent = [p.sequence_number for p in customer.sent_rtp if p.ssrc == video_ssrc]
    assert reports()[-1].highest_sequence & 0xFFFF in sent
    assert world.peer("s1", "cust").python_packets == 0
    await world.probe.until(lambda: bool(rembs()), "the agent's REMB, forwarded")
    assert rembs()[-1].bitrate > 0


async def test_stun_that_fails_authentication_is_dropped_unanswered_and_counted(
    world: PortWorld,
) -> None:
    # An answer to an unauthenticated request goes to an address anyone can forge, and
    # an error response (48 bytes) to a bare request (20) would amplify a reflection.
    customer = customer_client(world.probe)
    await world.join("s2", "cust", customer)
    ufrag = re.search(r"a=ice-ufrag:(\S+)", world.answers["cust"])
    pwd = re.search(r"a=ice-pwd:(\S+)", world.answers["cust"])
    assert ufrag is not None and pwd is not None
    username = f"{ufrag.group(1)}:{client_ufrag(customer)}"
    loop = asyncio.get_running_loop()
    reported: list[tuple[str | None, str, int, str]] = []
    both_reported = loop.create_future()

    def anomaly(session_id: str | None, reason: str, count: int, ip: str) -> None:
        reported.append((session_id, reason, count, ip))
        if len(reported) == 2:
            both_reported.set_result(None)

    world.hub.on_anomaly(anomaly)
    bare = bytes(
        stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.REQUEST,
            transaction_id=os.urandom(12),
        )
    )
    assert len(bare) == 20
    refused = [
        bare,
        binding_request(os.urandom(12), username, "not-the-password-at-all"),
        binding_request(os.urandom(12), "nobody:x", "whatever-password-here"),  # unknown ufrag
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        target = ("127.0.0.1", world.port.port)
        for request in refused:
            await loop.sock_sendto(sock, request, target)
        # The port handles datagrams in order: the answer to a valid check sent last
        # arrives first only if none of the others was answered.
        tid = os.urandom(12)
        await loop.sock_sendto(sock, binding_request(tid, username, pwd.group(1)), target)
        async with asyncio.timeout(5):
            data = await loop.sock_recv(sock, 2048)
    response = stun.parse_message(data)
    assert response.transaction_id == tid
    assert response.message_class == stun.Class.RESPONSE
    drops = world.port.stats()["port"]["drops"]
    assert drops["stun_bad_integrity"] == 1
    assert drops["stun_unknown_username"] == 2  # the bare request has no USERNAME at all
    peer = world.peer("s2", "cust")
    assert transport_stats(world, peer)["drops"]["stun_bad_integrity"] == 1
    # Both reach the security log's hook: the session's transport, and no transport.
    async with asyncio.timeout(5):
        await both_reported
    assert sorted(reported, key=str) == sorted(
        [("s2", "stun_bad_integrity", 1, "127.0.0.1"),
         (None, "stun_unknown_username", 1, "127.0.0.1")], key=str
    )  # fmt: skip


class RebindingProxy:
    """A NAT in front of a client: forwards its datagrams to the server from a back
    socket that :meth:`rebind` replaces, so the server sees the client move."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.client: tuple[str, int] | None = None
        self.front: asyncio.DatagramTransport | None = None
        self.back: asyncio.DatagramTransport | None = None
        self.old_backs: list[asyncio.DatagramTransport] = []
        self.from_server_on_back = 0

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        proxy = self

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                proxy.client = addr
                if proxy.back is not None:
                    proxy.back.sendto(data, proxy.server)

        self.front, _ = await loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", 0))
        await self.rebind()
        address: tuple[str, int] = self.front.get_extra_info("sockname")
        return address

    async def rebind(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        proxy = self

        class Back(asyncio.DatagramProtocol):
            def __init__(self) -> None:
                self.transport: asyncio.DatagramTransport | None = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = cast(asyncio.DatagramTransport, transport)

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if self.transport is proxy.back:
                    proxy.from_server_on_back += 1
                if proxy.front is not None and proxy.client is not None:
                    proxy.front.sendto(data, proxy.client)

        if self.back is not None:
            self.old_backs.append(self.back)  # still delivers, like a NAT's old mapping
        self.back, _ = await loop.create_datagram_endpoint(Back, local_addr=("127.0.0.1", 0))
        self.from_server_on_back = 0
        address: tuple[str, int] = self.back.get_extra_info("sockname")
        return address

    def close(self) -> None:
        for t in [self.front, self.back, *self.old_backs]:
            if t is not None:
                t.close()


async def test_a_client_that_moves_keeps_sending_and_receiving(world: PortWorld) -> None:
    world.hub.set_media_allowed("s3", True)
    proxy = RebindingProxy(("127.0.0.1", world.port.port))
    front = await proxy.start()
    try:

        def via_proxy(sdp: str) -> str:
            return sdp.replace(
                f"127.0.0.1 {world.port.port} typ host", f"{front[0]} {front[1]} typ host"
            )

        customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
        await world.join("s3", "cust", customer, rewrite_answer=via_proxy)
        await world.join("s3", "agent", agent)
        await world.connected("s3", "cust", "agent")
        await world.probe.until(lambda: len(agent.frames["video"]) >= 5, "video before the move")

        # The customer's network changes: a new source address, and a nominating check
        # from it (what a browser sends after switching networks).
        new_back = await proxy.rebind()
        cust = world.peer("s3", "cust")
        assert cust.ice is not None
        server_ufrag = cust.ice.local_username
        assert proxy.back is not None
        proxy.back.sendto(
            binding_request(
                os.urandom(12),
                f"{server_ufrag}:{client_ufrag(customer)}",
                cust.ice.local_password,
                use_candidate=True,
            ),
            proxy.server,
        )
        await world.probe.until(
            lambda: cust.ice is not None and cust.ice.moves == 1, "moved", within=5
        )
        assert cust.ice.selected_address == new_back

        # Both directions keep flowing, through the new address only.
        video, audio = len(agent.frames["video"]), len(customer.frames["audio"])
        await world.probe.until(
            lambda: (
                len(agent.frames["video"]) >= video + 15
                and len(customer.frames["audio"]) >= audio + 25
                and proxy.from_server_on_back > 25
            ),
            "media after the move",
            within=15,
        )
        assert cust.python_packets == 0
        assert ("s3", "cust", "failed") not in world.states
    finally:
        proxy.close()


async def test_a_client_whose_checks_stop_fails_after_the_consent_timeout() -> None:
    # aioice checks consent every ~5 s; a 1 s timeout makes it look gone.
    probe = Probe()
    port = MediaPort("127.0.0.1", 0, consent_timeout=1.0)
    hub = MediaHub(port)
    states: list[tuple[str, str, str]] = []

    def on_state(session_id: str, participant_id: str, state: str) -> None:
        states.append((session_id, participant_id, state))
        probe.poke()

    hub.on_state(on_state)
    customer = customer_client(probe)
    try:

        async def answer(offer: str) -> str:
            return await hub.connect("s4", "cust", "customer", offer)

        await connect(customer, answer)
        await probe.until(lambda: ("s4", "cust", "connected") in states, "connected")
        await probe.until(lambda: ("s4", "cust", "failed") in states, "failed", within=5)
        assert hub.peer("s4", "cust") is None  # detached
        await probe.until(lambda: port.stats()["transports"] == {}, "transport removed")
    finally:
        await hub.close()
        await customer.close()
        port.close()


async def test_an_announced_address_replaces_the_machines_own_in_the_answer() -> None:
    # Behind 1:1 NAT (a cloud VM) the port is bound to every local address and offers
    # the public one; here loopback stands in for it, so media can still flow.
    async with port_world(MediaPort("0.0.0.0", 0, announced=["127.0.0.1"])) as w:
        customer = customer_client(w.probe)
        await w.join("s1", "cust", customer)
        assert offered(w.answers["cust"]) == {("127.0.0.1", str(w.port.port))}
        await w.connected("s1", "cust")
    port = MediaPort("0.0.0.0", 0, announced=["203.0.113.7"])
    try:
        assert port.addresses == ["203.0.113.7"]
    finally:
        port.close()


def test_control_calls_refuse_with_typed_errors() -> None:
    # Sessions and legs are Python's numbers; every refusal has its class, each a
    # KeyError or ValueError as before (rust_fastpath/src/py/error.rs chooses them).
    socket = MediaSocket("127.0.0.1", 0)
    try:
        transport = socket.add_transport(1, 1, "ufrag1", "password-password-0123")
        with pytest.raises(MediaPortError, match="ufrag already in use"):
            socket.add_transport(1, 2, "ufrag1", "password-password-0123")
        with pytest.raises(UnknownTransport):
            socket.set_remote_ufrag(transport + 100, "x")
        with pytest.raises(SrtpError, match="key or salt length"):
            socket.set_srtp_keys(transport, "AEAD_AES_128_GCM", b"k", b"s", b"k", b"s")
        with pytest.raises(UnknownSession):
            socket.add_route(1, 1, 2, "audio")
        socket.add_leg(1, 1, transport, [], True)
        with pytest.raises(UnknownLeg):
            socket.add_route(1, 1, 2, "audio")
        with pytest.raises(RelayError, match="itself"):
            socket.add_route(1, 1, 1, "audio")
        with pytest.raises(ValueError, match="media kind"):
            socket.add_route(1, 1, 1, "text")  # type: ignore[arg-type]
        assert socket.send(transport, b"\x16") is False  # no nominated address yet
        assert issubclass(UnknownLeg, KeyError) and issubclass(MediaPortError, ValueError)
        stats = socket.stats()
        assert (stats["transports"][transport]["session"], stats["sessions"]) == (1, 1)
        assert set(socket.session_stats(1, {1: "cust"})["transports"]) == {"cust"}
        assert set(socket.session_stats(1)["legs"]) == {1}
        assert socket.poll_events() == []
    finally:
        socket.close()
