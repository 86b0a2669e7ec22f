#!/usr/bin/env bash
# Runs every benchmark in one go (never part of the test suite) and writes the table of
# results into benchmarks/README.md. Side by side in one run: the ratios are what count,
# these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[[ "${1:-}" == "--quick" ]] && quick=true  # `make bench ARGS=--quick`: the side-by-side subset
scripts/setup.sh --test
# Janus for the side-by-side bench (Debian's package; never installed by the test suite).
if ! command -v janus >/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get install -y -q janus >&2
fi
# The bench extra (plots, LiveKit's client messages) on top of setup.sh's (once).
.venv/bin/python -c 'import matplotlib, livekit.api' 2>/dev/null \
  || .venv/bin/python -m pip install -q -e '.[test,bench]'

out=build/bench
mkdir -p "$out"
# LiveKit beside Janus when livekit-server builds from the Go module proxy (cached).
peers=livelens,janus
if .venv/bin/python -m benchmarks.peers.livekit_build >/dev/null; then peers+=",livekit"; fi
if $quick; then
  echo "== Quick: the side-by-side bench, reduced (about 4 minutes; README untouched)" >&2
  .venv/bin/python -m benchmarks.peers --servers "$peers" --sessions 1,4,16 --fanout 1,4 \
    --seconds 3 --out "$out/peers-quick.json" >/dev/null
  exec .venv/bin/python -m benchmarks.peers.table "$out/peers-quick.json"
fi
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
echo "== LiveLens, Janus (and LiveKit) side by side, the same clients (about 8 minutes)" >&2
.venv/bin/python -m benchmarks.peers --servers "$peers" --out "$out/peers.json" >/dev/null
.venv/bin/python -m benchmarks.report --python-json "$out/python.json" \
  --rust-lines "$out/rust.jsonl" --relay-lines "$out/relay.jsonl" \
  --load-json "$out/load.json" --reports-json "$out/reports.json" \
  --peers-json "$out/peers.json" --command "make bench"
