#!/usr/bin/env bash
# Prepares a checkout: the Python environment in .venv with LiveLens built from
# source (Rust data plane included). Re-installs only when the build inputs change.
# With --test it also installs what the test suite needs from Debian (Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

python="${PYTHON:-python3.11}"
need "$python" || python=python3
"$python" -c 'import sys; assert sys.version_info >= (3, 11), "LiveLens needs Python 3.11+"'
need cargo || { echo "setup: Rust (cargo) is required to build the data plane; see https://rustup.rs" >&2; exit 1; }

if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || apt_install chromium
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.livelens-build
inputs=$(cat pyproject.toml Cargo.toml rust_fastpath/Cargo.toml $(find rust_fastpath/src -type f | sort) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs" ] || ! .venv/bin/python -c 'import livelens._fastpath' 2>/dev/null; then
  echo "setup: installing LiveLens and its dependencies into .venv (builds the Rust data plane)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$inputs" > "$stamp"
fi
