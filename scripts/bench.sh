#!/usr/bin/env bash
# Runs every benchmark in one go (never part of the test suite) and writes the table of
# results into benchmarks/README.md. Side by side in one run: the ratios are what count,
# these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[[ "${1:-}" == "--quick" ]] && quick=true  # `make bench ARGS=--quick`: a subset of each part
scripts/setup.sh --test
# Janus for the side-by-side bench (Debian's package; never installed by the test suite).
if ! command -v janus >/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get install -y -q janus >&2
fi
# The bench extra (plots, LiveKit's client messages, py-spy) on top of setup.sh's (once).
{ .venv/bin/python -c 'import matplotlib, livekit.api' 2>/dev/null && [[ -x .venv/bin/py-spy ]]; } \
  || .venv/bin/python -m pip install -q -e '.[test,bench]'

out=build/bench
mkdir -p "$out"
# Each part's heading carries the minutes since the start, so the run's length can be
# checked against its 30-minute budget (`make bench` on two cores).
started=$SECONDS
part() { printf '== [%d min] %s\n' $(((SECONDS - started) / 60)) "$1" >&2; }
# LiveKit beside Janus when livekit-server builds from the Go module proxy (cached).
peers=livelens,janus
if .venv/bin/python -m benchmarks.peers.livekit_build >/dev/null; then peers+=",livekit"; fi
if $quick; then
  part "Quick: recording on and off, 2 + 2 sessions (about 1 minute)"
  .venv/bin/python -m benchmarks.recording --quick --out "$out/recording-quick.json"
  part "Quick: the side-by-side bench, reduced (about 2 minutes; README untouched)"
  .venv/bin/python -m benchmarks.peers --servers "$peers,direct" --sessions 1,4 --fanout 1,4 \
    --seconds 2 --idle-seconds 1 --out "$out/peers-quick.json" >/dev/null
  .venv/bin/python -m benchmarks.peers.table "$out/peers-quick.json"
  part "Quick: the media port over ICE-TCP beside UDP, 4 receivers (about 30 s)"
  .venv/bin/python -m benchmarks.tcp_path --receivers 4 --seconds 1 --markdown
  part "Quick: the control plane, every scenario reduced (about 3 minutes)"
  status=0
  .venv/bin/python -m benchmarks.control_plane --quick --out "$out/control-quick.json" || status=$?
  .venv/bin/python -m benchmarks.control_plane.table "$out/control-quick.json"
  exit $status  # 1: the soak found a leak
fi
part "Rust benches"
{
  cargo bench --quiet --bench srtp
  cargo bench --quiet --bench relay_core
  cargo bench --quiet --bench record
  cargo bench --quiet --bench crypto_candidates --features bench-candidates
} | tee "$out/rust.jsonl"
part "Relay on loopback (about 2 minutes)"
cargo bench --quiet --bench relay_loopback | tee "$out/relay.jsonl"
part "The reference relay on loopback, measured the same way (about 1 minute)"
.venv/bin/python -m benchmarks.loopback_reference | tee -a "$out/relay.jsonl"
part "The media port over ICE-TCP beside UDP, 1, 4 and 8 receivers (about 3 minutes)"
.venv/bin/python -m benchmarks.tcp_path | tee "$out/tcp_path.jsonl"
part "Python benches"
.venv/bin/pytest benchmarks -q -p no:randomly --benchmark-only \
  --benchmark-columns=min,median --benchmark-json="$out/python.json"
part "Load generator: livelens serve, rust and aiortc media paths (about 2 minutes)"
.venv/bin/python -m benchmarks.loadgen --out "$out/load.json"
part "Recording on and off in one server, the same clients (about 2 minutes)"
.venv/bin/python -m benchmarks.recording --out "$out/recording.json" >/dev/null
part "Reports: 100,000 sessions on SQLite and on MongoDB (FerretDB) (about 5 minutes)"
.venv/bin/python -m benchmarks.reports_load --out "$out/reports.json"
part "LiveLens, Janus (and LiveKit) side by side, the same clients (about 9 minutes)"
.venv/bin/python -m benchmarks.peers --servers "$peers,direct" --out "$out/peers.json" >/dev/null
part "The control plane: signalling, storms, soak (about 6 minutes; a leak stops here)"
.venv/bin/python -m benchmarks.control_plane --out "$out/control.json"
.venv/bin/python -m benchmarks.report --python-json "$out/python.json" \
  --rust-lines "$out/rust.jsonl" --relay-lines "$out/relay.jsonl" \
  --tcp-lines "$out/tcp_path.jsonl" \
  --load-json "$out/load.json" --reports-json "$out/reports.json" \
  --peers-json "$out/peers.json" --recording-json "$out/recording.json" \
  --control-json "$out/control.json" --command "make bench"
part "done"
