#!/usr/bin/env bash
# Builds FerretDB 1.24 once per machine and prints the binary's path.
# The binary is cached outside the work tree so fresh clones reuse it.
set -euo pipefail
version="v1.24.2"
cache="${LIVELENS_CACHE_DIR:-$HOME/.cache/livelens}/ferretdb-$version"
bin="$cache/ferretdb"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "ensure-ferretdb: Go is required to build FerretDB" >&2; exit 1; }
mkdir -p "$cache"
export GOFLAGS="-mod=mod" GOTOOLCHAIN=local
gobin="$cache/gobin"
if GOBIN="$gobin" go install "github.com/FerretDB/FerretDB/cmd/ferretdb@$version" >"$cache/build.log" 2>&1; then
  mv "$gobin/ferretdb" "$bin"
else
  # go install refuses modules with replace directives: build inside the downloaded module.
  moddir=$(go mod download -json "github.com/FerretDB/FerretDB@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work="$cache/src"
  rm -rf "$work"; cp -r "$moddir" "$work"; chmod -R u+w "$work"
  (cd "$work" && go build -o "$bin" ./cmd/ferretdb) >>"$cache/build.log" 2>&1 || {
    echo "ensure-ferretdb: build failed, see $cache/build.log" >&2; exit 1; }
  rm -rf "$work"
fi
echo "$bin"
