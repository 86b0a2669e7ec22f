"""Reports over a busy account's year: a real ``livelens serve`` and 100,000 sessions.

``python -m benchmarks.reports_load`` makes an account with ten agents through the CLI,
writes ``--sessions`` ended sessions spread over the last year straight into the store
(in batches, through the same table descriptions the store uses: going through the
HTTP API would measure session creation, not reports), starts ``livelens serve`` on
that store and asks, as the reports page and an account's tools do, for:

- the CSV export of the whole year (``/api/reports/sessions?format=csv``) with an API key,
- the same rows as JSON,
- the reports page's summary (``/api/reports/summary``, grouped by month).

For each: time to the first byte of the body, total time, bytes and rows, and the
server's peak resident memory during the request (``VmHWM`` after resetting it through
``/proc/<pid>/clear_refs``), beside its resident memory before. Once on the embedded
SQLite store and once on MongoDB (FerretDB, as the tests run it).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymongo

from livelens.config import store_url_for
from livelens.store import open_store, sqlite_path
from livelens.store.records import Outcome, SupportSession, new_id
from livelens.store.schema import SUPPORT_SESSIONS
from tests.api.harness import Client
from tests.mongo_server import start_ferretdb
from tests.processes import stop, wait_until_serving

from .loadgen import _free_port

PASSWORD = "reports-bench-password-42"
TENANT = "Reports bench"
ADMIN = "admin@reports.test"
AGENTS = 10
BATCH = 5_000
OUTCOMES: tuple[tuple[Outcome, float], ...] = (
    ("completed", 0.8), ("declined", 0.05), ("expired", 0.1), ("dropped", 0.05),
)  # fmt: skip


@dataclass
class Figure:
    engine: str
    request: str  # "csv", "json" or "summary"
    sessions: int
    first_byte_ms: float
    total_ms: float
    body_bytes: int
    rows: int
    rss_before_mib: float
    peak_rss_mib: float


def _sessions(tenant_id: str, agents: list[str], count: int, seed: int) -> list[SupportSession]:
    """``count`` ended sessions created over the 365 days before today, in time order."""
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    start = end - 365 * 86400
    out = []
    for at in sorted(rng.uniform(start, end - 3600) for _ in range(count)):
        outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        joined = at + rng.uniform(5, 300) if outcome != "expired" else None
        live = joined + rng.uniform(2, 30) if joined and outcome != "declined" else None
        ended = (live or joined or at + 600) + rng.uniform(60, 1800)
        out.append(
            SupportSession(
                id=new_id(), tenant_id=tenant_id, agent_id=rng.choice(agents), created_at=at,
                join_expires_at=at + 600, join_token_hash="t" + new_id(), pin_hash=None,
                status="ended", joined_at=joined, consent_at=live, live_at=live,
                ended_at=ended, outcome=outcome, ended_by="agent",
                reference=f"CASE-{rng.randrange(10**6)}",
                rating=rng.randint(1, 5) if live and rng.random() < 0.3 else None,
            )
        )  # fmt: skip
    return out


def _write_sessions(store_url: str, sessions: list[SupportSession]) -> None:
    """Many rows a statement: the store's own insert is one transaction a session."""
    if store_url.startswith("sqlite:"):
        with sqlite3.connect(sqlite_path(store_url)) as db:
            for i in range(0, len(sessions), BATCH):
                chunk = sessions[i : i + BATCH]
                db.executemany(SUPPORT_SESSIONS.insert(), [SUPPORT_SESSIONS.row(s) for s in chunk])
        return
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(store_url)
    try:
        collection = client.get_default_database()[SUPPORT_SESSIONS.name]
        for i in range(0, len(sessions), BATCH):
            collection.insert_many([SUPPORT_SESSIONS.doc(s) for s in sessions[i : i + BATCH]])
    finally:
        client.close()


