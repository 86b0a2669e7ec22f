"""Arrivals at a fixed rate, whether or not the node keeps up (an open loop, as people
arrive independently), spread over client processes.

- **Sign-in storm**: agents sign in at ``rate`` a second, each from an address of its
  own, with the node's production Argon2id parameters (the users are made with them:
  ``server.OneHash``). Each arrival is the page's ``GET /api/me`` (its XSRF cookie), then
  the timed ``POST /api/auth/login``.
- **Join storm**: agents have made the sessions beforehand and wait on their sessions'
  sockets; customers open the links at ``rate`` a second, each from an address of its
  own: the join page, ``POST /api/join``, the customer's socket, consent, until the node
  says the session is consented. Timed from the page's request to that state.

For both: each arrival's outcome and latency, and the node's event-loop lag, CPU and
threads while the storm lasts.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.control_plane.server import Node, agent_email, running_node
from benchmarks.control_plane.sessions import Refused, consent, create, join, sign_in
from benchmarks.control_plane.web import (
    AGENTS,
    CUSTOMERS,
    SIGN_INS,
    Browser,
    Socket,
    address,
    now_ns,
    paced,
    use_many_connections,
)
from benchmarks.fleet import Fleet, percentiles

Outcome = tuple[str, float]  # ("ok" or why not, seconds)


class Worker:
    """One client process's share of a storm (``benchmarks.fleet`` handler)."""

    def __init__(self, base_url: str) -> None:
        use_many_connections()
        self.base_url = base_url
        self.tokens: list[str] = []
        self.sockets: list[Socket] = []
        self.users = 1  # the sign-in storm's agents, taken in turn

    async def on_prepare(self, plan: list[tuple[int, int]]) -> int:
        """For each (agent, sessions): the agent signs in, makes that many sessions and
        waits on each one's socket; their links are what this worker's customers open."""

        async def agent_prepares(agent: int, sessions: int) -> None:
            browser = Browser(self.base_url, address(AGENTS, agent))
            await sign_in(browser, agent_email(agent))
            for _ in range(sessions):
                session_id, token = await create(browser)
                socket = await browser.socket(f"/ws/agent/{session_id}")
                socket.listen()
                self.sockets.append(socket)
                self.tokens.append(token)

        await asyncio.gather(*(agent_prepares(a, n) for a, n in plan))
        return len(self.tokens)

    async def on_storm(self, arg: tuple[str, int, float, int, int, int]) -> list[Outcome]:
        """``kind`` ("signin" or "join"): ``count`` arrivals at ``rate`` a second from
        ``start`` (ns); arrival k is person ``first + k * step`` (workers interleave)."""
        kind, start, rate, count, first, step = arg
        await asyncio.sleep(max(0.0, (start - now_ns()) / 1e9))
        arrive = self._sign_in if kind == "signin" else self._join
        return await paced(rate, count, lambda k: self._timed(arrive, first + k * step, k))

    async def _timed(self, arrive: Any, person: int, k: int) -> Outcome:
        started = time.perf_counter()
        try:
            timed_from = await arrive(person, k)
        except Refused as refused:
            return f"HTTP {refused.status}", 0.0
        except (OSError, RuntimeError, TimeoutError) as error:
            return type(error).__name__, 0.0
        return "ok", time.perf_counter() - (timed_from or started)

    async def _sign_in(self, person: int, _: int) -> float:
        browser = Browser(self.base_url, address(SIGN_INS, person))
        await browser.call("GET", "/api/me")  # the page's first call: its XSRF cookie
        asked = time.perf_counter()
        await sign_in(browser, agent_email(person % self.users))
        return asked

    async def on_users(self, users: int) -> str:
        self.users = users
        return "ok"

    async def _join(self, person: int, k: int) -> None:
        _, socket = await join(self.base_url, self.tokens[k], address(CUSTOMERS, person))
        await consent(socket)
        socket.listen()
        self.sockets.append(socket)

    async def on_close(self, _: None) -> str:
        for socket in self.sockets:
            socket.close()
        return "ok"


async def _storm(
    node: Node, fleet: Fleet, kind: str, rate: float, seconds: float
) -> dict[str, Any]:
    """Run one storm; what happened to its arrivals and to the node meanwhile."""
    workers, count = len(fleet), int(rate * seconds)
    start = now_ns() + 1_000_000_000
    shares = [
        (kind, start + int(w / rate * 1e9), rate / workers, len(range(w, count, workers)), w,
         workers)
        for w in range(workers)
    ]  # fmt: skip
    threads = [node.threads()]
    cpu0 = node.cpu_s()

    async def watch() -> None:
        while True:
            await asyncio.sleep(0.5)
            threads.append(node.threads())

    watching = asyncio.ensure_future(watch())
    replies = await fleet.each("storm", shares)
    ended = now_ns()
    watching.cancel()
    outcomes = [o for reply in replies for o in reply]
    ok = [seconds for what, seconds in outcomes if what == "ok"]
    took = (ended - start) / 1e9
    lag = node.lag(start, ended)
    print(f"{kind} storm: {dict(Counter(what for what, _ in outcomes))}, p99 "
          f"{percentiles(ok, 1e-3)['p99']:.0f} ms, loop lag p99 {lag['p99']:.1f} ms",
          file=sys.stderr)  # fmt: skip
    return {
        "rate": rate,
        "seconds": seconds,
        "arrivals": len(outcomes),
        "outcomes": dict(Counter(what for what, _ in outcomes)),
        "latency_ms": percentiles(ok, 1e-3),
        "completed_per_s": len(ok) / took,
        "drained_s": took,
        "lag_ms": lag,
        "lag_ms_arrivals": node.lag(start, start + int(seconds * 1e9)),
        "server_cpu": (node.cpu_s() - cpu0) / took,
        "threads": {"before": threads[0], "max": max(threads)},
    }


async def sign_in_storm(rate: float, seconds: float, users: int, processes: int) -> dict[str, Any]:
    async with (
        running_node(users, "signin") as node,
        Fleet(Worker, [(node.base_url,)] * processes) as fleet,
    ):
        await fleet.all("users", users)
        result = await _storm(node, fleet, "signin", rate, seconds)
    return {"users": users, "client_processes": processes, **result}


async def join_storm(rate: float, seconds: float, agents: int, processes: int) -> dict[str, Any]:
    count = int(rate * seconds)
    async with (
        running_node(agents, "join") as node,
        Fleet(Worker, [(node.base_url,)] * processes) as fleet,
    ):
        # Worker w's customers are arrivals w, w + P, ...: it makes as many sessions.
        per_worker = [len(range(w, count, processes)) for w in range(processes)]
        plans: list[list[tuple[int, int]]] = [[] for _ in range(processes)]
        for a in range(agents):
            plans[a % processes].append((a, 0))
        for w, need in enumerate(per_worker):
            mine = plans[w] or [(w, 0)]
            plans[w] = [(a, need // len(mine) + (i < need % len(mine)))
                        for i, (a, _) in enumerate(mine)]  # fmt: skip
        preparing = time.perf_counter()
        made = sum(await fleet.each("prepare", plans))
        print(f"join storm: {made} sessions waiting, made in "
              f"{time.perf_counter() - preparing:.0f} s", file=sys.stderr)  # fmt: skip
        await asyncio.sleep(2.0)
        result = await _storm(node, fleet, "join", rate, seconds)
    return {"agents": agents, "client_processes": processes, **result}
