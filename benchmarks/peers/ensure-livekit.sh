#!/usr/bin/env bash
# Builds livekit-server once per machine from the Go module proxy and prints the binary's
# path (for the side-by-side bench; never the test suite). Cached outside the work tree.
# `--download-only` fetches the module and its dependencies without compiling.
set -euo pipefail
version="v1.13.5"  # v1.13.11 replaces pion/dtls by a fork the module proxy does not serve
cache="${LIVELENS_CACHE_DIR:-$HOME/.cache/livelens}/livekit-server-$version"
bin="$cache/livekit-server"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "ensure-livekit: Go is required to build livekit-server" >&2; exit 1; }
mkdir -p "$cache"
export GOFLAGS="-mod=mod" GOTOOLCHAIN=local
moddir=$(go mod download -json "github.com/livekit/livekit-server@$version" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
(cd "$moddir" && go mod download) >"$cache/download.log" 2>&1 || {
  echo "ensure-livekit: download failed, see $cache/download.log" >&2; exit 1; }
[[ "${1:-}" == "--download-only" ]] && exit 0
# Built in a writable copy: the module cache is read-only.
work="$cache/src"
rm -rf "$work"; cp -r "$moddir" "$work"; chmod -R u+w "$work"
(cd "$work" && go build -o "$bin.tmp" ./cmd/server) >"$cache/build.log" 2>&1 || {
  echo "ensure-livekit: build failed, see $cache/build.log" >&2; exit 1; }
rm -rf "$work"
"$bin.tmp" --version >/dev/null 2>&1 || { echo "ensure-livekit: built binary does not start" >&2; exit 1; }
mv "$bin.tmp" "$bin"
echo "$bin"
