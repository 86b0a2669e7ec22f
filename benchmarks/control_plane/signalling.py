"""Many live sessions' signalling on one node, no media.

Each session is made as the pages make it (``sessions.open_live``: the agent signs in,
creates it, the customer opens the link and consents), then both sides send what the
pages send while a session runs (``Traffic``): a quality report every 2 s and a ping
every 10 s each way, a chat line every 30 s each way, and the agent draws a stroke every
15 s (``mark_start``, 20 batches of points 50 ms apart, ``mark_end``; live marks fade
after 4 s). Sessions are dealt to several client processes, both sides of a session in
one, so each relayed message is timed from its sender's send to its receiver's read.

Reported: the node's RSS per session (after all are up, less before any), the event
loop's lag (``server.LagSampler``) with no session, while they are being opened, and
while they run, and the delivery latency p50/p99 per kind of message.
"""

from __future__ import annotations

import asyncio
import random
import sys
from array import array
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.control_plane.server import agent_email, cpu_between, running_node
from benchmarks.control_plane.sessions import Live, open_live, sign_in
from benchmarks.control_plane.web import (
    AGENTS,
    CUSTOMERS,
    Browser,
    address,
    now_ns,
    use_many_connections,
)
from benchmarks.fleet import Fleet, percentiles

FAMILIES = ("quality", "marks", "chat")
MARKS = frozenset({"mark_start", "mark_add", "mark_end"})


@dataclass(frozen=True)
class Traffic:
    """What one live session's pages send (seconds between; per side unless noted)."""

    quality_every: float = 2.0  # the pages' REPORT_EVERY_MS
    ping_every: float = 10.0  # live.js's PING_EVERY_MS
    chat_every: float = 30.0
    stroke_every: float = 15.0  # the agent only
    stroke_batches: int = 20  # mark_add messages, annotate.js's SEND_EVERY_MS apart
    batch_every: float = 0.05
    fade: float = 4.0

    def per_session(self) -> float:
        """Messages a second one session's two sides send between them."""
        per_side = 1 / self.quality_every + 1 / self.ping_every + 1 / self.chat_every
        return 2 * per_side + (self.stroke_batches + 2) / self.stroke_every


@dataclass
class Tally:
    """One worker's counts and delivery latencies (ns) within the recorded window."""

    sent: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    unmatched: int = 0
    latencies: dict[str, array[int]] = field(
        default_factory=lambda: {f: array("q") for f in FAMILIES}
    )


