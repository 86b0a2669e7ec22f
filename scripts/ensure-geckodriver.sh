#!/usr/bin/env bash
# Builds geckodriver (Firefox's WebDriver server, published on crates.io) once per
# machine and prints the binary's path; tests/e2e/test_firefox.py drives Debian's
# Firefox ESR through it. The binary is cached outside the work tree so fresh clones
# reuse it. With --cached it only prints the path of a binary built before (exit 1 if
# there is none), so a test run never starts a build of several minutes.
set -euo pipefail
version="0.37.1"
cache="${LIVELENS_CACHE_DIR:-$HOME/.cache/livelens}/geckodriver-$version"
bin="$cache/geckodriver"
# A cached binary counts only if it starts: a bad build must be rebuilt, not reused.
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then echo "$bin"; exit 0; fi
if [ "${1:-}" = "--cached" ]; then
  echo "ensure-geckodriver: geckodriver $version is not built on this machine" \
    "(scripts/setup.sh --test or scripts/ensure-geckodriver.sh builds it)" >&2
  exit 1
fi
command -v cargo >/dev/null || { echo "ensure-geckodriver: Rust (cargo) is required to build geckodriver" >&2; exit 1; }
mkdir -p "$cache"
root="$cache/install"
rm -rf "$root"
cargo install geckodriver --version "$version" --locked --root "$root" >"$cache/build.log" 2>&1 || {
  echo "ensure-geckodriver: build failed, see $cache/build.log" >&2; exit 1; }
"$root/bin/geckodriver" --version >/dev/null 2>&1 || {
  echo "ensure-geckodriver: built binary does not start" >&2; exit 1; }
mv "$root/bin/geckodriver" "$bin"
rm -rf "$root"
echo "$bin"
