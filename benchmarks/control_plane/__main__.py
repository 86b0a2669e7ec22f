"""``python -m benchmarks.control_plane``: the control plane under load (issue 16).

Each scenario starts its own ``livelens serve`` (``server.Node``: a temp data dir, the
embedded store, the event-loop lag sampler) and drives it over HTTP and WebSockets with
clients spread over processes:

- ``signalling``: many concurrent live sessions' signalling, no media (``signalling``);
- ``signin``: a sign-in storm at the production Argon2id parameters (``storms``);
- ``join``: customers opening links and consenting at a fixed rate (``storms``);
- ``soak``: session churn, watching RSS, descriptors, threads and the store (``soak``).

Writes the figures as JSON (``--out``); the soak's verdict is the exit code: 1 when it
found a leak (after the JSON is written), so ``make bench`` stops there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.control_plane import signalling, soak, storms
from benchmarks.loadgen import REPO

# (full, quick) for each setting. The full run takes about 6 minutes on two cores, which
# is what make bench has left of its 30 (the soak is 2 minutes after its warm-up, not 30:
# RSS is flat after the warm-up, and 2 minutes churn some 1,500 sessions, enough for a
# slope); the quick one is a smoke test of every scenario (about 3.5 minutes).
SETTINGS: dict[str, tuple[float, float]] = {
    "sessions": (1000, 200),
    "record_s": (60, 15),
    "signin_s": (6, 4),  # 300 sign-ins: two cores take about a minute to verify them
    "join_s": (10, 4),
    "soak_minutes": (2, 1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="signalling,signin,join,soak")
    parser.add_argument("--quick", action="store_true", help="every scenario, reduced")
    parser.add_argument("--processes", type=int, default=3, help="client processes")
    parser.add_argument("--sessions-per-agent", type=int, default=5)
    parser.add_argument("--signin-rate", type=float, default=50.0)
    parser.add_argument("--join-rate", type=float, default=100.0)
    parser.add_argument("--soak-lanes", type=int, default=16)
    parser.add_argument("--soak-minutes", type=float, help="the soak's length (make soak: 30)")
    parser.add_argument("--out", type=Path, default=REPO / "build/bench/control.json")
    parser.add_argument("--profile", type=Path, help="py-spy each node into DIR/<scenario>.txt")
    args = parser.parse_args()
    if args.profile:
        os.environ["BENCH_PYSPY_DIR"] = str(args.profile.resolve())
    pick = {k: v[1] if args.quick else v[0] for k, v in SETTINGS.items()}
    if args.soak_minutes is not None:
        pick["soak_minutes"] = args.soak_minutes
    result: dict[str, Any] = {"quick": args.quick}
    for scenario in args.scenarios.split(","):
        print(f"== control plane: {scenario}", file=sys.stderr)
        if scenario == "signalling":
            result[scenario] = asyncio.run(signalling.run(
                int(pick["sessions"]), args.sessions_per_agent, args.processes, 5.0,
                pick["record_s"]))  # fmt: skip
        elif scenario == "signin":
            result[scenario] = asyncio.run(storms.sign_in_storm(
                args.signin_rate, pick["signin_s"], 100, args.processes))  # fmt: skip
        elif scenario == "join":
            result[scenario] = asyncio.run(storms.join_storm(
                args.join_rate, pick["join_s"], 20, args.processes))  # fmt: skip
        elif scenario == "soak":
            result[scenario] = asyncio.run(soak.run(pick["soak_minutes"], args.soak_lanes))
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    if result.get("soak", {}).get("leaks"):
        print(f"soak: LEAK ({', '.join(result['soak']['leaks'])})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
