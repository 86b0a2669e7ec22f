#!/usr/bin/env bash
# Runs every benchmark in one go (never part of the test suite) and writes the table of
# results into benchmarks/README.md. Side by side in one run: the ratios are what count,
# these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

out=build/bench
mkdir -p "$out"
echo "== Rust benches" >&2
{
  cargo bench --quiet --bench srtp
  cargo bench --quiet --bench crypto_candidates --features bench-candidates
} | tee "$out/rust.jsonl"
echo "== Python benches" >&2
.venv/bin/pytest benchmarks -q -p no:randomly --benchmark-only \
  --benchmark-columns=min,median --benchmark-json="$out/python.json"
.venv/bin/python -m benchmarks.report --python-json "$out/python.json" \
  --rust-lines "$out/rust.jsonl" --command "make bench"
