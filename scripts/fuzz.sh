#!/usr/bin/env bash
# Runs every cargo-fuzz target of the data plane (rust_fastpath/fuzz) for SECONDS each
# (default 60) on the nightly toolchain: RTP parsing, RTCP compounds, SRTP/SRTCP,
# STUN, RFC 4571 framing (ICE-TCP), the media port endpoint, the whole relay, and the
# recorder (VP8/Opus depacketising to sealed WebM) and its sealed chunk reader.
# Corpora persist in rust_fastpath/fuzz/corpus/<target> (seeded from
# tests/vectors/media on first use); a crash leaves its input in
# rust_fastpath/fuzz/artifacts/<target>/ and fails the script.
# Installs what it needs: the nightly toolchain (rustup) and cargo-fuzz (crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS per target]" >&2; exit 2; }
cargo +nightly --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz

fuzz=rust_fastpath/fuzz
# Seed the parser corpora with the shared vectors, so runs start past the easy checks.
for target in rtp rtcp_compound; do
  corpus="$fuzz/corpus/$target"
  if [ ! -d "$corpus" ]; then
    mkdir -p "$corpus"
    python3 - "$corpus" "${target%%_*}" <<'PY'
import hashlib, json, pathlib, sys
corpus, section = pathlib.Path(sys.argv[1]), sys.argv[2]
vectors = json.loads(pathlib.Path("tests/vectors/media/rtp_rtcp.json").read_text())
for vector in vectors[section]:
    data = bytes.fromhex(vector["hex"])
    (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
PY
  fi
done

cd "$fuzz"
cargo +nightly fuzz build -O
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo +nightly fuzz list); do
  echo "== fuzz $target for ${seconds}s"
  if ! cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed; the input is in $fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^Done' "$log"
done
