"""Load generator: a real ``livelens serve``, N live sessions, server CPU per packet.

``python -m benchmarks.loadgen`` starts the server (ephemeral ports, a temp data dir)
once as ``livelens serve`` (path "rust", the product: the Rust media port and relay) and
once as ``benchmarks.baseline_server`` (path "aiortc", the baseline: the same server on
aiortc's sockets with the Python reference relay, packets through Python). For each session
an agent signs in, creates the session, the customer joins by token and consents, both
over the real HTTP API and WebSockets. Then an aiortc customer (real ICE, DTLS-SRTP)
sends pre-built 1,200-byte VP8 RTP packets at a fixed rate, injected as plaintext into
its DTLS transport (no encoder), and an aiortc agent counts what arrives at its DTLS
transport (no decoder). Sessions are added up to N = 1, 2, 4, 8; at each N the server
process's CPU time (utime + stime, /proc/<pid>/stat) over an idle window and a loaded
window, divided by the packets the agents received, is the cost per forwarded packet
(the per-thread scheduler runtime is summed where available, for ns precision).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from livelens.media import ice
from livelens.media.negotiation import negotiated_media
from tests.api.harness import Client
from tests.api.signalling import Signal, roles
from tests.processes import stop, wait_until_serving

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "loadgen-password-42"
TENANT = "Loadgen"
PACKET_BYTES = 1200
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time of a whole process (every thread, the Rust data plane's too): the sum of
    the scheduler's per-thread runtime (ns precision) where the kernel exposes it, else
    utime + stime from /proc/<pid>/stat (10 ms ticks: too coarse for the Rust path)."""
    total, exact = 0.0, True
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            sched = (task / "sched").read_text()
        except OSError:
            exact = False
            break
        line = next((x for x in sched.splitlines() if x.startswith("se.sum_exec_runtime")), None)
        if line is None:
            exact = False
            break
        total += float(line.split(":")[1]) / 1000
    if exact:
        return total
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


class ServerProcess:
    """A server the bench runs in a subprocess: its pid (for CPU time) and its stop."""

    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class LiveServer(ServerProcess):
    """``livelens serve`` (or the baseline) in a subprocess with its own data dir and ports."""

    def __init__(self, media_path: str, data_dir: Path) -> None:
        self.media_path = media_path
        self.data_dir = data_dir
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "livelens", *args, "--data-dir", str(self.data_dir)],
            check=True, capture_output=True, cwd=REPO, timeout=60,
        )  # fmt: skip

    def start(self, agents: int) -> None:
        self._cli("tenant", "create", "--name", TENANT, "--region", "eu",
                  "--admin-email", "admin@loadgen.test", "--admin-password", PASSWORD)  # fmt: skip
        for i in range(agents):
            self._cli("user", "create", "--tenant", TENANT, "--email", f"agent{i}@loadgen.test",
                      "--role", "agent", "--password", PASSWORD)  # fmt: skip
        log = (self.data_dir / "serve.log").open("wb")
        # The baseline is the reference relay, which runs on the aiortc path: not a
        # server option, so the same server is started through benchmarks.baseline_server.
        module = "benchmarks.baseline_server" if self.media_path == "aiortc" else "livelens"
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "serve", "--data-dir", str(self.data_dir),
             "--host", "127.0.0.1", "--port", str(self.port), "--media-port", "0"],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        wait_until_serving(self.base_url, self.process)


class Silent(MediaStreamTrack):
    """A video track that never yields a frame: the m-line and SSRC without an encoder."""

    kind = "video"

    async def recv(self) -> Any:
        await asyncio.Event().wait()


def vp8_packet(payload_type: int, ssrc: int) -> bytearray:
    """A 1,200-byte RTP packet: VP8 descriptor and keyframe header, then filler."""
    packet = bytearray(struct.pack("!BBHII", 0x80, 0x80 | payload_type, 0, 0, ssrc))
    packet += bytes([0x10, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01, 0])
    packet += b"\xab" * (PACKET_BYTES - len(packet))
    return packet


class RtpSource(Protocol):
    """What keeps a publisher's pre-built packet, its sequence number and its count."""

    packet: bytearray
    seq: int
    sent: int


