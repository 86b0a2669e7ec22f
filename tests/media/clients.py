"""Real aiortc clients on loopback that stand in for the browsers in media tests.

The customer sends a synthetic picture and tone; an agent sends a tone and decodes
whatever it receives. Taps record the plaintext packets each client sends and
receives (instance wrappers on the client's own RTCDtlsTransport, the same private
hooks the server uses and tests/media/test_aiortc_contract.py pins).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import re
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from aioice import stun
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from livelens.media import ice, rtcp, rtp
from livelens.media.negotiation import negotiated_media
from livelens.media.streams import MediaLine

LOOPBACK = ["127.0.0.1"]
WIDTH, HEIGHT = 160, 120
VIDEO_CLOCK = 90000


class Probe:
    """Re-checks waited-for conditions whenever something observable happens.

    Packet taps and frame consumers call :meth:`poke`; tests ``await probe.until(...)``
    with a bound instead of sleeping.
    """

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def poke(self) -> None:
        for condition, future in list(self._waiters):
            if not future.done() and condition():
                future.set_result(None)

    async def until(self, condition: Callable[[], bool], what: str, within: float = 10.0) -> None:
        if condition():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (condition, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(within):
                await future
        except TimeoutError:
            raise AssertionError(f"timed out after {within}s waiting for {what}") from None
        finally:
            self._waiters.remove(entry)


class SyntheticVideo(MediaStreamTrack):
    """A moving luma ramp at 30 fps (paced by the loop clock)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self._start: float | None = None
        self._ramp = bytes(i & 0xFF for i in range(1024))

    async def recv(self) -> VideoFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n / 30 - loop.time()))
        frame = VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for index, plane in enumerate(frame.planes):
            if index == 0:
                offset = (self._n * 4) % 256
                plane.update(self._ramp[offset : offset + plane.line_size] * plane.height)
            else:
                plane.update(bytes([128]) * (plane.line_size * plane.height))
        frame.pts = self._n * VIDEO_CLOCK // 30
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class SyntheticAudio(MediaStreamTrack):
    """A tone in 20 ms frames at 48 kHz mono."""

    kind = "audio"

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        self._n = 0
        self._start: float | None = None
        self._pcm = [
            struct.pack(
                "<960h",
                *(
                    int(8000 * math.sin(2 * math.pi * hz * (k * 960 + i) / 48000))
                    for i in range(960)
                ),
            )
            for k in range(50)
        ]

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self._n * 0.02 - loop.time()))
        frame = AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(self._pcm[self._n % 50])
        frame.sample_rate = 48000
        frame.pts = self._n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


def munge_offer(sdp: str) -> str:
    """Renumber payload types and extension ids, as a different browser would."""
    pt_map = {96: 111, 97: 120, 98: 121, 99: 122, 100: 123, 101: 124, 102: 125}
    ext_map = {1: 9, 2: 10, 3: 11}

    def pt(value: str) -> str:
        return str(pt_map.get(int(value), int(value)))

    lines = []
    for line in sdp.splitlines():
        if line.startswith(("m=audio", "m=video")):
            parts = line.split(" ")
            line = " ".join(parts[:3] + [pt(p) for p in parts[3:]])
        elif m := re.match(r"a=(rtpmap|fmtp|rtcp-fb):(\d+)(.*)", line):
            rest = re.sub(r"apt=(\d+)", lambda a: f"apt={pt(a.group(1))}", m.group(3))
            line = f"a={m.group(1)}:{pt(m.group(2))}{rest}"
        elif m := re.match(r"a=extmap:(\d+)(.*)", line):
            line = f"a=extmap:{ext_map.get(int(m.group(1)), int(m.group(1)))}{m.group(2)}"
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def vp8_keyframe(payload: bytes) -> bool:
    """True if this VP8 RTP payload starts a key frame (RFC 7741 descriptor, then P bit)."""
    if not payload or not payload[0] & 0x10 or payload[0] & 0x07:
        return False  # not the start of partition 0
    pos = 1
    if payload[0] & 0x80 and len(payload) > 1:
        x = payload[1]
        pos = 2
        if x & 0x80:
            pos += 2 if len(payload) > pos and payload[pos] & 0x80 else 1
        if x & 0x40:
            pos += 1
        if x & 0x30:
            pos += 1
    return pos < len(payload) and payload[pos] & 0x01 == 0


