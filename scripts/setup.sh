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
  # ffprobe checks the recordings the data plane writes (cargo test, rust_fastpath/src/record).
  [ -x /usr/bin/ffprobe ] || apt_install ffmpeg
fi

# --- accessibility check (tests/e2e/test_accessibility.py): axe-core from npm, pinned by
# its package-lock.json; installed again only when the lock file changes.
if [ "${1:-}" = "--test" ]; then
  a11y=tests/e2e/a11y
  lock=$(sha256sum "$a11y/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$a11y/node_modules/.livelens-lock" 2>/dev/null)" != "$lock" ] \
      || [ ! -f "$a11y/node_modules/axe-core/axe.min.js" ]; then
    need npm || apt_install npm
    echo "setup: installing axe-core (npm) for the accessibility check"
    (cd "$a11y" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock" > "$a11y/node_modules/.livelens-lock"
  fi
fi
# --- end of the accessibility check's block

# --- ICE over TCP only (tests/e2e/test_ice_tcp.py): nftables drops every UDP datagram
# inside a private network namespace (unshare -n) that holds the server and Chromium.
if [ "${1:-}" = "--test" ]; then
  need nft || [ -x /usr/sbin/nft ] || apt_install nftables
fi
# --- end of the ICE-TCP block

# --- Firefox (tests/e2e/test_firefox.py): Debian's Firefox ESR driven by Selenium through
# geckodriver, which is built from crates.io once per machine (scripts/ensure-geckodriver.sh).
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/firefox-esr ] || apt_install firefox-esr
  if ! scripts/ensure-geckodriver.sh --cached >/dev/null 2>&1; then
    echo "setup: building geckodriver for the Firefox tests (cargo, a few minutes)"
    scripts/ensure-geckodriver.sh >/dev/null
  fi
fi
# --- end of the Firefox block

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
