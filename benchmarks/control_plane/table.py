"""The control plane's tables for ``benchmarks/README.md`` (used by ``benchmarks.report``,
and printed by ``scripts/bench.sh --quick``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

LAG_GOAL_MS = 10.0


def _ms(figures: dict[str, float], key: str = "p99") -> str:
    value = figures.get(key)
    if value is None or value != value:  # NaN: no sample
        return "n/a"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _lag(lag: dict[str, float]) -> str:
    return f"{_ms(lag, 'p50')} / {_ms(lag, 'p99')} / {_ms(lag, 'max')}"


def _outcomes(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {what}" for what, n in sorted(outcomes.items()))


def signalling_table(r: dict[str, Any]) -> list[str]:
    t = r["traffic"]
    lag = r["lag_ms"]
    sent = {**r["sent"], "all": sum(r["sent"].values())}
    delivered = {**r["delivered"], "all": sum(r["delivered"].values())}
    rows = [
        f"| {family} | {sent.get(family, 0):,} | {delivered.get(family, 0):,} | "
        f"{_ms(r['latency_ms'][family], 'p50')} | {_ms(r['latency_ms'][family])} | "
        f"{_ms(r['latency_ms'][family], 'max')} |"
        for family in ("quality", "marks", "chat", "all")
        if family in r["latency_ms"]
    ]
    return [
        f"### Control plane: {r['sessions']:,} live sessions' signalling on one node, no media",
        "",
        f"{r['sessions']:,} sessions of {r['agents']} agents, opened as the pages open them"
        f" (in {r['open_s']:.0f} s), then {r['record_s']:.0f} s of what the pages send while"
        f" a session runs: a quality report every {t['quality_every']:g} s and a ping every"
        f" {t['ping_every']:g} s each way, a chat line every {t['chat_every']:g} s each way, and"
        f" a stroke every {t['stroke_every']:g} s from the agent ({t['stroke_batches']} batches"
        f" of points {t['batch_every'] * 1000:.0f} ms apart): {t['messages_per_session_s']:.1f}"
        f" messages a second per session, **{r['messages_per_s']:,.0f} a second** in all"
        f" ({r['client_processes']} client processes).",
        "",
        "| | |",
        "|---|--:|",
        f"| memory per session (node RSS with them up, less before) | **"
        f"{r['kib_per_session']:.0f} KiB** ({r['rss_before_kib'] / 1024:.0f} → "
        f"{r['rss_up_kib'] / 1024:.0f} MiB) |",
        f"| event-loop lag p50 / p99 / max (ms), no session | {_lag(lag['idle'])} |",
        f"| same, while the sessions are being opened | {_lag(lag['opening'])} |",
        f"| **same, with every session running** (goal: p99 < {LAG_GOAL_MS:g} ms) | "
        f"**{_lag(lag['running'])}** |",
        "| node CPU while they run (share of one core, every thread); the clients' |"
        f" {r['server_cpu']:.0%}; {r.get('clients_cpu', float('nan')):.0%} |",
        f"| errors from the node; replies with no message waiting for them | "
        f"{sum(r['errors'].values())}; {r['unmatched']} |",
        "",
        "Delivery latency, the sender's send to the receiver's read (ms):",
        "",
        "| messages | sent | delivered | p50 | p99 | max |",
        "|---|--:|--:|--:|--:|--:|",
        *rows,
        "",
    ]


def storm_table(title: str, what: str, r: dict[str, Any]) -> list[str]:
    return [
        f"### Control plane: {title}",
        "",
        what,
        "",
        "| offered | outcomes | completed a second (until the last answer) |"
        " latency p50 / p99 / max (ms) | **event-loop lag p50 / p99 / max (ms)** while they"
        " arrive | same, until the last answer | node CPU (share of one core) |"
        " node threads (before → most) |",
        "|--:|---|--:|--:|--:|--:|--:|--:|",
        f"| {r['rate']:g}/s for {r['seconds']:g} s | {_outcomes(r['outcomes'])} | "
        f"{r['completed_per_s']:.1f} ({r['drained_s']:.0f} s) | {_lag(r['latency_ms'])} | "
        f"**{_lag(r['lag_ms_arrivals'])}** | {_lag(r['lag_ms'])} | {r['server_cpu']:.0%} | "
        f"{r['threads']['before']} → {r['threads']['max']} |",
        "",
    ]


def soak_table(r: dict[str, Any]) -> list[str]:
    per, minute, limits = r["per_session"], r["per_minute"], r["limits"]
    verdict = "**LEAK: " + ", ".join(r["leaks"]) + "**" if r["leaks"] else "no leak"
    first = next(x for x in r["samples"] if x["t"] >= r["warm_up_s"])
    last = r["samples"][-1]

    def row(name: str, key: str, unit: str, digits: int) -> str:
        limit = limits.get(key)
        shown = f"{limit:g}{unit}" if limit is not None else "none (kept data)"
        return (
            f"| {name} | {first[key]:,.0f} → {last[key]:,.0f} | {per[key]:+.{digits}f}{unit}"
            f" | {minute[key]:+,.1f}{unit} | {shown} |"
        )

    return [
        "### Control plane: soak",
        "",
        f"{r['lanes']} agents each running one session after another (create, the customer"
        " joins and consents, a second of chat, quality reports and a stroke, the agent ends"
        f" it; no media): {r['sessions']:,} sessions in {r['minutes']:g} min"
        f" ({r['sessions_per_min']:,.0f} a minute), after a warm-up of"
        f" {r['warm_up_sessions']} sessions ({r['warm_up_s']:.0f} s). Slopes are least-squares"
        " fits over the soak's minutes against the sessions churned. Verdict: "
        f"{verdict}.",
        "",
        "| sampled | over the soak's minutes | per session | per minute | a leak above (per"
        " session) |",
        "|---|--:|--:|--:|--:|",
        row("node RSS (KiB)", "rss_kib", " KiB", 2),
        row("open file descriptors", "fds", "", 4),
        row("threads", "threads", "", 4),
        row("store size (KiB)", "store_kib", " KiB", 1),
        "",
    ]


def control_tables(result: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "signalling" in result:
        out += signalling_table(result["signalling"])
    if "signin" in result:
        r = result["signin"]
        out += storm_table(
            "sign-in storm (Argon2id at the production parameters)",
            "Agents sign in at a fixed rate whether or not the node keeps up, each from an"
            " address of its own (the page's `GET /api/me`, then the timed"
            f" `POST /api/auth/login`), {r['users']} accounts in turn. Argon2id: 3 passes"
            " over 64 MiB, 2 lanes; hashing runs on a pool of its own, a thread per core,"
            " at a lower CPU priority than the event loop's thread.",
            r,
        )
    if "join" in result:
        r = result["join"]
        out += storm_table(
            "join storm",
            f"Customers open join links at a fixed rate ({r['agents']} agents made the"
            " sessions beforehand and wait on their sockets), each from an address of its own:"
            " the join page, `POST /api/join`, the customer's socket, consent; timed until the"
            " node says the session is consented.",
            r,
        )
    if "soak" in result:
        out += soak_table(result["soak"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="print the control plane's tables")
    parser.add_argument("control_json", type=Path)
    print("\n".join(control_tables(json.loads(parser.parse_args().control_json.read_text()))))


if __name__ == "__main__":
    main()
