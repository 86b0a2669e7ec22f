"""The bench clients, spread over processes: each worker process runs an asyncio loop with
some publisher groups (one aiortc publisher injecting pre-built VP8 RTP into its DTLS
transport, and its subscribers counting what their DTLS transports unprotect), driven
by the parent through a pipe. Sockets get large receive buffers so a busy client drops
nothing at its own socket before the server is the limit.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from benchmarks.loadgen import Silent, _dtls, open_session, send_rtp, vp8_packet, wait_connected
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


@dataclass
class Group:
    """One publisher and what its subscribers have received between them."""

    dtls: Any
    packet: bytearray
    received: Callable[[], int]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    sent: int = 0
    seq: int = 0  # carried over between runs: SRTP rejects a replayed index
    sender: asyncio.Task[None] | None = None

    async def pump(self, rate: float) -> None:
        await send_rtp(self, self.dtls, rate)


async def livelens_group(base_url: str, index: int, subscribers: int) -> Group:
    """A LiveLens session (agent ``index``): its customer publishes, its agent counts."""
    if subscribers != 1:
        raise ValueError("a LiveLens session has one agent")
    session = await open_session(base_url, index)
    for pc in (session.agent_pc, session.customer_pc):
        enlarge_buffers(pc)
    return Group(session.customer_dtls, session.packet, lambda: session.received, [session.close])


def _local(pc: Any) -> str:
    return str(pc.localDescription.sdp)


async def janus_group(base_url: str, room: int, subscribers: int) -> Group:
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
    vp8 = re.search(r"a=rtpmap:(\d+) VP8/90000", answer, re.IGNORECASE)
    assert vp8 is not None, "Janus did not accept VP8"
    ssrc = publisher.getTransceivers()[0].sender._ssrc
    counter = [0]

    async def count(data: bytes, arrival_time_ms: int) -> None:
        counter[0] += 1

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
        _dtls(subscriber)._handle_rtp_data = count
        pcs.append(subscriber)

    async def close() -> None:
        for pc in pcs:
            await pc.close()
        await janus.destroy()

    return Group(_dtls(publisher), vp8_packet(int(vp8.group(1)), ssrc), lambda: counter[0], [close])


async def livekit_group(url: str, index: int, subscribers: int) -> Group:
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
    vp8 = re.search(r"a=rtpmap:(\d+) VP8/90000", answer, re.IGNORECASE)
    assert vp8 is not None, "LiveKit did not accept VP8"
    counter = [0]

    async def count(data: bytes, arrival_time_ms: int) -> None:
        counter[0] += 1

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
        _dtls(subscriber.subscriber)._handle_rtp_data = count
        participants.append(subscriber)

    async def close() -> None:
        for participant in participants:
            await participant.close()

    ssrc = pc.getTransceivers()[0].sender._ssrc
    return Group(_dtls(pc), vp8_packet(int(vp8.group(1)), ssrc), lambda: counter[0], [close])


OPENERS = {"livelens": livelens_group, "janus": janus_group, "livekit": livekit_group}


async def _serve(conn: Connection, server: str, base_url: str) -> None:
    loop = asyncio.get_running_loop()
    groups: list[Group] = []
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        if command == "open":  # argument: [(index, subscribers), ...]
            for index, subscribers in argument:
                groups.append(await OPENERS[server](base_url, index, subscribers))
            conn.send("ok")
        elif command == "start":
            for group in groups:
                group.sender = asyncio.ensure_future(group.pump(argument))
            conn.send("ok")
        elif command == "counts":
            failed = [g.sender for g in groups if g.sender is not None and g.sender.done()]
            if failed:
                conn.send(("error", f"a publisher stopped: {failed[0].exception()!r}"))
                continue
            conn.send((sum(g.sent for g in groups), sum(g.received() for g in groups)))
        elif command == "stop":
            for group in groups:
                if group.sender is not None:
                    group.sender.cancel()
                    group.sender = None
            conn.send("ok")
        elif command == "close":
            for group in groups:
                for close in group.closers:
                    await close()
            conn.send("ok")
            return


def worker_main(conn: Connection, server: str, base_url: str) -> None:
    """Entry point of one client process."""
    try:
        asyncio.run(_serve(conn, server, base_url))
    except Exception as error:  # the parent must hear of it, not wait forever
        conn.send(("error", repr(error)))
        raise