# A send-time stamp at the end of a packet's payload (``stamp=True``), which servers
# forward untouched: the magic, then CLOCK_MONOTONIC in ns (one clock for every process
# on the machine), so a receiver can tell its one-way latency.
STAMP_MAGIC = b"LLts"
STAMP = struct.Struct("!4sQ")


def sent_at(packet: bytes) -> int | None:
    """The send time stamped into ``packet`` (ns, CLOCK_MONOTONIC), if it carries one."""
    if len(packet) < STAMP.size:
        return None
    magic, at = STAMP.unpack_from(packet, len(packet) - STAMP.size)
    return int(at) if magic == STAMP_MAGIC else None


async def send_rtp(source: RtpSource, dtls: Any, rate: float, *, stamp: bool = False) -> None:
    """Send ``rate`` packets/s in 10 ms ticks, straight into ``dtls``'s SRTP layer (no
    encoder), numbering them on from ``source.seq`` (SRTP refuses a replayed index);
    ``stamp``: each with its send time (:func:`sent_at`)."""
    loop = asyncio.get_running_loop()
    start, due = loop.time(), 0
    end = len(source.packet) - STAMP.size
    while True:
        await asyncio.sleep(0.01)
        target = int((loop.time() - start) * rate)
        while due < target:
            source.seq = (source.seq + 1) & 0xFFFF
            struct.pack_into("!HI", source.packet, 2, source.seq, (source.seq * 3000) & 0xFFFFFFFF)
            if stamp:
                STAMP.pack_into(source.packet, end, STAMP_MAGIC, time.monotonic_ns())
            await dtls._send_rtp(bytes(source.packet))
            due += 1
            source.sent += 1


@dataclass
class Session:
    agent_pc: Any
    customer_pc: Any
    customer_dtls: Any
    packet: bytearray
    agent_ws: Signal
    customer_ws: Signal
    received: int = 0
    sent: int = 0
    seq: int = 0
    sender: asyncio.Task[None] | None = None

    async def send_at(self, rate: float) -> None:
        await send_rtp(self, self.customer_dtls, rate)

    async def close(self) -> None:
        if self.sender is not None:
            self.sender.cancel()
        self.agent_ws.close()
        self.customer_ws.close()
        await self.agent_pc.close()
        await self.customer_pc.close()


def _dtls(pc: Any) -> Any:
    return pc.getTransceivers()[0].receiver.transport


async def open_session(
    base_url: str, index: int, scopes: tuple[str, ...] = ("camera", "microphone")
) -> Session:
    """Sign in, create a session, join, consent (to ``scopes``: add "recording" where the
    account records every session), negotiate both peers; returns when the server says
    the session is live and both DTLS transports are connected."""
    agent = Client(base_url)
    assert (await agent.login(f"agent{index}@loadgen.test", PASSWORD)).status == 200
    created = (await agent.post("/api/sessions")).body
    customer = Client(base_url)
    token = created["join_url"].split("#", 1)[1]
    assert (await customer.post("/api/join", {"token": token})).status == 200
    agent_ws = await Signal.open(agent, f"/ws/agent/{created['session']['id']}")
    customer_ws = await Signal.open(customer, "/ws/customer")
    await agent_ws.next("state", where=lambda m: roles(m) == {"agent", "customer"})

    agent_pc: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    agent_pc.addTransceiver("video", "recvonly")
    customer_pc: Any = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    customer_pc.addTransceiver(Silent(), "sendonly")

    async def negotiate(pc: Any, ws: Signal) -> tuple[str, str]:
        with ice.host_addresses(["127.0.0.1"]):
            await pc.setLocalDescription(await pc.createOffer())
        offer = str(pc.localDescription.sdp)
        ws.send("offer", sdp=offer)
        answer = str((await ws.next("answer", within=20))["sdp"])
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return offer, answer

    await negotiate(agent_pc, agent_ws)
    customer_ws.send("consent", accept=True, scopes=list(scopes))
    await agent_ws.next("state", status="consented")
    offer, answer = await negotiate(customer_pc, customer_ws)
    await agent_ws.next("state", status="live", within=20)

    video = next(line for line in negotiated_media(offer, answer) if line.kind == "video")
    vp8 = next(c for c in video.codecs if c.mime_type == "video/vp8")
    assert video.recv_ssrc is not None
    session = Session(
        agent_pc, customer_pc, _dtls(customer_pc), vp8_packet(vp8.payload_type, video.recv_ssrc),
        agent_ws, customer_ws,
    )  # fmt: skip

    # The agent counts what its DTLS transport unprotects and decodes nothing.
    async def count(data: bytes, arrival_time_ms: int) -> None:
        session.received += 1

    _dtls(agent_pc)._handle_rtp_data = count
    for pc in (agent_pc, customer_pc):
        await wait_connected(pc)
    return session


