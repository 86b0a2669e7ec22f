#!/usr/bin/env bash
# Sets up the checkout (first run builds it) and runs the server on the embedded store.
# Arguments go to `livelens serve`, e.g. --host 0.0.0.0 --port 8443.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/livelens serve "$@"
