"""Turn one benchmark run into the tables of ``benchmarks/README.md``.

Inputs (all from the same run, so ratios compare like with like on a noisy machine):
the pytest-benchmark JSON, the JSON lines the Rust benches print (``relay_loopback``'s
in their own file), the load generator's JSON, and ``openssl speed``. Micro-benchmark
figures are the best batch of each measurement (least disturbed by other processes).
The relay and load figures also become PNG plots next to the README.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.control_plane.table import control_tables
from benchmarks.packets import PACKET_BYTES, PROFILES
from benchmarks.peers.table import peers_table, plot
from benchmarks.recording import recording_table
from benchmarks.tcp_path import table as tcp_table

START, END = "<!-- results:start -->", "<!-- results:end -->"

# openssl speed's names for the primitives of each profile (summed for AES-CM).
OPENSSL_PRIMITIVES = {
    "AES_CM_128_HMAC_SHA1_80": (("-evp", "aes-128-ctr"), ("-hmac", "sha1")),
    "AEAD_AES_128_GCM": (("-evp", "aes-128-gcm"),),
    "AEAD_AES_256_GCM": (("-evp", "aes-256-gcm"),),
}


def openssl_ns_per_packet(profile: str) -> float:
    total = 0.0
    for option, name in OPENSSL_PRIMITIVES[profile]:
        out = subprocess.run(
            ["openssl", "speed", "-seconds", "1", "-bytes", str(PACKET_BYTES), option, name],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        kilobytes_per_s = float(re.findall(r"([\d.]+)k\s*$", out, re.MULTILINE)[-1])
        total += PACKET_BYTES / (kilobytes_per_s * 1000) * 1e9
    return total


def python_figures(path: Path) -> dict[tuple[str, str, str], float]:
    """(op, path, profile) -> ns per packet, from pytest-benchmark's JSON."""
    figures: dict[tuple[str, str, str], float] = {}
    for bench in json.loads(path.read_text())["benchmarks"]:
        op = bench["name"].split("[")[0].removeprefix("test_")
        per_round = bench["extra_info"].get("packets_per_round", 1)
        params = bench["params"]
        if "path" in params:  # SRTP: (op, path, profile)
            key = (op, params["path"], params["profile"])
        else:  # relay core: (op, relay kind, "")
            key = (op, params["kind"], "")
        figures[key] = bench["stats"]["min"] * 1e9 / per_round
    return figures


def relay_core_table(
    py: dict[tuple[str, str, str], float], rs: dict[tuple[str, str, str], float]
) -> list[str]:
    op = "fan_out_one_video_source_to_three_receivers"
    fast, reference = py.get((op, "fast", "")), py.get((op, "reference", ""))
    native = rs.get(("relay_core", "rust_native", "fan_out_3"))
    if not fast or not reference or not native:
        return []
    return [
        "### Relay core, sans-IO (ns per input packet, fanned out to 3 receivers)",
        "",
        "| Rust relay in Rust | Rust relay from Python | Python reference relay | "
        "**reference / Rust in Rust** | **reference / Rust from Python** |",
        "|--:|--:|--:|--:|--:|",
        f"| {native:.0f} | {fast:.0f} | {reference:.0f} | {ratio(reference, native)} "
        f"| {ratio(reference, fast)} |",
        "",
        "The forwarding logic alone (rewrite, history, stats; no sockets, no SRTP) on the same"
        " packets: `rust_fastpath/benches/relay_core.rs` natively, `benchmarks/test_relay.py`"
        " through the Python API (a PyO3 call and the result objects per packet).",
    ]


def rust_figures(lines: Iterable[str]) -> dict[tuple[str, str, str], float]:
    """(bench, subject, op) -> ns per packet, from the Rust benches' JSON lines."""
    figures = {}
    for line in lines:
        if line.startswith("{"):
            row: dict[str, Any] = json.loads(line)
            figures[(row["bench"], row["subject"], row["op"])] = row["ns_per_packet"]
    return figures


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}\u00d7"  # multiplication sign


