"""Builds ``livekit-server`` once per machine from the Go module proxy, for the
side-by-side bench (never the test suite), and answers the binary's path; cached
outside the work tree. ``python -m benchmarks.peers.livekit_build [--download-only]``
prints the path (or only fetches the module and its dependencies), exit 1 with the
reason when it cannot be had."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# v1.13.11 replaces pion/dtls by a fork the module proxy does not serve (403).
VERSION = "v1.13.5"
MODULE = "github.com/livekit/livekit-server"


class BuildFailed(Exception):
    """Why livekit-server could not be had; the log named in it says more."""


def _cache() -> Path:
    root = os.environ.get("LIVELENS_CACHE_DIR") or Path.home() / ".cache" / "livelens"
    return Path(root) / f"livekit-server-{VERSION}"


def _starts(binary: Path) -> bool:
    try:
        return (
            subprocess.run([binary, "--version"], capture_output=True, timeout=30).returncode == 0
        )
    except OSError:
        return False


def _go(args: list[str], cwd: Path | None, log: Path) -> str:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    with log.open("w") as out:
        done = subprocess.run(["go", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=out, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise BuildFailed(f"go {args[0]} failed, see {log}")
    return done.stdout


def ensure(*, download_only: bool = False) -> Path:
    """The built binary's path (built first if it is not cached yet)."""
    cache = _cache()
    binary = cache / "livekit-server"
    if binary.exists() and _starts(binary):
        return binary
    if shutil.which("go") is None:
        raise BuildFailed("Go is required to build livekit-server")
    cache.mkdir(parents=True, exist_ok=True)
    listing = _go(["mod", "download", "-json", f"{MODULE}@{VERSION}"], None, cache / "download.log")
    module_dir = Path(json.loads(listing)["Dir"])
    _go(["mod", "download"], module_dir, cache / "download.log")
    if download_only:
        return binary
    # Built in a writable copy: the module cache is read-only.
    work = cache / "src"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(module_dir, work)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    staged = cache / "livekit-server.tmp"
    _go(["build", "-o", str(staged), "./cmd/server"], work, cache / "build.log")
    shutil.rmtree(work, ignore_errors=True)
    if not _starts(staged):
        raise BuildFailed("the built livekit-server does not start")
    staged.replace(binary)
    return binary


def main() -> None:
    try:
        path = ensure(download_only="--download-only" in sys.argv[1:])
    except BuildFailed as exc:
        print(f"livekit_build: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(path)


if __name__ == "__main__":
    main()
