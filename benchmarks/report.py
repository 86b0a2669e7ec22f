"""Turn one benchmark run into the tables of ``benchmarks/README.md``.

Inputs (all from the same run, so ratios compare like with like on a noisy machine):
the pytest-benchmark JSON, the JSON lines the Rust benches print, and ``openssl speed``.
Figures are the best batch of each measurement (least disturbed by other processes).
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

from benchmarks.packets import PACKET_BYTES, PROFILES

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
        figures[(op, bench["params"]["path"], bench["params"]["profile"])] = (
            bench["stats"]["min"] * 1e9 / per_round
        )
    return figures


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python-json", type=Path, required=True)
    parser.add_argument("--rust-lines", type=Path, required=True)
    parser.add_argument("--command", required=True, help="the command that produced the run")
    parser.add_argument("--readme", type=Path, default=Path(__file__).with_name("README.md"))
    args = parser.parse_args()

    py = python_figures(args.python_json)
    rs = rust_figures(args.rust_lines.read_text().splitlines())
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
        END,
    ]
    text = args.readme.read_text()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    args.readme.write_text(before + "\n".join(lines) + after)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
