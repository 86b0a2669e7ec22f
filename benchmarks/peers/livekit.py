"""LiveKit (``livekit-server`` built from the Go module proxy by ``livekit_build``) for
the side-by-side bench.

The bench starts it with a generated YAML configuration: warnings-only logging, ICE-lite,
one UDP port on 127.0.0.1 with loopback candidates enabled, VP8 only, congestion control
off (the subscribers count packets below aiortc's receiver and send it no feedback, which
LiveKit's allocator would otherwise read as a starved link and pause the video). The
clients speak LiveKit's signalling protocol over its WebSocket with the messages of the
``livekit-protocol`` package (the generated protobuf stubs) and tokens from
``livekit-api``; media goes through the same aiortc clients as for the other servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.httpclient
import tornado.websocket
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from livekit import api
from livekit.protocol import models, rtc

from benchmarks.loadgen import _free_port
from benchmarks.peers import livekit_build
from benchmarks.peers.process import PeerProcess
from livelens.media import ice

KEY, SECRET = "benchkey", "bench-secret-at-least-32-characters-long"


def binary() -> str:
    return str(livekit_build.ensure())


class LiveKitServer(PeerProcess):
    def __init__(self, workdir: Path) -> None:
        super().__init__("livekit", workdir)
        self.port, self.udp_port = _free_port(), _free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.config = {
            "port": self.port,
            "bind_addresses": ["127.0.0.1"],
            "rtc": {
                "udp_port": self.udp_port,
                "tcp_port": 0,
                "use_external_ip": False,
                "node_ip": "127.0.0.1",
                "enable_loopback_candidate": True,
                "interfaces": {"includes": ["lo"]},
                "use_ice_lite": True,
                "congestion_control": {"enabled": False},
            },
            "keys": {KEY: SECRET},
            "logging": {"level": "warn"},
            "room": {"enabled_codecs": [{"mime": "video/vp8"}], "empty_timeout": 300},
        }

    def start(self) -> None:
        path = self.workdir / "livekit.yaml"
        path.write_text(json.dumps(self.config))  # JSON is YAML
        self.launch([binary(), "--config", str(path)])

    async def wait_ready(self) -> None:
        await self.wait_answering(f"http://127.0.0.1:{self.port}/")

    def describe(self) -> str:
        version = subprocess.run([binary(), "--version"], capture_output=True, text=True).stdout
        return (
            f"{version.strip()} (built from the Go module proxy), logging warn, ICE-lite,"
            " one UDP port on 127.0.0.1 (loopback candidates enabled), VP8 only,"
            " congestion control off, NACK on (its default)"
        )


class Participant:
    """One LiveKit participant: the signalling WebSocket and its two PeerConnections."""

    def __init__(self, url: str, room: str, identity: str) -> None:
        self.url, self.room, self.identity = url, room, identity
        self.ws: Any = None
        self.publisher: Any = None
        self.subscriber: Any = None
        self.waiting: dict[str, asyncio.Future[Any]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.on_subscriber: Callable[[Any], None] | None = None

    async def connect(self) -> None:
        token = (
            api.AccessToken(KEY, SECRET)
            .with_identity(self.identity)
            .with_grants(api.VideoGrants(room_join=True, room=self.room))
            .to_jwt()
        )
        self.ws = await tornado.websocket.websocket_connect(
            f"{self.url}/rtc?access_token={token}&auto_subscribe=1&protocol=15&sdk=python"
        )
        join = await self._next("join")
        interval = max(join.join.ping_interval, 5)
        self.tasks = [
            asyncio.ensure_future(self._read()),
            asyncio.ensure_future(self._ping(interval)),
        ]

    def send(self, request: rtc.SignalRequest) -> None:
        self.ws.write_message(request.SerializeToString(), binary=True)

    async def _next(self, kind: str) -> Any:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                raise ConnectionError("livekit closed the signalling connection")
            response = rtc.SignalResponse.FromString(raw)
            if response.WhichOneof("message") == kind:
                return response

    def expect(self, kind: str) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[kind] = future
        return future

    async def _read(self) -> None:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                return
            response = rtc.SignalResponse.FromString(raw)
            kind = response.WhichOneof("message")
            if kind == "trickle":
                init = json.loads(response.trickle.candidateInit)
                pc = self.publisher if response.trickle.target == rtc.PUBLISHER else self.subscriber
                if pc is not None and init.get("candidate"):
                    candidate = candidate_from_sdp(init["candidate"].split(":", 1)[1])
                    candidate.sdpMid = init.get("sdpMid")
                    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
                    await pc.addIceCandidate(candidate)
            elif kind == "offer":  # the subscriber PeerConnection, offered by the server
                await self._answer(response.offer.sdp)
            elif kind in self.waiting:
                future = self.waiting.pop(kind)
                if not future.done():
                    future.set_result(response)

    async def _answer(self, sdp: str) -> None:
        if self.subscriber is None:
            self.subscriber = RTCPeerConnection()
            if self.on_subscriber is not None:
                self.on_subscriber(self.subscriber)
        await self.subscriber.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        with ice.host_addresses(["127.0.0.1"]):
            await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        local = self.subscriber.localDescription
        self.send(rtc.SignalRequest(answer=rtc.SessionDescription(type="answer", sdp=local.sdp)))

    async def _ping(self, interval: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            self.send(rtc.SignalRequest(ping=int(loop.time() * 1000)))

    async def publish(self, pc: Any, track_id: str) -> str:
        """Announce the video track, negotiate the publisher PeerConnection; the answer."""
        self.publisher = pc
        published = self.expect("track_published")
        self.send(
            rtc.SignalRequest(
                add_track=rtc.AddTrackRequest(
                    cid=track_id,
                    name="camera",
                    type=models.VIDEO,
                    source=models.CAMERA,
                    width=1280,
                    height=720,
                )
            )
        )
        async with asyncio.timeout(20):
            await published
        with ice.host_addresses(["127.0.0.1"]):
            await pc.setLocalDescription(await pc.createOffer())
        answered = self.expect("answer")
        self.send(
            rtc.SignalRequest(
                offer=rtc.SessionDescription(type="offer", sdp=pc.localDescription.sdp)
            )
        )
        async with asyncio.timeout(20):
            answer = (await answered).answer.sdp
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return str(answer)

    async def close(self) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            self.send(rtc.SignalRequest(leave=rtc.LeaveRequest()))
        for task in self.tasks:
            task.cancel()
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                await pc.close()
        self.ws.close()
