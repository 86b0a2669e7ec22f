#!/usr/bin/env bash
# Runs every benchmark in one go (never part of the test suite) and writes the table of
# results into benchmarks/README.md. Side by side in one run: the ratios are what count,
# these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# The plotting extra on top of what setup.sh installed (once; make test does not need it).
.venv/bin/python -c 'import matplotlib' 2>/dev/null \
  || .venv/bin/python -m pip install -q -e '.[test,bench]'

out=build/bench
mkdir -p "$out"
echo "== Rust benches" >&2
{
  cargo bench --quiet --bench srtp
  cargo bench --quiet --bench relay_core
  cargo bench --quiet --bench record
  cargo bench --quiet --bench crypto_candidates --features bench-candidates
} | tee "$out/rust.jsonl"
echo "== Relay on loopback (about 2 minutes)" >&2
cargo bench --quiet --bench relay_loopback | tee "$out/relay.jsonl"
echo "== The reference relay on loopback, measured the same way (about 1 minute)" >&2
.venv/bin/python -m benchmarks.loopback_reference | tee -a "$out/relay.jsonl"
echo "== Python benches" >&2
.venv/bin/pytest benchmarks -q -p no:randomly --benchmark-only \
  --benchmark-columns=min,median --benchmark-json="$out/python.json"
echo "== Load generator: livelens serve, rust and aiortc media paths (about 2 minutes)" >&2
.venv/bin/python -m benchmarks.loadgen --out "$out/load.json"
echo "== Reports: 100,000 sessions on SQLite and on MongoDB (FerretDB) (about 5 minutes)" >&2
.venv/bin/python -m benchmarks.reports_load --out "$out/reports.json"
.venv/bin/python -m benchmarks.report --python-json "$out/python.json" \
  --rust-lines "$out/rust.jsonl" --relay-lines "$out/relay.jsonl" \
  --load-json "$out/load.json" --reports-json "$out/reports.json" --command "make bench"
