"""The side-by-side tables for ``benchmarks/README.md`` (used by ``benchmarks.report``, and
printed by ``scripts/bench.sh --quick``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

LOSS_LIMIT = 0.001
DELIVERED_LIMIT = 0.98
NAMES = {"livelens": "LiveLens", "janus": "Janus", "livekit": "LiveKit", "direct": "direct"}
SERVERS = ("livelens", "janus", "livekit")  # "direct" is no server: the latency floor


def _cells(f: dict[str, Any] | None) -> str:
    if f is None:
        return "n/a | n/a"
    return f"{f['us_per_packet_net']:.1f} | {f['loss']:.2%}"


def _cores(f: dict[str, Any]) -> str:
    return f"{f['client_cpu_s'] / f['seconds']:.0%}"


def delivered(f: dict[str, Any], rate: float) -> float:
    """What arrived, as a share of what the step offered (every publisher at ``rate``)."""
    return float(f["forwarded"] / f["seconds"] / (f["groups"] * f["subscribers"] * rate))


def passed(f: dict[str, Any], rate: float) -> bool:
    """< 0.1 % loss, and (nearly) all of the offered rate arrived: a step where the
    publishers fell behind did not carry its load, whatever its loss."""
    return bool(f["loss"] < LOSS_LIMIT and delivered(f, rate) >= DELIVERED_LIMIT)


def highest(figures: list[dict[str, Any]], server: str, rate: float) -> str:
    """The highest N with < 0.1 % loss, and what the next step ran into."""
    mine = sorted(
        (f for f in figures if f["server"] == server and f["scenario"] == "sessions"),
        key=lambda f: f["groups"],
    )
    good = [f["groups"] for f in mine if passed(f, rate)]
    if not mine:
        return "not measured"
    failed = next((f for f in mine if not passed(f, rate)), None)
    if failed is None:
        return f"≥ {mine[-1]['groups']} (every step tried)"
    busy = (failed["cpu_s"] + failed["client_cpu_s"]) / failed["seconds"]
    return (
        f"{good[-1] if good else 0} (at {failed['groups']}: {failed['loss']:.2%} loss,"
        f" {delivered(failed, rate):.0%} of the offered rate arrived, server"
        f" {failed['cpu_s'] / failed['seconds']:.0%} and clients {_cores(failed)} of a core,"
        f" {busy:.0%} in all)"
    )


def pinning(result: dict[str, Any]) -> list[str]:
    if not result.get("server_cpus"):
        return []
    return [f"Server pinned to CPU {result['server_cpus']}, clients to {result['client_cpus']}."]


def _latency(f: dict[str, Any] | None) -> str:
    """p50 / p99 one-way latency in µs."""
    lat = f.get("latency_us") if f else None
    if not lat or not lat.get("samples"):
        return "n/a"
    return f"{lat['p50']:,.0f} / {lat['p99']:,.0f}"


def _added(f: dict[str, Any] | None, floor: dict[str, Any] | None) -> str:
    """What a server adds to the direct path's p50 / p99 at the same load."""
    lat, base = (x.get("latency_us") if x else None for x in (f, floor))
    if not lat or not base or not lat.get("samples") or not base.get("samples"):
        return "n/a"
    return f"{lat['p50'] - base['p50']:,.0f} / {lat['p99'] - base['p99']:,.0f}"


def latency_table(figures: list[dict[str, Any]], peers: list[str]) -> list[str]:
    """One-way latency per server and N, beside the direct path's at the same N."""
    by = {(f["server"], f["groups"]): f for f in figures if f["scenario"] == "sessions"}
    if not any(f.get("latency_us") for f in by.values()):
        return []
    servers = ["livelens", *peers]
    ns = sorted({n for _, n in by})
    out = [
        "",
        "One-way latency, each packet's send time (stamped in its payload, CLOCK_MONOTONIC)"
        " to its subscriber's DTLS transport, in µs, p50 / p99; *direct* is the same clients"
        " with no server (publisher and subscriber connected to each other), and *added* is"
        " a server's figure less direct's at the same N (a p99 moves by hundreds of µs"
        " between runs on a shared machine, so a small or negative one is within the noise):",
        "",
        "| sessions | "
        + " | ".join(NAMES[s] for s in servers)
        + " | direct | "
        + " | ".join(f"**{NAMES[s]} added**" for s in servers)
        + " |",
        "|--:|" + "--:|" * (2 * len(servers) + 1),
    ]
    for n in ns:
        floor = by.get(("direct", n))
        cells = [_latency(by.get((s, n))) for s in servers] + [_latency(floor)]
        cells += [_added(by.get((s, n)), floor) for s in servers]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return out


def _ratio(theirs: dict[str, Any] | None, ours: dict[str, Any] | None) -> str:
    if not theirs or not ours or ours["us_per_packet_net"] <= 0:
        return "n/a"
    return f"{theirs['us_per_packet_net'] / ours['us_per_packet_net']:.1f}\u00d7"


