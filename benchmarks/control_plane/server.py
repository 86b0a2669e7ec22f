"""The node under test: ``livelens serve`` with an event-loop lag sampler, and what the
benches read of it from outside (RSS, open descriptors, store size, CPU).

``livelens serve`` has no metrics endpoint, so the sampler is not in the product: this
module runs the product's own ``serve`` (``livelens.server.serve``, the Rust media port,
from the same arguments) with one more thread in the process. Every 10 ms that thread
hands the event loop a callback (``call_soon_threadsafe``, which wakes the loop at once)
and the callback notes how late it ran against the time it was due: the wait any event
(a WebSocket frame, a timer) would have had before the loop got to it. Samples go to
``loop-lag`` in the data dir as (due, lag) pairs of int64 ns, CLOCK_MONOTONIC, a few
times a second; the benches read the windows they want.

``python -m benchmarks.control_plane.server serve --data-dir DIR [livelens serve options]``
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from array import array
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from benchmarks.fleet import percentiles
from benchmarks.loadgen import REPO, TICKS_PER_S, _free_port
from livelens.cli import build_parser, settings_from
from livelens.config import Settings, store_url_for
from livelens.identity.passwords import PasswordHashing
from livelens.server import open_context, serve
from livelens.services import accounts
from livelens.services.audit import CLI
from tests.processes import stop, wait_until_serving

LAG_FILE = "loop-lag"
LAG_EVERY_S = 0.01
PASSWORD = "control-plane-42"
TENANT = "Control plane bench"
ADMIN = "admin@control.test"


def agent_email(i: int) -> str:
    return f"agent{i}@control.test"


class LagSampler(threading.Thread):
    """Asks the loop to run a callback every ``LAG_EVERY_S`` and writes how late it ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop, path: Path) -> None:
        super().__init__(name="bench-loop-lag", daemon=True)
        self.loop, self.path = loop, path
        self.samples = array("q")  # due, lag; appended on the loop's thread only
        self.lock = threading.Lock()

    def _ran(self, due: int) -> None:
        lag = time.monotonic_ns() - due
        with self.lock:
            self.samples.extend((due, lag))

    def run(self) -> None:
        with self.path.open("ab", buffering=0) as out:
            due, asked = time.monotonic_ns(), 0
            while True:
                due += int(LAG_EVERY_S * 1e9)
                time.sleep(max(0.0, (due - time.monotonic_ns()) / 1e9))
                self.loop.call_soon_threadsafe(self._ran, due)
                asked += 1
                if asked % 20 == 0:  # five times a second
                    with self.lock:
                        taken, self.samples = self.samples, array("q")
                    out.write(taken.tobytes())


def _trace_memory(data_dir: Path) -> None:
    """With BENCH_TRACEMALLOC=1: on each SIGUSR2, the allocations that grew most since
    the first signal (by traceback) go to tracemalloc-<n>.txt in the data dir."""
    tracemalloc.start(12)
    first: list[tracemalloc.Snapshot] = []

    def dump() -> None:
        snapshot = tracemalloc.take_snapshot()
        if not first:
            first.append(snapshot)
            return
        grown = snapshot.compare_to(first[0], "traceback")[:15]
        lines = [f"traced now, at peak: {tracemalloc.get_traced_memory()}"]
        lines += [str(stat) + "\n" + "\n".join(stat.traceback.format()) for stat in grown]
        (data_dir / f"tracemalloc-{len(first)}.txt").write_text("\n\n".join(lines))
        first.append(snapshot)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, dump)


async def _serve_sampled(settings: Settings) -> None:
    LagSampler(asyncio.get_running_loop(), settings.data_dir / LAG_FILE).start()
    if os.environ.get("BENCH_TRACEMALLOC") == "1":
        _trace_memory(settings.data_dir)
    await serve(settings)


def main() -> None:
    args = build_parser().parse_args(sys.argv[1:])
    if args.command != "serve":
        raise SystemExit("usage: python -m benchmarks.control_plane.server serve [options]")
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(_serve_sampled(settings_from(args)))


async def cpu_between(read: Callable[[], float], start_ns: int, end_ns: int) -> float:
    """What ``read()`` (CPU seconds) grows by between two CLOCK_MONOTONIC times."""
    await asyncio.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
    before = read()
    await asyncio.sleep(max(0.0, (end_ns - time.monotonic_ns()) / 1e9))
    return read() - before