class Pair:
    """One session's two sides, and the send times of what is on its way to each."""

    def __init__(self, live: Live, tally: Tally, window: list[int]) -> None:
        self.live, self.tally, self.window = live, tally, window
        self.on_way: dict[tuple[str, str], deque[int]] = {
            (to, f): deque() for to in ("agent", "customer") for f in ("quality", "marks")
        }
        live.agent_ws.listen(lambda m: self.received("agent", m))
        live.customer_ws.listen(lambda m: self.received("customer", m))

    def recorded(self, stamp: int) -> bool:
        return self.window[0] <= stamp < self.window[1]

    def send(self, side: str, kind: str, family: str | None, **fields: object) -> None:
        stamp = now_ns()
        if family == "chat":
            fields["text"] = f"{stamp} is when I wrote this"
        elif family is not None:
            self.on_way[("customer" if side == "agent" else "agent", family)].append(stamp)
        if family is not None and self.recorded(stamp):
            self.tally.sent[family] += 1
        socket = self.live.agent_ws if side == "agent" else self.live.customer_ws
        socket.send(kind, **fields)

    def received(self, side: str, message: dict[str, Any]) -> None:
        kind, at = message["type"], now_ns()
        if kind == "error":
            self.tally.errors[str(message.get("code"))] += 1
            return
        if kind == "chat":
            if message.get("role") == side:
                return  # the sender's own copy
            family, stamp = "chat", int(str(message["text"]).split(" ", 1)[0])
        elif kind == "quality" or kind in MARKS:  # not "marks", a joiner's catch-up
            family = "marks" if kind in MARKS else kind
            waiting = self.on_way[(side, family)]
            if not waiting:
                self.tally.unmatched += 1
                return
            stamp = waiting.popleft()
        else:
            return
        if self.recorded(stamp):
            self.tally.delivered[family] += 1
            self.tally.latencies[family].append(at - stamp)

    async def every(self, side: str, period: float, act: Any, until: float) -> None:
        """``act()`` every ``period`` s from a random phase, until ``until`` (loop time)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + random.uniform(0, period)
        while next_at < until:
            await asyncio.sleep(next_at - loop.time())
            await act()
            next_at += period

    async def drive(self, traffic: Traffic, until: float) -> None:
        n = 0

        async def quality(side: str) -> None:
            self.send(side, "quality", "quality", level="good", kbps_in=800, kbps_out=900,
                      loss=0.1, rtt=40)  # fmt: skip

        async def ping(side: str) -> None:
            self.send(side, "ping", None)

        async def chat(side: str) -> None:
            nonlocal n
            n += 1
            self.send(side, "chat", "chat", ref=f"{side}-{n}")

        async def stroke() -> None:
            nonlocal n
            n += 1
            mark = f"stroke-{n}"
            self.send("agent", "mark_start", "marks", id=mark, tool="pen", color="#ff3366",
                      pts=[[0.5, 0.5]], fade=traffic.fade)  # fmt: skip
            for i in range(traffic.stroke_batches):
                await asyncio.sleep(traffic.batch_every)
                pts = [[0.5 + 0.01 * i, 0.5 + 0.005 * j] for j in range(3)]
                self.send("agent", "mark_add", "marks", id=mark, pts=pts)
            self.send("agent", "mark_end", "marks", id=mark)

        jobs = [self.every("agent", traffic.stroke_every, stroke, until)]
        for side in ("agent", "customer"):
            jobs += [
                self.every(side, traffic.quality_every, lambda s=side: quality(s), until),
                self.every(side, traffic.ping_every, lambda s=side: ping(s), until),
                self.every(side, traffic.chat_every, lambda s=side: chat(s), until),
            ]
        await asyncio.gather(*jobs)


class Worker:
    """One client process's sessions (``benchmarks.fleet`` handler)."""

    def __init__(self, base_url: str) -> None:
        use_many_connections()
        self.base_url = base_url
        self.tally = Tally()
        self.window = [0, 0]  # send times (ns) whose messages are recorded
        self.pairs: list[Pair] = []

    async def on_open(self, plan: list[tuple[int, list[int]]]) -> int:
        """For each (agent, its sessions): the agent signs in and opens them."""
        gate = asyncio.Semaphore(8)

        async def agent_opens(agent: int, sessions: list[int]) -> None:
            async with gate:
                browser = Browser(self.base_url, address(AGENTS, agent))
                await sign_in(browser, agent_email(agent))
                for s in sessions:
                    live = await open_live(browser, address(CUSTOMERS, s))
                    self.pairs.append(Pair(live, self.tally, self.window))

        await asyncio.gather(*(agent_opens(a, s) for a, s in plan))
        return len(self.pairs)

    async def on_run(self, times: tuple[int, int, int, int]) -> dict[str, Any]:
        """Traffic from ``start`` to ``end`` (ns), recording what is sent in
        [``record_from``, ``record_to``); the tally once the last messages are in."""
        start, record_from, record_to, end = times
        self.window[:] = [record_from, record_to]
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, (start - now_ns()) / 1e9))
        until = loop.time() + (end - now_ns()) / 1e9
        await asyncio.gather(*(p.drive(Traffic(), until) for p in self.pairs))
        await asyncio.sleep(2.0)  # what is on its way arrives
        t = self.tally
        return {
            "sent": dict(t.sent),
            "delivered": dict(t.delivered),
            "errors": dict(t.errors),
            "unmatched": t.unmatched,
            "latencies": {f: v.tobytes() for f, v in t.latencies.items()},
        }

    async def on_close(self, _: None) -> str:
        for pair in self.pairs:
            pair.live.close()
        return "ok"


