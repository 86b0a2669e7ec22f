"""The bench clients, spread over processes (``benchmarks.fleet``): each worker process
runs an asyncio loop with some publisher groups (one aiortc publisher injecting pre-built
VP8 RTP into its DTLS transport, and its subscribers counting what their DTLS transports
unprotect), driven by the parent through a pipe. Sockets get large receive buffers so a
busy client drops nothing at its own socket before the server is the limit.

Each packet carries its send time (``loadgen.sent_at``); a subscriber takes its one-way
latency when its DTLS transport has unprotected it. ``direct`` is no server: the
publisher's and the subscriber's PeerConnections negotiate with each other, so the same
clients on the same machine give the floor that the servers' latencies are read against.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from benchmarks.loadgen import (
    Silent,
    _dtls,
    open_session,
    send_rtp,
    sent_at,
    vp8_packet,
    wait_connected,
)
from benchmarks.peers.janus import JanusSession
from benchmarks.peers.livekit import Participant
from livelens.media import ice

RCVBUF = 8 * 1024 * 1024


def enlarge_buffers(pc: Any) -> None:
    """Large socket buffers on every ICE socket of ``pc`` (forced past rmem_max as root)."""
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        for protocol in connection._protocols:
            sock = protocol.transport.get_extra_info("socket")
            for forced, plain in ((33, socket.SO_RCVBUF), (32, socket.SO_SNDBUF)):
                try:  # SO_RCVBUFFORCE / SO_SNDBUFFORCE
                    sock.setsockopt(socket.SOL_SOCKET, forced, RCVBUF)
                except OSError:
                    sock.setsockopt(socket.SOL_SOCKET, plain, RCVBUF)


async def connected(pc: Any) -> None:
    await wait_connected(pc)
    enlarge_buffers(pc)


class Received:
    """What a group's subscribers have received between them; the one-way latency of each
    stamped packet goes into ``latencies`` (ns; shared by a worker's groups)."""

    def __init__(self, latencies: array[int]) -> None:
        self.count = 0
        self.latencies = latencies

    async def __call__(self, data: bytes, arrival_time_ms: int) -> None:
        self.count += 1
        at = sent_at(data)
        if at is not None:
            self.latencies.append(time.monotonic_ns() - at)

    def listen(self, pc: Any) -> None:
        """Count (and time) what ``pc``'s DTLS transport unprotects; decode nothing."""
        _dtls(pc)._handle_rtp_data = self


@dataclass
class Group:
    """One publisher and what its subscribers have received between them."""

    dtls: Any
    packet: bytearray
    received: Received
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    sent: int = 0
    seq: int = 0  # carried over between runs: SRTP rejects a replayed index
    sender: asyncio.Task[None] | None = None

    async def pump(self, rate: float) -> None:
        await send_rtp(self, self.dtls, rate, stamp=True)


def _vp8(sdp: str, server: str) -> int:
    vp8 = re.search(r"a=rtpmap:(\d+) VP8/90000", sdp, re.IGNORECASE)
    assert vp8 is not None, f"{server} did not accept VP8"
    return int(vp8.group(1))


def _ssrc(pc: Any) -> int:
    return int(pc.getTransceivers()[0].sender._ssrc)


async def livelens_group(base_url: str, index: int, subscribers: int, received: Received) -> Group:
    """A LiveLens session (agent ``index``): its customer publishes, its agent counts."""
    if subscribers != 1:
        raise ValueError("a LiveLens session has one agent")
    session = await open_session(base_url, index)
    for pc in (session.agent_pc, session.customer_pc):
        enlarge_buffers(pc)
    received.listen(session.agent_pc)
    return Group(session.customer_dtls, session.packet, received, [session.close])


def _local(pc: Any) -> str:
    return str(pc.localDescription.sdp)


async def janus_group(base_url: str, room: int, subscribers: int, received: Received) -> Group:
    """A VideoRoom room with one publisher and ``subscribers`` subscribers, each on its own
    handle (and PeerConnection), negotiated through Janus's HTTP API."""
    janus = JanusSession(base_url)
    await janus.create()
    handle = await janus.attach()
    created = await janus.request(
        handle,
        {
            "request": "create",
            "room": room + 1,
            "publishers": 1,
            "videocodec": "vp8",
            "audiocodec": "opus",
            "bitrate": 0,
            "fir_freq": 0,
            "notify_joining": False,
        },
    )
    room = int(created["room"])
    joined = await janus.message(handle, {"request": "join", "ptype": "publisher", "room": room})
    publisher_id = joined["plugindata"]["data"]["id"]
    publisher: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    publisher.addTransceiver(Silent(), "sendonly")
    with ice.host_addresses(["127.0.0.1"]):
        await publisher.setLocalDescription(await publisher.createOffer())
    event = await janus.message(
        handle, {"request": "publish"}, {"type": "offer", "sdp": _local(publisher)}
    )
    answer = event["jsep"]["sdp"]
    await publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await connected(publisher)

    pcs = [publisher]
    for _ in range(subscribers):
        sub_handle = await janus.attach()
        event = await janus.message(
            sub_handle,
            {
                "request": "join",
                "ptype": "subscriber",
                "room": room,
                "streams": [{"feed": publisher_id}],
            },
        )
        subscriber: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        await subscriber.setRemoteDescription(RTCSessionDescription(event["jsep"]["sdp"], "offer"))
        with ice.host_addresses(["127.0.0.1"]):
            await subscriber.setLocalDescription(await subscriber.createAnswer())
        await janus.message(
            sub_handle, {"request": "start"}, {"type": "answer", "sdp": _local(subscriber)}
        )
        await connected(subscriber)
        received.listen(subscriber)
        pcs.append(subscriber)

    async def close() -> None:
        for pc in pcs:
            await pc.close()
        await janus.destroy()

    packet = vp8_packet(_vp8(answer, "Janus"), _ssrc(publisher))
    return Group(_dtls(publisher), packet, received, [close])


async def livekit_group(url: str, index: int, subscribers: int, received: Received) -> Group:
    """A LiveKit room with one publishing participant and ``subscribers`` others, each
    with its own signalling connection and PeerConnections (auto-subscribe)."""
    room = f"bench-{index}"
    publisher = Participant(url, room, f"publisher-{index}")
    await publisher.connect()
    pc: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = Silent()
    pc.addTransceiver(track, "sendonly")
    answer = await publisher.publish(pc, track.id)
    await connected(pc)

    participants = [publisher]
    for j in range(subscribers):
        subscriber = Participant(url, room, f"subscriber-{index}-{j}")
        video = asyncio.Event()

        def hook(spc: Any, video: asyncio.Event = video) -> None:
            spc.on("track", lambda track: video.set() if track.kind == "video" else None)

        subscriber.on_subscriber = hook
        await subscriber.connect()
        async with asyncio.timeout(20):
            await video.wait()
        await connected(subscriber.subscriber)
        received.listen(subscriber.subscriber)
        participants.append(subscriber)

    async def close() -> None:
        for participant in participants:
            await participant.close()

    packet = vp8_packet(_vp8(answer, "LiveKit"), _ssrc(pc))
    return Group(_dtls(pc), packet, received, [close])


async def direct_group(_: str, index: int, subscribers: int, received: Received) -> Group:
    """No server: the publisher's and the subscriber's PeerConnections negotiate with each
    other directly (the floor under every server's latency)."""
    if subscribers != 1:
        raise ValueError("direct: one subscriber per publisher")
    publisher: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    publisher.addTransceiver(Silent(), "sendonly")
    subscriber: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    with ice.host_addresses(["127.0.0.1"]):
        await publisher.setLocalDescription(await publisher.createOffer())
        await subscriber.setRemoteDescription(publisher.localDescription)
        await subscriber.setLocalDescription(await subscriber.createAnswer())
    await publisher.setRemoteDescription(subscriber.localDescription)
    for pc in (publisher, subscriber):
        await connected(pc)
    received.listen(subscriber)

    async def close() -> None:
        for pc in (publisher, subscriber):
            await pc.close()

    packet = vp8_packet(_vp8(_local(subscriber), "direct"), _ssrc(publisher))
    return Group(_dtls(publisher), packet, received, [close])


OPENERS = {
    "livelens": livelens_group,
    "janus": janus_group,
    "livekit": livekit_group,
    "direct": direct_group,
}


class Worker:
    """One client process's groups, driven by the parent (``benchmarks.fleet``)."""

    def __init__(self, server: str, base_url: str) -> None:
        self.server, self.base_url = server, base_url
        self.groups: list[Group] = []
        self.latencies: array[int] = array("q")

    async def on_open(self, plan: list[tuple[int, int]]) -> str:
        """Open a group for each (index, subscribers) of ``plan``."""
        for index, subscribers in plan:
            opened = await OPENERS[self.server](
                self.base_url, index, subscribers, Received(self.latencies)
            )
            self.groups.append(opened)
        return "ok"

    async def on_start(self, rate: float) -> str:
        for group in self.groups:
            group.sender = asyncio.ensure_future(group.pump(rate))
        return "ok"

    async def on_counts(self, _: None) -> tuple[int, int]:
        failed = [g.sender for g in self.groups if g.sender is not None and g.sender.done()]
        if failed:
            raise RuntimeError(f"a publisher stopped: {failed[0].exception()!r}")
        return sum(g.sent for g in self.groups), sum(g.received.count for g in self.groups)

    async def on_latencies(self, _: None) -> bytes:
        """The one-way latencies (ns) taken since the last time asked, as array bytes."""
        taken, self.latencies[:] = self.latencies.tobytes(), array("q")
        return taken

    async def on_stop(self, _: None) -> str:
        for group in self.groups:
            if group.sender is not None:
                group.sender.cancel()
                group.sender = None
        return "ok"

    async def on_close(self, _: None) -> str:
        for group in self.groups:
            for close in group.closers:
                await close()
        return "ok"
