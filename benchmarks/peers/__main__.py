"""``python -m benchmarks.peers``: LiveLens and Janus side by side, the same clients, one run.

Scenarios, on each server in turn: N sessions of one publisher to one subscriber (N
grows until the loss reaches 0.1 %), and one publisher to K subscribers (Janus only: a
LiveLens session has one agent). The clients are spread over several processes
(``benchmarks.peers.clients``). For each point: the server's CPU per forwarded packet
(every thread, /proc, net of an idle window with the same sessions up), the loss over
the whole sending period, the one-way latency p50/p99 (publisher's send to subscriber's
DTLS transport, stamped in each packet) and the clients' own CPU, so a point the clients
could not drive is visible as such. ``direct`` runs the same clients with no server (each
publisher's PeerConnection connected to its subscriber's): the latency floor, from which
each server's *added* latency is read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.fleet import Fleet, percentiles, pin
from benchmarks.loadgen import REPO, LiveServer, cpu_seconds
from benchmarks.peers.clients import Worker
from benchmarks.peers.janus import JanusServer
from benchmarks.peers.livekit import LiveKitServer
from benchmarks.peers.table import passed


@dataclass
class Figure:
    server: str
    scenario: str  # "sessions" (N x 1 -> 1) or "fanout" (1 -> K)
    groups: int
    subscribers: int
    seconds: float
    sent: int
    received: int
    forwarded: int  # received within the CPU window
    cpu_s: float
    idle_cpu_s: float
    idle_seconds: float
    client_cpu_s: float
    latency_us: dict[str, float]  # one-way, over the CPU window: p50, p99, max, samples

    @property
    def loss(self) -> float:
        expected = self.sent * self.subscribers
        return max(expected - self.received, 0) / max(expected, 1)

    @property
    def us_per_packet_net(self) -> float:
        idle = self.idle_cpu_s / self.idle_seconds * self.seconds
        return max(self.cpu_s - idle, 0.0) / max(self.forwarded, 1) * 1e6


def as_row(f: Figure) -> dict[str, Any]:
    return {**asdict(f), "loss": f.loss, "us_per_packet_net": f.us_per_packet_net}


class Clients(Fleet):
    """Client processes (``clients.Worker``); groups are dealt to them in turn."""

    def __init__(self, server: str, base_url: str, processes: int, cpus: set[int]) -> None:
        super().__init__(Worker, [(server, base_url)] * processes, cpus)
        self.groups = 0

    async def grow(self, groups: int, subscribers: int, first_index: int = 0) -> None:
        plan: list[list[tuple[int, int]]] = [[] for _ in self.pipes]
        while self.groups < groups:
            plan[self.groups % len(self.pipes)].append((first_index + self.groups, subscribers))
            self.groups += 1
        await self.each("open", plan)

    async def counts(self) -> tuple[int, int]:
        replies = await self.all("counts")
        return sum(r[0] for r in replies), sum(r[1] for r in replies)

    async def latencies(self) -> list[int]:
        """Every worker's one-way latencies (ns) since the last call."""
        taken: list[int] = []
        for raw in await self.all("latencies"):
            taken += array("q", raw)
        return taken


async def snapshot(pid: int, clients: Clients) -> tuple[float, float, float, int, int]:
    """Time, server CPU, clients' CPU, packets sent and received, at one moment: the clients
    answer through a pipe, so the clocks are read on both sides of the question and
    averaged (a busy client answers late; the window must not count its delay)."""
    before = (time.monotonic(), cpu_seconds(pid), clients.cpu())
    sent, received = await clients.counts()
    after = (time.monotonic(), cpu_seconds(pid), clients.cpu())
    t, server, client = ((a + b) / 2 for a, b in zip(before, after, strict=True))
    return t, server, client, sent, received


async def measure(
    name: str,
    scenario: str,
    pid: int,
    clients: Clients,
    subscribers: int,
    rate: float,
    seconds: float,
    idle_seconds: float,
) -> Figure:
    cpu0 = cpu_seconds(pid)
    await asyncio.sleep(idle_seconds)
    idle = cpu_seconds(pid) - cpu0
    await clients.all("start", rate)
    await asyncio.sleep(1.0)  # warm-up: streams set up (a server may drop a stream's first packets)
    t0, cpu0, client0, sent0, received0 = await snapshot(pid, clients)
    await clients.latencies()  # those of the warm-up go
    await asyncio.sleep(seconds)
    t1, cpu1, client1, _, window1 = await snapshot(pid, clients)
    latency = percentiles(await clients.latencies(), 1000)  # ns -> µs
    await clients.all("stop")
    await asyncio.sleep(0.5)  # what is in flight arrives
    sent1, received1 = await clients.counts()
    figure = Figure(
        name,
        scenario,
        clients.groups,
        subscribers,
        t1 - t0,
        sent1 - sent0,
        received1 - received0,
        window1 - received0,
        cpu1 - cpu0,
        idle,
        idle_seconds,
        client1 - client0,
        latency,
    )
    print(
        f"  {name:8} {scenario:8} groups={figure.groups} subscribers={subscribers}: "
        f"{figure.forwarded / figure.seconds:,.0f} pkt/s forwarded, loss {figure.loss:.3%}, "
        f"server {figure.us_per_packet_net:.1f} us/packet net of idle, latency p50 "
        f"{latency['p50']:.0f} us p99 {latency['p99']:.0f} us, clients "
        f"{figure.client_cpu_s / figure.seconds:.0%} CPU",
        file=sys.stderr,
    )
    return figure