def merge(replies: list[dict[str, Any]]) -> dict[str, Any]:
    """The workers' tallies as one: counts summed, latencies as percentiles (ms)."""
    out: dict[str, Any] = {"sent": Counter(), "delivered": Counter(), "errors": Counter()}
    samples: dict[str, list[int]] = {f: [] for f in FAMILIES}
    for reply in replies:
        for key in ("sent", "delivered", "errors"):
            out[key].update(reply[key])
        for family, raw in reply["latencies"].items():
            samples[family] += array("q", raw)
    out = {k: dict(v) for k, v in out.items()}
    out["unmatched"] = sum(r["unmatched"] for r in replies)
    out["latency_ms"] = {f: percentiles(v, 1e6) for f, v in samples.items()}
    out["latency_ms"]["all"] = percentiles([x for v in samples.values() for x in v], 1e6)
    return out


def plan(sessions: int, per_agent: int, workers: int) -> list[list[tuple[int, list[int]]]]:
    """Agents (with their sessions) dealt to workers in turn."""
    plans: list[list[tuple[int, list[int]]]] = [[] for _ in range(workers)]
    for agent, first in enumerate(range(0, sessions, per_agent)):
        own = list(range(first, min(first + per_agent, sessions)))
        plans[agent % workers].append((agent, own))
    return plans


def traffic_model() -> dict[str, Any]:
    return {**asdict(Traffic()), "messages_per_session_s": Traffic().per_session()}


async def run(
    sessions: int, per_agent: int, processes: int, warm_s: float, record_s: float
) -> dict[str, Any]:
    agents = -(-sessions // per_agent)
    async with (
        running_node(agents, "signalling") as node,
        Fleet(Worker, [(node.base_url,)] * processes) as fleet,
    ):
        started = now_ns()
        await asyncio.sleep(3.0)
        idle_lag, rss_before = node.lag(started, now_ns()), node.rss_kib()
        opening = now_ns()
        opened = sum(await fleet.each("open", plan(sessions, per_agent, processes)))
        open_s = (now_ns() - opening) / 1e9
        open_lag = node.lag(opening, now_ns())
        await asyncio.sleep(3.0)  # settled: what opening them left behind is freed
        rss_up, fds_up = node.rss_kib(), node.open_fds()
        print(f"signalling: {opened} sessions open in {open_s:.0f} s; RSS "
              f"{rss_before // 1024} -> {rss_up // 1024} MiB", file=sys.stderr)  # fmt: skip
        start = now_ns() + 1_000_000_000
        window = (start + int(warm_s * 1e9), start + int((warm_s + record_s) * 1e9))
        cpu = asyncio.ensure_future(node.cpu_between(*window))
        clients_cpu = asyncio.ensure_future(cpu_between(fleet.cpu, *window))
        replies = await fleet.all("run", (start, *window, window[1]))
        run_lag, cpu_s, clients_s = node.lag(*window), await cpu, await clients_cpu
        rss_after = node.rss_kib()
    tally = merge(replies)
    return {
        "sessions": opened,
        "agents": agents,
        "client_processes": processes,
        "traffic": traffic_model(),
        "record_s": record_s,
        "open_s": open_s,
        "rss_before_kib": rss_before,
        "rss_up_kib": rss_up,
        "rss_after_kib": rss_after,
        "kib_per_session": (rss_up - rss_before) / max(opened, 1),
        "fds_up": fds_up,
        "lag_ms": {"idle": idle_lag, "opening": open_lag, "running": run_lag},
        "server_cpu": cpu_s / record_s,
        "clients_cpu": clients_s / record_s,
        "messages_per_s": sum(tally["sent"].values()) / record_s,
        **tally,
    }