def srtp_table(py: dict[tuple[str, str, str], float], rs: dict[tuple[str, str, str], float],
               openssl: dict[str, float]) -> list[str]:  # fmt: skip
    rows = [
        "### SRTP, one 1,200-byte RTP packet (ns per packet; lower is better)",
        "",
        "| profile | op | Rust in Rust | crypto only (aws-lc-rs) | openssl speed | "
        "Rust from Python | libsrtp from Python | **Rust / crypto only** | "
        "**libsrtp / Rust (Python)** |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for profile in PROFILES:
        for op in ("protect", "unprotect"):
            native = rs.get(("rust_native", profile, op))
            crypto = rs.get(("crypto_only", profile, op))
            ours, theirs = py.get((op, "rust", profile)), py.get((op, "libsrtp", profile))
            if None in (native, crypto, ours, theirs):
                continue
            assert native and crypto and ours and theirs
            rows.append(
                f"| {profile} | {op} | {native:.0f} | {crypto:.0f} | {openssl[profile]:.0f} "
                f"| {ours:.0f} | {theirs:.0f} | {ratio(native, crypto)} | {ratio(theirs, ours)} |"
            )
    py_crypto = {p: py.get(("protect", "crypto_only", p)) for p in PROFILES}
    rows += [
        "",
        "*Crypto only* is the bare primitives on the same bytes (AES-CTR over the payload +"
        " HMAC-SHA1 over the packet, or one AES-GCM seal), without SRTP's IV derivation,"
        " state or replay window: the floor our SRTP layer adds to. From Python, the same"
        " primitives through pyca/cryptography cost "
        + ", ".join(f"{p} {v:.0f} ns" for p, v in py_crypto.items() if v)
        + " per packet (call overhead dominates).",
    ]
    return rows


def candidates_table(rs: dict[tuple[str, str, str], float]) -> list[str]:
    rows = [(s, op, ns) for (b, s, op), ns in rs.items() if b == "crypto_candidate"]
    if not rows:
        return []
    out = [
        "### Crypto crate candidates (ns per 1,200-byte packet, primitives only)",
        "",
        "| crate | AES-128-CTR + HMAC-SHA1 | AES-128-GCM |",
        "|---|--:|--:|",
    ]
    for crate in dict.fromkeys(s for s, _, _ in rows):
        cm = rs.get(("crypto_candidate", crate, "aes_cm_hmac_sha1"))
        gcm = rs.get(("crypto_candidate", crate, "aes_128_gcm"))
        out.append(f"| {crate} | {f'{cm:.0f}' if cm else 'n/a'} | {gcm:.0f} |")
    return out


def relay_rows(lines: Iterable[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith('{"bench": "relay_loopback"')]


def loopback_columns(cpu: str, *middle: str, left: Iterable[str] = ()) -> list[str]:
    """The header and alignment rows of a loopback table: the rate columns (``cpu``: whose
    CPU), ``middle``, then the latency columns; figures right-aligned, ``left`` left."""
    columns = [
        "receivers",
        "forwarded pkt/s at < 0.1 % loss",
        cpu,
        "**forwarded pkt/s per core**",
        *middle,
        "latency p50 / p99 via relay (µs)",
        "direct p50 / p99 (µs)",
        "**added p50 / p99 (µs)**",
    ]
    aligned = ("---" if c in left else "--:" for c in columns)
    return ["| " + " | ".join(columns) + " |", "|" + "".join(f"{a}|" for a in aligned)]


def rate_cells(r: dict[str, Any]) -> str:
    """The rate cells of a loopback row (see ``loopback_columns``)."""
    return (
        f"| {r['receivers']} | {r['max_pps']:,.0f} | {r['cpu_utilisation']:.0%} "
        f"| {r['per_core_pps']:,.0f} "
    )


def latency_cells(r: dict[str, Any]) -> str:
    """Via the relay, direct, and what the relay adds: p50 / p99 in µs."""
    return (
        f"| {r['p50_us']:.0f} / {r['p99_us']:.0f} "
        f"| {r['direct_p50_us']:.0f} / {r['direct_p99_us']:.0f} "
        f"| {r['p50_us'] - r['direct_p50_us']:.0f} / {r['p99_us'] - r['direct_p99_us']:.0f} |"
    )


def relay_table(rows: list[dict[str, Any]]) -> list[str]:
    raw = next((r for r in rows if r["subject"] == "raw_sendmmsg"), None)
    raw_gso = next((r for r in rows if r["subject"] == "raw_gso"), None)
    relays = [r for r in rows if r["subject"] == "rust_relay"]
    plain = {r["receivers"]: r for r in rows if r["subject"] == "rust_relay_sendmmsg"}
    if raw is None or not relays:
        return []
    out = [
        "### Relay on loopback: one SRTP sender to N receivers, 1,200-byte packets",
        "",
        *loopback_columns(
            "data-plane CPU",
            "same, `sendmmsg` only (no GSO)",
            "**/ raw sendmmsg per core**",
            "/ raw GSO per core",
            "max set by",
            left=["max set by"],
        ),
    ]
    for r in relays:
        without = plain.get(r["receivers"])
        plain_rate = f"{without['per_core_pps']:,.0f}" if without else "n/a"
        of_raw = f"{r['per_core_pps'] / raw['per_core_pps']:.0%}"
        of_gso = f"{r['per_core_pps'] / raw_gso['per_core_pps']:.0%}" if raw_gso else "n/a"
        out.append(
            f"{rate_cells(r)}| {plain_rate} | {of_raw} | {of_gso} "
            f"| {r['limited_by']} {latency_cells(r)}"
        )
    gso_note = (
        f" With UDP segmentation offload (`UDP_SEGMENT`, as the media port sends), the same"
        f" blaster does **{raw_gso['per_core_pps']:,.0f} packets/s per core**."
        if raw_gso
        else ""
    )
    out += [
        "",
        f"Raw loopback in the same run (`sendmmsg` blaster into a `recvmmsg` receiver, no"
        f" crypto): **{raw['per_core_pps']:,.0f} packets/s per blaster core**"
        f" ({raw['max_pps']:,.0f}/s delivered at < 0.1 % loss with the blaster"
        f" {raw['cpu_utilisation']:.0%} busy; max set by {raw['limited_by']}).{gso_note}"
        f" Profile {relays[0]['profile']}; {raw['step_s']:.1f} s steps; {raw['pinned']};"
        f" nice {raw['nice']}. Latency is measured at half the maximum input rate"
        " (every packet decrypted by the receivers), in three 1 s rounds alternating"
        " relayed and direct; the table shows the median round's p50 and p99. *Direct* is"
        " the same sender and SRTP straight to one receiver, so *added* is what the relay"
        " hop costs.",
        *reference_table(relays, rows),
        "",
        "![relay throughput and latency](relay.png)",
    ]
    return out


def reference_table(rust: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[str]:
    """The reference relay measured the same way (``benchmarks/loopback_reference.py``)."""
    ours = {r["receivers"]: r for r in rust}
    refs = [r for r in rows if r["subject"] == "reference_relay"]
    if not refs:
        return []
    out = [
        "",
        "The Python reference relay in the same run, measured the same way"
        " (`benchmarks/loopback_reference.py`: asyncio socket, libsrtp, reference relay;"
        " keys installed directly):",
        "",
        *loopback_columns("relay CPU", "**Rust / reference per core**"),
    ]
    for r in refs:
        mine = ours.get(r["receivers"])
        faster = f"{mine['per_core_pps'] / r['per_core_pps']:.0f}\u00d7" if mine else "n/a"
        out.append(f"{rate_cells(r)}| {faster} {latency_cells(r)}")
    return out


def load_table(points: list[dict[str, Any]]) -> list[str]:
    rust = {p["sessions"]: p for p in points if p["media_path"] == "rust"}
    py = {p["sessions"]: p for p in points if p["media_path"] == "aiortc"}
    if not rust:
        return []
    out = [
        "### Load generator: `livelens serve`, N live sessions over real DTLS-SRTP",
        "",
        "| sessions | forwarded pkt/s | rust: server µs CPU per packet (net of idle) "
        "| aiortc + reference relay: µs per packet (net of idle) | **aiortc / rust** |",
        "|--:|--:|--:|--:|--:|",
    ]
    for n, r in sorted(rust.items()):
        p = py.get(n)
        rate = r["forwarded"] / r["seconds"]
        theirs = f"{p['us_per_packet']:.1f} ({p['us_per_packet_net']:.1f})" if p else "n/a"
        ratio_net = (
            f"{p['us_per_packet_net'] / r['us_per_packet_net']:.1f}\u00d7"
            if p and r["us_per_packet_net"] > 0 else "n/a"
        )  # fmt: skip
        out.append(
            f"| {n} | {rate:,.0f} | {r['us_per_packet']:.1f} ({r['us_per_packet_net']:.1f}) "
            f"| {theirs} | {ratio_net} |"
        )
    any_point = next(iter(rust.values()))
    out += [
        "",
        f"Each customer sends {any_point['rate_per_session']:.0f} pre-built VP8 RTP packets/s"
        " (injected as plaintext into aiortc's DTLS transport: no encoder), each agent counts"
        " what its DTLS transport unprotects (no decoder). Server CPU is the whole process"
        f" (every thread) over a {any_point['seconds']:.0f} s window, divided by the packets"
        " the agents received; *net of idle* first subtracts what the server burns with the"
        " same sessions up and no media. The ratio uses the net figures.",
        "",
        "![server CPU per forwarded packet](load.png)",
    ]
    return out


def reports_table(figures: list[dict[str, Any]]) -> list[str]:
    if not figures:
        return []
    asked = {
        "csv": "CSV export (API key)",
        "json": "JSON export (API key)",
        "summary": "reports page summary, by month",
    }
    out = [
        f"### Reports over a year of {figures[0]['sessions']:,} sessions (`livelens serve`)",
        "",
        "| store | request | first byte ms | total ms | bytes | rows "
        "| server RSS before MiB | peak RSS MiB |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for f in figures:
        out.append(
            f"| {f['engine']} | {asked.get(f['request'], f['request'])} | {f['first_byte_ms']:.0f} "
            f"| {f['total_ms']:,.0f} | {f['body_bytes']:,} | {f['rows']:,} "
            f"| {f['rss_before_mib']:.0f} | {f['peak_rss_mib']:.0f} |"
        )
    out += [
        "",
        "The sessions are written straight into the store (benchmarks.reports_load); the"
        " server is asked as the reports page and an account's tools ask. Peak RSS is the"
        " server's VmHWM over the request, reset just before it: the exports stream, so it"
        " should not grow with the number of sessions.",
    ]
    return out


def plots(relays: list[dict[str, Any]], points: list[dict[str, Any]], where: Path) -> None:
    """relay.png and load.png next to the README (skipped without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib missing, no plots (pip install -e '.[bench]')")
        return
    raw = next((r for r in relays if r["subject"] == "raw_sendmmsg"), None)
    rust = [r for r in relays if r["subject"] == "rust_relay"]
    if raw and rust:
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
        n = [r["receivers"] for r in rust]
        left.plot(n, [r["per_core_pps"] / 1000 for r in rust], "o-", label="Rust relay, per core")
        wall = [r["max_pps"] / 1000 for r in rust]
        left.plot(n, wall, "s--", label="Rust relay, wall (< 0.1 % loss)")
        plain = [r for r in relays if r["subject"] == "rust_relay_sendmmsg"]
        if plain:
            left.plot([r["receivers"] for r in plain], [r["per_core_pps"] / 1000 for r in plain],
                      "o:", label="Rust relay, sendmmsg only, per core")  # fmt: skip
        raw_gso = next((r for r in relays if r["subject"] == "raw_gso"), None)
        if raw_gso:
            left.axhline(raw_gso["per_core_pps"] / 1000, color="grey", linestyle="--",
                         label="raw GSO, per core")  # fmt: skip
        reference = [r for r in relays if r["subject"] == "reference_relay"]
        if reference:
            left.plot([r["receivers"] for r in reference],
                      [r["per_core_pps"] / 1000 for r in reference], "^-",
                      label="reference relay, per core")  # fmt: skip
        left.axhline(raw["per_core_pps"] / 1000, color="grey", label="raw sendmmsg, per core")
        left.axhline(150, color="red", linestyle=":", label="goal: 150k per core")
        left.set(xlabel="receivers", ylabel="forwarded kpackets/s", xscale="log", ylim=(0, None),
                 title="Forwarded packets/s (1,200 B, SRTP)")  # fmt: skip
        left.set_xticks(n, [str(x) for x in n])
        left.minorticks_off()
        left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
        width = 0.2
        for k, (key, label) in enumerate([("p50_us", "relay p50"), ("p99_us", "relay p99"),
                                          ("direct_p50_us", "direct p50"),
                                          ("direct_p99_us", "direct p99")]):  # fmt: skip
            right.bar([i + (k - 1.5) * width for i in range(len(n))], [r[key] for r in rust],
                      width, label=label)  # fmt: skip
        right.axhline(1000, color="red", linestyle=":", label="1 ms")
        right.set(xlabel="receivers", ylabel="µs", yscale="log",
                  title="Latency at half of max")  # fmt: skip
        right.set_xticks(range(len(n)), [str(x) for x in n])
        right.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(where / "relay.png", dpi=90)
        plt.close(fig)
    if points:
        fig, ax = plt.subplots(figsize=(6, 4))
        for path, label in (("rust", "Rust media port"), ("aiortc", "aiortc + reference relay")):
            mine = sorted(
                (p for p in points if p["media_path"] == path), key=lambda p: p["sessions"]
            )
            if mine:
                ax.plot([p["sessions"] for p in mine], [p["us_per_packet_net"] for p in mine],
                        "o-", label=label)  # fmt: skip
        ax.set(xlabel="live sessions", ylabel="server CPU µs per forwarded packet (net of idle)",
               yscale="log", xscale="log", title="livelens serve under load")  # fmt: skip
        sessions = sorted({p["sessions"] for p in points})
        ax.set_xticks(sessions, [str(x) for x in sessions])
        ax.legend()
        fig.tight_layout()
        fig.savefig(where / "load.png", dpi=90)
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python-json", type=Path, required=True)
    parser.add_argument("--rust-lines", type=Path, required=True)
    parser.add_argument("--relay-lines", type=Path, help="relay_loopback's JSON lines")
    parser.add_argument("--tcp-lines", type=Path, help="benchmarks.tcp_path's JSON lines")
    parser.add_argument("--load-json", type=Path, help="benchmarks.loadgen's output")
    parser.add_argument("--reports-json", type=Path, help="benchmarks.reports_load's output")
    parser.add_argument("--peers-json", type=Path, help="benchmarks.peers' output")
    parser.add_argument("--recording-json", type=Path, help="benchmarks.recording's output")
    parser.add_argument("--control-json", type=Path, help="benchmarks.control_plane's output")
    parser.add_argument("--command", required=True, help="the command that produced the run")
    parser.add_argument("--readme", type=Path, default=Path(__file__).with_name("README.md"))
    args = parser.parse_args()

    py = python_figures(args.python_json)
    rs = rust_figures(args.rust_lines.read_text().splitlines())
    relays = relay_rows(args.relay_lines.read_text().splitlines()) if args.relay_lines else []
    load = json.loads(args.load_json.read_text()) if args.load_json else []
    reports = json.loads(args.reports_json.read_text()) if args.reports_json else []
    peers = json.loads(args.peers_json.read_text()) if args.peers_json else {}
    recording = json.loads(args.recording_json.read_text()) if args.recording_json else {}
    control = json.loads(args.control_json.read_text()) if args.control_json else {}
    plots(relays, load, args.readme.parent)
    plot(peers, args.readme.parent)
    openssl = {profile: openssl_ns_per_packet(profile) for profile in PROFILES}
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())  # fmt: skip
    lines = [
        START,
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {cpu}, "
        f"{len(Path('/proc/cpuinfo').read_text().split('processor')) - 1} cores, "
        f"with `{args.command}`.",
        "",
        *srtp_table(py, rs, openssl),
        "",
        *candidates_table(rs),
        "",
        *relay_core_table(py, rs),
        "",
        *relay_table(relays),
        "",
        *(tcp_table(args.tcp_lines.read_text().splitlines()) if args.tcp_lines else []),
        "",
        *load_table(load),
        "",
        *recording_table(recording),
        "",
        *peers_table(peers),
        "",
        *reports_table(reports),
        "",
        *control_tables(control),
        END,
    ]
    text = args.readme.read_text()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    args.readme.write_text(before + "\n".join(lines) + after)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
