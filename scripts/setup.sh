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
  echo "setup: installing LiveLens and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  echo "setup: building the Rust data plane (the first build takes a few minutes);" \
    "the full log goes to .venv/build.log"
  # pip is quiet for minutes while cargo works: count cargo's crates as they finish.
  if ! .venv/bin/python -m pip install -v -e '.[test]' 2>&1 | tee .venv/build.log \
      | awk '/Compiling /{n++; if (n % 5 == 0) {print "setup:   " n " crates compiled"; fflush()}}
             /Finished /{print "setup:   the data plane is built"; fflush()}'; then
    tail -n 30 .venv/build.log >&2
    echo "setup: the build failed; the whole log is in .venv/build.log" >&2
    exit 1
  fi
  echo "$inputs" > "$stamp"
fi
