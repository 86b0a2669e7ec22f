#!/usr/bin/env bash
# The whole test suite: lint and types, Rust tests, then every Python test
# (unit, store contract on SQLite and on a real MongoDB-protocol server,
# HTTP API, browser end to end). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

echo "== lint and types"
.venv/bin/ruff check livelens tests benchmarks
.venv/bin/ruff format --check livelens tests benchmarks
.venv/bin/mypy

echo "== rust"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --quiet
# Every parser of the data plane under libFuzzer for a bounded time (no panics).
scripts/fuzz.sh "${LIVELENS_FUZZ_SECONDS:-10}"

echo "== python"
if [ -z "${LIVELENS_TEST_MONGO_URL:-}" ]; then
  LIVELENS_FERRETDB_BIN="$(scripts/ensure-ferretdb.sh)"
  export LIVELENS_FERRETDB_BIN
fi
exec .venv/bin/pytest "$@"