def peers_table(result: dict[str, Any]) -> list[str]:
    figures: list[dict[str, Any]] = result.get("figures", [])
    if not figures:
        return []
    by = {(f["server"], f["scenario"], f["groups"], f["subscribers"]): f for f in figures}
    rate = result["rate_per_publisher"]
    peers = [s for s in SERVERS[1:] if any(f["server"] == s for f in figures)]
    names = ", ".join(NAMES[s] for s in ["livelens", *peers])
    ns = sorted(
        {f["groups"] for f in figures if f["scenario"] == "sessions" and f["server"] in SERVERS}
    )
    out = [
        f"### Side by side: {names}, the same aiortc clients, one run",
        "",
        "N sessions of one publisher to one subscriber (server µs of CPU per forwarded packet,"
        " net of idle, and loss):",
        "",
        "| sessions | forwarded pkt/s | LiveLens µs | loss "
        + "".join(f"| {NAMES[s]} µs | loss | **{NAMES[s]} / LiveLens** " for s in peers)
        + "| clients' CPU ("
        + " / ".join(NAMES[s] for s in ["livelens", *peers])
        + ") |",
        "|--:|--:|--:|--:|" + "--:|--:|--:|" * len(peers) + "--:|",
    ]
    for n in ns:
        ours = by.get(("livelens", "sessions", n, 1))
        theirs = [by.get((s, "sessions", n, 1)) for s in peers]
        any_f = next(f for f in (ours, *theirs) if f)
        cells = "".join(f"| {_cells(t)} | {_ratio(t, ours)} " for t in theirs)
        clients = " / ".join(_cores(f) if f else "n/a" for f in (ours, *theirs))
        out.append(
            f"| {n} | {any_f['forwarded'] / any_f['seconds']:,.0f} | {_cells(ours)} "
            f"{cells}| {clients} |"
        )
    out += latency_table(figures, peers)
    out += [
        "",
        "Highest N with < 0.1 % loss: "
        + "; ".join(f"{NAMES[s]} {highest(figures, s, rate)}" for s in ["livelens", *peers])
        + ".",
    ]
    ks = sorted({f["subscribers"] for f in figures if f["scenario"] == "fanout"})
    if ks:
        out += [
            "",
            "One publisher to K subscribers (not LiveLens: a LiveLens session has one agent, so"
            " its row is N = 1 above); latency in µs, p50 / p99, as above (direct at N = 1:"
            f" {_latency(by.get(('direct', 'sessions', 1, 1)))}):",
            "",
            "| subscribers | "
            + "".join(
                f"{NAMES[s]} forwarded pkt/s | µs | loss | latency | clients' CPU | " for s in peers
            ).rstrip(),
            "|--:|" + "--:|--:|--:|--:|--:|" * len(peers),
        ]
        for k in ks:
            row = [by.get((s, "fanout", 1, k)) for s in peers]
            out.append(
                f"| {k} | "
                + "".join(
                    f"{f['forwarded'] / f['seconds']:,.0f} | {_cells(f)} | {_latency(f)}"
                    f" | {_cores(f)} | "
                    if f
                    else "n/a | n/a | n/a | n/a | n/a | "
                    for f in row
                ).rstrip()
            )
    out += [
        "",
        f"Each publisher sends {result['rate_per_publisher']:.0f} pre-built 1,200-byte VP8 RTP"
        " packets/s into its DTLS transport; each subscriber counts what its DTLS transport"
        f" unprotects. Clients in {result['client_processes']} processes. Server CPU is the"
        " whole process (every thread) over a"
        f" {result['seconds']:.0f} s window, net of an idle window with the same sessions up,"
        " divided by the packets the subscribers received; loss runs from the end of a 1 s"
        " warm-up to 0.5 s after the last packet. A step counts towards the highest N when its"
        f" loss is < 0.1 % and at least {DELIVERED_LIMIT:.0%} of the offered packets arrived."
        " Clients' CPU is all client processes together, as a share of one core.",
        *pinning(result),
        "",
        "![server CPU per forwarded packet, side by side](peers.png)",
        "",
        "Servers as measured:",
        "",
        *(f"- **{NAMES.get(k, k)}**: {v}" for k, v in result.get("servers", {}).items()),
    ]
    return out


def plot(result: dict[str, Any], where: Path) -> bool:
    """peers.png: server CPU per forwarded packet against N, one line per server."""
    figures: list[dict[str, Any]] = result.get("figures", [])
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if not figures:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for server in SERVERS:
        name = NAMES[server]
        mine = sorted(
            (f for f in figures if f["server"] == server and f["scenario"] == "sessions"),
            key=lambda f: f["groups"],
        )
        if mine:
            xs, ys = [f["groups"] for f in mine], [f["us_per_packet_net"] for f in mine]
            ax.plot(xs, ys, "o-", label=name)
    ax.set(
        xlabel="sessions (one publisher, one subscriber each)",
        ylabel="server CPU µs per forwarded packet",
        xscale="log",
        title="Same clients, one run (net of idle)",
    )
    sessions = sorted({f["groups"] for f in figures if f["scenario"] == "sessions"})
    ax.set_xticks(sessions, [str(x) for x in sessions])
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(where / "peers.png", dpi=90)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="print the side-by-side tables")
    parser.add_argument("peers_json", type=Path)
    print("\n".join(peers_table(json.loads(parser.parse_args().peers_json.read_text()))))


if __name__ == "__main__":
    main()
