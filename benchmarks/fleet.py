"""Bench clients spread over processes, because one Python process runs out of CPU before
the server under test does. Each worker runs an asyncio loop and answers the parent's
commands through a pipe; the parent asks one worker or all of them at once.

A worker is a *handler*: an object whose ``async def on_<command>(argument)`` methods
answer the commands (``close`` ends the worker after its ``on_close``). An exception in a
handler is sent to the parent, which raises it: a bench must fail loudly, not hang.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Collection, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.loadgen import cpu_seconds

ERROR = "error"


def percentiles(samples: Sequence[float], unit: float = 1.0) -> dict[str, float]:
    """p50, p99 and max of ``samples`` divided by ``unit``, and how many there were."""
    if not samples:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "samples": 0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / unit

    return {"p50": at(0.5), "p99": at(0.99), "max": ordered[-1] / unit, "samples": len(ordered)}


def pin(pid: int, cpus: Collection[int]) -> None:
    """Every thread of ``pid`` onto ``cpus`` (threads started later inherit it)."""
    if cpus:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)


async def _serve(conn: Connection, handler: Any) -> None:
    loop = asyncio.get_running_loop()
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        try:
            reply = await getattr(handler, f"on_{command}")(argument)
        except Exception as error:  # the parent must hear of it, not wait forever
            conn.send((ERROR, f"{command}: {error!r}"))
            if command == "close":
                return
            continue
        conn.send(reply)
        if command == "close":
            return


def worker_main(conn: Connection, make: Callable[..., Any], args: Sequence[Any]) -> None:
    """Entry point of one client process: ``make(*args)`` builds its handler."""

    async def run() -> None:
        await _serve(conn, make(*args))

    try:
        asyncio.run(run())
    except Exception as error:
        conn.send((ERROR, repr(error)))
        raise


class Fleet:
    """Client processes, each with a handler made by ``make(*args)`` (``args`` per process:
    one tuple each)."""

    def __init__(
        self, make: Callable[..., Any], args: Sequence[Sequence[Any]], cpus: Collection[int] = ()
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Any] = []
        self.processes: list[Any] = []
        for own in args:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=worker_main, args=(child, make, tuple(own)), daemon=True)
            process.start()
            assert process.pid is not None
            pin(process.pid, cpus)
            self.pipes.append(parent)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.pipes)

    async def ask(self, index: int, command: str, argument: Any = None) -> Any:
        pipe = self.pipes[index]
        pipe.send((command, argument))
        reply = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        if isinstance(reply, tuple) and reply and reply[0] == ERROR:
            raise RuntimeError(f"client process: {reply[1]}")
        return reply

    async def all(self, command: str, argument: Any = None) -> list[Any]:
        """The same command to every worker, at once."""
        return await self.each(command, [argument] * len(self.pipes))

    async def each(self, command: str, arguments: Sequence[Any]) -> list[Any]:
        """The command to every worker, each with its own argument."""
        asked = (self.ask(i, command, a) for i, a in enumerate(arguments))
        return list(await asyncio.gather(*asked))

    def cpu(self) -> float:
        """CPU seconds the workers have used, all of them together."""
        return sum(cpu_seconds(p.pid) for p in self.processes if p.pid is not None)

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.all("close"), 30)
        finally:
            for process in self.processes:
                process.join(5)
                if process.is_alive():
                    process.kill()