class Client:
    """One simulated browser: an aiortc PeerConnection plus plaintext taps."""

    def __init__(self, name: str, probe: Probe) -> None:
        self.name = name
        self.probe = probe
        self.addresses = LOOPBACK  # its host candidates (["::1"]: a client over IPv6)
        self.pc: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.sent_rtp: list[rtp.RtpPacket] = []
        self.sent_raw: set[bytes] = set()
        self.received_rtp: list[rtp.RtpPacket] = []
        self.received_rtcp: list[rtcp.RtcpPacket] = []
        self.frames: dict[str, list[Any]] = {"audio": [], "video": []}
        self.dtls: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._consume)
        self.pc.on("connectionstatechange", probe.poke)

    async def offer(self, *, munge: bool = False) -> str:
        with ice.host_addresses(self.addresses):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = str(self.pc.localDescription.sdp)
        return munge_offer(sdp) if munge else sdp

    async def accept_answer(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        # The BUNDLE transport is final now and DTLS has not started: tap it.
        self.dtls = self.pc.getTransceivers()[0].receiver.transport
        self._tap(self.dtls)

    def _tap(self, dtls: Any) -> None:
        send_rtp = dtls._send_rtp
        handle_rtp = dtls._handle_rtp_data
        handle_rtcp = dtls._handle_rtcp_data

        async def sending(data: bytes) -> None:
            if not rtp.is_rtcp(data):
                self.sent_rtp.append(rtp.parse_rtp(data))
                self.sent_raw.add(bytes(data))
            await send_rtp(data)

        async def receiving_rtp(data: bytes, arrival_time_ms: int) -> None:
            self.received_rtp.append(rtp.parse_rtp(data))
            self.probe.poke()
            await handle_rtp(data, arrival_time_ms)

        async def receiving_rtcp(data: bytes) -> None:
            self.received_rtcp.extend(rtcp.parse_rtcp(data))
            self.probe.poke()
            await handle_rtcp(data)

        dtls._send_rtp = sending
        dtls._handle_rtp_data = receiving_rtp
        dtls._handle_rtcp_data = receiving_rtcp

    def _consume(self, track: Any) -> None:
        async def run() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    self.frames[track.kind].append(await track.recv())
                    self.probe.poke()

        self._tasks.append(asyncio.ensure_future(run()))

    def plis_for(self, media_ssrc: int) -> int:
        return sum(
            1
            for p in self.received_rtcp
            if isinstance(p, rtcp.PictureLossIndication) and p.media_ssrc == media_ssrc
        )

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


def customer_client(probe: Probe) -> Client:
    client = Client("customer", probe)
    client.pc.addTrack(SyntheticAudio(440))
    client.pc.addTrack(SyntheticVideo())
    return client


def agent_client(name: str, probe: Probe) -> Client:
    client = Client(name, probe)
    client.pc.addTransceiver("video", "recvonly")  # video first: MIDs differ from the customer's
    client.pc.addTransceiver(SyntheticAudio(660), "sendrecv")
    return client


async def connect(
    client: Client, answer_for: Callable[[str], Awaitable[str]], *, munge: bool = False
) -> dict[str, MediaLine]:
    """Offer, get the server's answer, apply it. Returns what was negotiated, by kind
    (from the server's side: recv_ssrc is what the client sends on)."""
    offer = await client.offer(munge=munge)
    answer = await answer_for(offer)
    await client.accept_answer(answer)
    return {line.kind: line for line in negotiated_media(offer, answer)}


def binding_request(
    transaction_id: bytes, username: str, password: str, *, use_candidate: bool = False
) -> bytes:
    """An ICE connectivity check as a browser sends it (built with aioice's STUN)."""
    message = stun.Message(
        message_method=stun.Method.BINDING,
        message_class=stun.Class.REQUEST,
        transaction_id=transaction_id,
    )
    message.attributes["USERNAME"] = username
    message.attributes["PRIORITY"] = 0x6E0001FF
    message.attributes["ICE-CONTROLLING"] = 0x1234
    if use_candidate:
        message.attributes["USE-CANDIDATE"] = None
    message.add_message_integrity(password.encode())
    message.add_fingerprint()
    return bytes(message)