@contextmanager
def running(name: str, tmp: Path, agents: int, event_loops: int) -> Iterator[tuple[Any, str]]:
    """The server under test, started and stopped: (server, its base URL)."""
    if name == "direct":  # no server: its "CPU" is this idle process's
        yield Direct(), ""
    elif name == "livelens":
        live = LiveServer("rust", tmp)
        live.start(agents)
        try:
            yield live, live.base_url
        finally:
            live.stop()
    else:
        peer: JanusServer | LiveKitServer = (
            JanusServer(tmp, event_loops) if name == "janus" else LiveKitServer(tmp)
        )
        peer.start()
        try:
            asyncio.run(peer.wait_ready())
            yield peer, peer.base_url if isinstance(peer, JanusServer) else peer.url
        finally:
            peer.stop()


class Direct:
    """Stands in for a server where there is none (``direct``)."""

    pid = os.getpid()

    def describe(self) -> str:
        return (
            "no server: each publisher's PeerConnection connected straight to its"
            " subscriber's (the same clients, processes and packets), the floor under every"
            " server's latency"
        )


def describe(name: str, server: Any) -> str:
    if name != "livelens":
        return str(server.describe())
    return (
        "livelens serve, Rust media port (one data-plane thread), default settings; the"
        " agent's WebSockets and the HTTP API as in production; VP8"
    )


async def scenarios(
    name: str, server: Any, base_url: str, args: argparse.Namespace
) -> list[Figure]:
    figures: list[Figure] = []
    if name != "direct":
        pin(server.pid, args.server_cpus)
    clients = Clients(name, base_url, args.processes, args.client_cpus)
    try:
        for n in args.sessions:
            await clients.grow(n, 1)
            step = (name, "sessions", server.pid, clients, 1, args.rate, args.seconds)
            figure = await measure(*step, args.idle_seconds)
            if not passed(as_row(figure), args.rate):  # once more: a shared machine's hiccup
                again = await measure(*step, args.idle_seconds)
                figure = again if passed(as_row(again), args.rate) else figure
            figures.append(figure)
            if not passed(as_row(figure), args.rate):
                break
    finally:
        await clients.close()
    if name in ("livelens", "direct"):  # one subscriber per publisher
        return figures
    for k in args.fanout:
        clients = Clients(name, base_url, 1, args.client_cpus)
        try:
            await clients.grow(1, k, first_index=1000 + k)
            figures.append(
                await measure(
                    name,
                    "fanout",
                    server.pid,
                    clients,
                    k,
                    args.rate,
                    args.seconds,
                    args.idle_seconds,
                )
            )
        finally:
            await clients.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,4,16,32,64", help="N, in order, up to the loss")
    parser.add_argument("--fanout", default="1,4,8,16", help="K subscribers of one publisher")
    parser.add_argument("--rate", type=float, default=500.0, help="packets/s per publisher")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--server-cpus", default="", help="pin the server, e.g. 0 (default: not)")
    parser.add_argument("--client-cpus", default="", help="pin the clients, e.g. 1")
    parser.add_argument(
        "--servers",
        default="livelens,janus,direct",
        help="livelens, janus, livekit; direct: no server, the latency floor",
    )
    parser.add_argument("--janus-event-loops", type=int, default=0, help="0: Janus's default")
    parser.add_argument("--out", type=Path, default=REPO / "build/bench/peers.json")
    args = parser.parse_args()
    args.sessions = [int(n) for n in args.sessions.split(",")]
    args.server_cpus = {int(c) for c in args.server_cpus.split(",") if c}
    args.client_cpus = {int(c) for c in args.client_cpus.split(",") if c}
    args.fanout = [int(k) for k in args.fanout.split(",") if k]
    result: dict[str, Any] = {
        "rate_per_publisher": args.rate,
        "seconds": args.seconds,
        "client_processes": args.processes,
        "server_cpus": sorted(args.server_cpus),
        "client_cpus": sorted(args.client_cpus),
        "servers": {},
        "figures": [],
    }
    for name in args.servers.split(","):
        with (
            tempfile.TemporaryDirectory(prefix=f"livelens-peers-{name}-") as tmp,
            running(name, Path(tmp), max(args.sessions), args.janus_event_loops) as (server, url),
        ):
            result["servers"][name] = describe(name, server)
            print(f"== {name}: {result['servers'][name]}", file=sys.stderr)
            figures = asyncio.run(scenarios(name, server, url, args))
        result["figures"] += [as_row(f) for f in figures]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