async def wait_connected(pc: Any) -> None:
    """Until ``pc`` is connected (ICE and DTLS done), for at most 20 s."""
    done = asyncio.Event()

    def changed() -> None:
        if pc.connectionState == "connected":
            done.set()

    pc.on("connectionstatechange", changed)
    changed()
    async with asyncio.timeout(20):
        await done.wait()


@dataclass
class Point:
    media_path: str
    sessions: int
    rate_per_session: float
    seconds: float
    sent: int
    forwarded: int
    cpu_s: float
    idle_cpu_s: float
    idle_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def us_per_packet(self) -> float:
        return self.cpu_s / max(self.forwarded, 1) * 1e6

    @property
    def us_per_packet_net(self) -> float:
        """Without what the server burns with the same sessions up and no media."""
        idle = self.idle_cpu_s / self.idle_seconds * self.seconds
        return max(self.cpu_s - idle, 0.0) / max(self.forwarded, 1) * 1e6


async def measure(server: LiveServer, sessions: list[Session], rate: float, seconds: float,
                  idle_seconds: float) -> Point:  # fmt: skip
    """Idle window (sessions up, no media), then the loaded window after a warm-up."""
    cpu0 = cpu_seconds(server.pid)
    await asyncio.sleep(idle_seconds)
    idle = cpu_seconds(server.pid) - cpu0
    for s in sessions:
        s.sender = asyncio.ensure_future(s.send_at(rate))
    await asyncio.sleep(1.0)  # warm-up: the relay has seen each stream, queues are steady
    received0, sent0 = sum(s.received for s in sessions), sum(s.sent for s in sessions)
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, t1 = cpu_seconds(server.pid), time.monotonic()
    received1, sent1 = sum(s.received for s in sessions), sum(s.sent for s in sessions)
    for s in sessions:
        if s.sender is not None:
            s.sender.cancel()
            s.sender = None
    await asyncio.sleep(0.3)
    return Point(server.media_path, len(sessions), rate, t1 - t0, sent1 - sent0,
                 received1 - received0, cpu1 - cpu0, idle, idle_seconds)  # fmt: skip


async def run_path(media_path: str, counts: list[int], rate: float, seconds: float,
                   idle_seconds: float) -> list[Point]:  # fmt: skip
    points: list[Point] = []
    with tempfile.TemporaryDirectory(prefix="livelens-loadgen-") as tmp:
        server = LiveServer(media_path, Path(tmp))
        server.start(max(counts))
        sessions: list[Session] = []
        try:
            for n in counts:
                while len(sessions) < n:
                    sessions.append(await open_session(server.base_url, len(sessions)))
                point = await measure(server, sessions, rate, seconds, idle_seconds)
                print(f"  {media_path:6} N={n}: {point.forwarded / point.seconds:.0f} pkt/s "
                      f"forwarded of {point.sent / point.seconds:.0f} sent, server CPU "
                      f"{point.cpu_s / point.seconds:.1%} -> {point.us_per_packet:.1f} us/packet "
                      f"({point.us_per_packet_net:.1f} net of idle)", file=sys.stderr)  # fmt: skip
                points.append(point)
        finally:
            for s in sessions:
                await s.close()
            server.stop()
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,2,4,8", help="session counts, in order")
    parser.add_argument("--rate", type=float, default=500.0, help="packets/s per customer")
    parser.add_argument("--seconds", type=float, default=5.0, help="loaded window per point")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--paths", default="rust,aiortc")
    parser.add_argument("--out", type=Path, default=REPO / "build/bench/load.json")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",")]
    points: list[Point] = []
    for path in args.paths.split(","):
        points += asyncio.run(run_path(path, counts, args.rate, args.seconds, args.idle_seconds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {**asdict(p), "us_per_packet": p.us_per_packet, "us_per_packet_net": p.us_per_packet_net}
        for p in points
    ]
    args.out.write_text(json.dumps(rows, indent=1))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
