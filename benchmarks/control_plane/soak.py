"""Session churn for a while, watching the node for leaks.

``lanes`` agents each run one session after another for the soak's length: create it,
the customer (a new address each time) opens the link and consents, both sides talk for
about a second (a chat line and a quality report each way, a short stroke), the agent
ends it, both sockets close. No media: the media path has its own benches (loadgen, the
side-by-side), and a soak of it needs no more than theirs.

Every ``SAMPLE_S`` the node's RSS, open file descriptors, threads and store size are
sampled beside the number of sessions churned. The soak's minutes start after a warm-up
of ``WARM_UP_SESSIONS``: RSS climbs while SQLite's page cache (2 MiB by default) and the
allocator's arenas fill, for about 500 sessions, then stays flat (one run: 90.9 -> 96.8
MiB over sessions 50-530, then +0.8 MiB over the next 1,250). Over the soak's minutes,
each figure is fitted by least squares against the sessions churned, which gives the
growth per session; a leak is a growth above its limit (``LIMITS``), which fails the
soak run's exit code (never the test suite).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Iterator
from typing import Any

from benchmarks.control_plane.server import Node, agent_email, running_node
from benchmarks.control_plane.sessions import Live, open_live, sign_in
from benchmarks.control_plane.web import AGENTS, CUSTOMERS, Browser, address, use_many_connections

SAMPLE_S = 2.0
WARM_UP_SESSIONS = 600
# Growth per churned session above which the soak fails, with why (README, "Soak"):
LIMITS = {
    # A session's own objects on the node (its room, participants, sockets, board) are
    # tens of KiB (the signalling bench's RSS per session); keeping any whole part of
    # them grows RSS by several KiB a session. A healthy node drifts far less once its
    # arenas and bounded caches have filled: 2 KiB a session is 1.2 MiB a minute at
    # 10 sessions a second, visible within a few minutes.
    "rss_kib": 2.0,
    # Every socket and file of a session is closed when it ends: one descriptor kept in
    # 50 sessions is a leak (a fitted slope; sessions in flight move the raw count).
    "fds": 0.02,
    # Threads are pools that start on demand; any steady growth is a leak.
    "threads": 0.01,
}


async def _talk(live: Live, n: int) -> None:
    """About a second of what the pages send while a session runs."""
    live.customer_ws.send("chat", text="hello, the camera is on the meter", ref=f"c{n}")
    live.agent_ws.send("chat", text="I see it, let me mark the valve", ref=f"a{n}")
    for side in (live.agent_ws, live.customer_ws):
        side.send("quality", level="good", kbps_in=800, kbps_out=900, loss=0.0, rtt=40)
    live.agent_ws.send("mark_start", id=f"m{n}", tool="arrow", color="#ff3366",
                       pts=[[0.4, 0.4]], fade=2)  # fmt: skip
    for i in range(5):
        await asyncio.sleep(0.05)
        live.agent_ws.send("mark_add", id=f"m{n}", pts=[[0.4 + 0.02 * i, 0.4]])
    live.agent_ws.send("mark_end", id=f"m{n}")
    await asyncio.sleep(0.7)


async def _agent(base_url: str, lane: int) -> Browser:
    agent = Browser(base_url, address(AGENTS, lane))
    await sign_in(agent, agent_email(lane))
    return agent


async def _lane(
    agent: Browser, until: list[float], churned: list[int], people: Iterator[int]
) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until[0]:
        n = next(people)  # a new customer, from an address of their own
        live = await open_live(agent, address(CUSTOMERS, n))
        ended = asyncio.Event()

        def told(message: dict[str, Any], ended: asyncio.Event = ended) -> None:
            if message["type"] == "ended":
                ended.set()

        live.agent_ws.listen()
        live.customer_ws.listen(told)
        await _talk(live, n)
        live.agent_ws.send("end")
        async with asyncio.timeout(30):
            await ended.wait()
        live.close()
        churned[0] += 1


def fit(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of ``ys`` against ``xs``."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def _sample(node: Node, seconds: float, churned: int) -> dict[str, float]:
    memory = node.memory_kib()
    return {
        "t": seconds,
        "sessions": churned,
        "rss_kib": memory["rss"],
        "anon_kib": memory["anon"],
        "fds": node.open_fds(),
        "threads": node.threads(),
        "store_kib": node.store_bytes() / 1024,
    }


async def run(minutes: float, lanes: int) -> dict[str, Any]:
    use_many_connections()
    seconds = minutes * 60
    churned = [0]
    samples: list[dict[str, float]] = []
    async with running_node(lanes, "soak") as node:
        # Signed in first: a sign-in's Argon2 memory is not what the soak looks for.
        agents = await asyncio.gather(*(_agent(node.base_url, i) for i in range(lanes)))
        loop = asyncio.get_running_loop()
        begun = loop.time()
        until, warm_s = [float("inf")], 0.0  # set when the warm-up is over
        people = itertools.count()
        work = asyncio.gather(*(_lane(a, until, churned, people) for a in agents))
        while not work.done():
            samples.append(_sample(node, loop.time() - begun, churned[0]))
            if until[0] == float("inf") and churned[0] >= WARM_UP_SESSIONS:
                warm_s = loop.time() - begun
                until[0] = loop.time() + seconds
            await asyncio.wait([work], timeout=SAMPLE_S)
        await work  # a lane's failure fails the soak
        samples.append(_sample(node, loop.time() - begun, churned[0]))
    steady = [s for s in samples if s["t"] >= warm_s]
    sessions = steady[-1]["sessions"] - steady[0]["sessions"]
    xs = [s["sessions"] for s in steady]
    slopes = {k: fit(xs, [s[k] for s in steady]) for k in ("rss_kib", "fds", "threads")}
    store = fit(xs, [s["store_kib"] for s in steady])
    leaks = [k for k, limit in LIMITS.items() if slopes[k] > limit]
    per_min = sessions / minutes
    print(f"soak: {sessions} sessions in {minutes:g} min after {warm_s:.0f} s of warm-up; per "
          f"session RSS {slopes['rss_kib']:+.2f} KiB, fds {slopes['fds']:+.4f}, store "
          f"{store:+.1f} KiB"
          f"{'; LEAK: ' + ', '.join(leaks) if leaks else ''}", file=sys.stderr)  # fmt: skip
    return {
        "minutes": minutes,
        "lanes": lanes,
        "sessions": sessions,
        "sessions_per_min": per_min,
        "warm_up_sessions": WARM_UP_SESSIONS,
        "warm_up_s": warm_s,
        "per_session": {**slopes, "store_kib": store},
        "per_minute": {k: v * per_min for k, v in {**slopes, "store_kib": store}.items()},
        "limits": LIMITS,
        "leaks": leaks,
        "samples": samples,
    }