def _memory_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(
    port: int, pid: int, path: str, headers: dict[str, str]
) -> tuple[float, float, int, int, float, float]:
    """First-byte and total milliseconds, body bytes, rows (CSV lines less the header, or
    JSON objects with a session id), RSS before and peak (MiB)."""
    rss_before = _memory_mib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS, so the peak is this request's
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status} {response.read()[:300]!r}")
    first = response.read1(65536)
    first_byte = time.perf_counter() - started
    # A row is a CSV line or a JSON object's session id (chunks cut neither: both are
    # counted on whole lines, and a JSON row is one line of the export's own).
    mark = b"\n" if "format=csv" in path else b'"session_id"'
    size, rows, tail = 0, 0, b""
    chunk = first
    while chunk:
        size += len(chunk)
        text = tail + chunk
        cut = text.rfind(b"\n") + 1
        rows += text[:cut].count(mark)
        tail = text[cut:]
        chunk = response.read1(65536)
    rows += tail.count(mark)
    total = time.perf_counter() - started
    conn.close()
    rows -= 1 if mark == b"\n" else 0  # the CSV's header
    return first_byte * 1000, total * 1000, size, rows, rss_before, _memory_mib(pid, "VmHWM")


def _cli(data_dir: Path, store: list[str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "livelens", *args, "--data-dir", str(data_dir), *store],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


async def _api_key(base_url: str) -> str:
    client = Client(base_url)
    signed_in = await client.login(ADMIN, PASSWORD)
    assert signed_in.status == 200, signed_in.body
    created = await client.post("/api/api-keys", {"name": "reports bench"})
    assert created.status == 201, created.body
    return str(created.body["key"])


async def _account(store_url: str) -> tuple[str, list[str]]:
    store = await open_store(store_url)
    try:
        tenant_id = await store.find_tenant_id_by_name(TENANT)
        assert tenant_id is not None
        users = await store.scoped(tenant_id).list_users()
        return tenant_id, [u.id for u in users if u.role == "agent"]
    finally:
        await store.close()


def run_engine(engine: str, count: int) -> list[Figure]:
    ferret = start_ferretdb() if engine == "mongodb" else None
    with tempfile.TemporaryDirectory(prefix="livelens-reports-") as tmp:
        data_dir = Path(tmp)
        store = ["--store", ferret.url + "reportsbench"] if ferret else []
        try:
            _cli(data_dir, store, "tenant", "create", "--name", TENANT, "--region", "eu",
                 "--admin-email", ADMIN, "--admin-password", PASSWORD)  # fmt: skip
            for i in range(AGENTS):
                email = f"agent{i}@reports.test"
                _cli(data_dir, store, "user", "create", "--tenant", TENANT, "--email", email,
                     "--role", "agent", "--password", PASSWORD)  # fmt: skip
            store_url = store_url_for(data_dir, store[1] if store else None)
            tenant_id, agents = asyncio.run(_account(store_url))
            started = time.perf_counter()
            _write_sessions(store_url, _sessions(tenant_id, agents, count, seed=7))
            print(f"reports: {count:,} sessions written to {engine} in "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
            return _serve_and_measure(engine, count, data_dir, store)
        finally:
            if ferret:
                ferret.stop()


def _serve_and_measure(engine: str, count: int, data_dir: Path, store: list[str]) -> list[Figure]:
    port = _free_port()
    log = (data_dir / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "livelens", "serve", "--data-dir", str(data_dir), *store,
         "--host", "127.0.0.1", "--port", str(port), "--media-port", "0"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_serving(base_url, server)
        key = asyncio.run(_api_key(base_url))
        today = datetime.now(UTC).date()
        span = f"from={today - timedelta(days=365)}&to={today}"
        bearer = {"Authorization": f"Bearer {key}"}
        asks = {
            "csv": f"/api/reports/sessions?{span}&format=csv",
            "json": f"/api/reports/sessions?{span}&format=json",
            "summary": f"/api/reports/summary?{span}&group=month",
        }
        figures = []
        for request, path in asks.items():
            first, total, size, rows, before, peak = _measure(port, server.pid, path, bearer)
            figures.append(Figure(engine, request, count, round(first, 1), round(total, 1),
                                  size, rows, round(before, 1), round(peak, 1)))  # fmt: skip
            print(f"reports: {engine} {request}: first byte {first:.0f} ms, total "
                  f"{total:.0f} ms, {size:,} bytes, peak RSS {peak:.0f} MiB "
                  f"(before {before:.0f})", file=sys.stderr)  # fmt: skip
        return figures
    finally:
        stop(server)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,mongodb")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    figures = [f for e in args.engines.split(",") for f in run_engine(e, args.sessions)]
    args.out.write_text(json.dumps([asdict(f) for f in figures], indent=1))


if __name__ == "__main__":
    main()
