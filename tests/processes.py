"""Child processes the tests and benchmarks start: a `livelens serve` waited for until it
answers, and any child stopped politely first."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

STARTUP_TIMEOUT = 30.0


def wait_until_serving(base_url: str, process: subprocess.Popen[Any]) -> None:
    """Until ``livelens serve`` at ``base_url`` answers; raises if it exits or stays mute."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"livelens serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base_url + "/api/me", timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:  # answering: nobody is signed in
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"livelens serve did not answer within {STARTUP_TIMEOUT} s")


def stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
