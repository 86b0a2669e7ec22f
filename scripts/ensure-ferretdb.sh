#!/usr/bin/env bash
# Builds FerretDB 1.24 once per machine and prints the binary's path.
# The binary is cached outside the work tree so fresh clones reuse it.
set -euo pipefail
version="v1.24.2"
cache="${LIVELENS_CACHE_DIR:-$HOME/.cache/livelens}/ferretdb-$version"
bin="$cache/ferretdb"
# A cached binary counts only if it starts: a bad build must be rebuilt, not reused.
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "ensure-ferretdb: Go is required to build FerretDB" >&2; exit 1; }
mkdir -p "$cache"
export GOFLAGS="-mod=mod" GOTOOLCHAIN=local
# `go install module@version` builds a binary that panics at start: FerretDB's release
# tooling writes build/version/version.txt, which the published module lacks. So build
# inside a copy of the downloaded module with that file written.
moddir=$(go mod download -json "github.com/FerretDB/FerretDB@$version" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
work="$cache/src"
rm -rf "$work"; cp -r "$moddir" "$work"; chmod -R u+w "$work"
echo "$version" > "$work/build/version/version.txt"
(cd "$work" && go build -o "$bin.tmp" ./cmd/ferretdb) >"$cache/build.log" 2>&1 || {
  echo "ensure-ferretdb: build failed, see $cache/build.log" >&2; exit 1; }
rm -rf "$work"
"$bin.tmp" --version >/dev/null 2>&1 || { echo "ensure-ferretdb: built binary does not start" >&2; exit 1; }
mv "$bin.tmp" "$bin"
echo "$bin"