class OneHash(PasswordHashing):
    """Production Argon2id parameters, but every password given the one hash made first:
    the users it makes cost a real verification at sign-in, while making a thousand of
    them costs one hash, not a thousand."""

    def __init__(self) -> None:
        super().__init__()
        self._made = self._hasher.hash(PASSWORD)

    def hash(self, password: str) -> str:
        assert password == PASSWORD
        return self._made


class Node:
    """``livelens serve`` (sampled) in a subprocess with its own data dir and ports."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def provision(self, agents: int) -> str:
        """An account, its administrator and ``agents`` agents, straight through the
        services (before the node starts); returns the account's id."""
        settings = Settings(data_dir=self.data_dir, store_url=store_url_for(self.data_dir, None))
        ctx = replace(await open_context(settings), hashing=OneHash())
        try:
            tenant, _ = await accounts.create_tenant(ctx, TENANT, "eu", ADMIN, PASSWORD, CLI)
            for i in range(agents):
                await accounts.create_user(ctx, tenant.id, agent_email(i), "agent", PASSWORD, CLI)
            return tenant.id
        finally:
            await ctx.store.close()

    def start(self, *options: str) -> None:
        log = (self.data_dir / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.control_plane.server", "serve",
             "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port),
             "--media-port", "0", *options],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        wait_until_serving(self.base_url, self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def lag_ms(self, start_ns: int, end_ns: int) -> list[float]:
        """Loop-lag samples (ms) due in [start_ns, end_ns), CLOCK_MONOTONIC."""
        pairs = array("q", (self.data_dir / LAG_FILE).read_bytes())
        return [
            pairs[i + 1] / 1e6 for i in range(0, len(pairs) - 1, 2) if start_ns <= pairs[i] < end_ns
        ]

    def lag(self, start_ns: int, end_ns: int) -> dict[str, float]:
        """The loop lag's p50, p99 and max (ms) over a window."""
        time.sleep(0.3)  # the sampler writes five times a second
        return percentiles(self.lag_ms(start_ns, end_ns))

    async def cpu_between(self, start_ns: int, end_ns: int) -> float:
        """The node's CPU seconds (every thread) between two CLOCK_MONOTONIC times."""
        return await cpu_between(self.cpu_s, start_ns, end_ns)

    def memory_kib(self) -> dict[str, int]:
        """Resident memory, in all and by kind: anonymous (the heaps), file-backed
        (mapped code and files), shared (SQLite's WAL index)."""
        fields = ("VmRSS", "RssAnon", "RssFile", "RssShmem")
        status = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        found = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in status)
                 if k in fields}  # fmt: skip
        return {"rss": found["VmRSS"], "anon": found["RssAnon"], "file": found["RssFile"],
                "shmem": found["RssShmem"]}  # fmt: skip

    def rss_kib(self) -> int:
        return self.memory_kib()["rss"]

    def open_fds(self) -> int:
        return sum(1 for _ in Path(f"/proc/{self.pid}/fd").iterdir())

    def threads(self) -> int:
        return sum(1 for _ in Path(f"/proc/{self.pid}/task").iterdir())

    def store_bytes(self) -> int:
        """The SQLite store's files (the database, its WAL and shared memory)."""
        return sum(p.stat().st_size for p in self.data_dir.glob("livelens.db*"))

    def cpu_s(self) -> float:
        """utime + stime from /proc/<pid>/stat: unlike the per-thread figures it keeps the
        time of threads that have ended (libargon2 starts its lanes' threads per hash)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def profiled(node: Node, name: str) -> subprocess.Popen[bytes] | None:
    """With BENCH_PYSPY_DIR set: py-spy samples the node's Python stacks (every thread,
    idle ones left out) into <dir>/<name>.txt, collapsed (one stack a line, with its
    count), until it is interrupted."""
    where = os.environ.get("BENCH_PYSPY_DIR")
    if not where:
        return None
    Path(where).mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(node.pid),
         "--rate", "250", "--format", "raw", "--output", str(Path(where) / f"{name}.txt"),
         "--nonblocking", "--threads"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@asynccontextmanager
async def running_node(agents: int, name: str) -> AsyncIterator[Node]:
    """A provisioned node in a temp data dir, serving until the block ends (``name``:
    the scenario, for its profile)."""
    with tempfile.TemporaryDirectory(prefix="livelens-control-") as tmp:
        node = Node(Path(tmp))
        await node.provision(agents)
        node.start()
        profiler = profiled(node, name)
        try:
            yield node
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
            node.stop()


if __name__ == "__main__":
    main()
