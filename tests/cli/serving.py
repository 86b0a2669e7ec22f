"""``livelens serve`` as a child process, waited for until it prints its banner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import stop


class Served:
    def __init__(self, process: subprocess.Popen[str], banner: list[str]) -> None:
        self.process, self.banner = process, banner
        self.url = next(line.split(" at ")[1] for line in banner if "is running at" in line)

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def stop(self) -> str:
        """Stop it; what it printed after the banner."""
        stop(self.process)
        assert self.process.stdout is not None
        return self.process.stdout.read()


def start_serve(data_dir: Path, *args: str, shell_prelude: str = "") -> Served:
    """``shell_prelude``: shell commands run first in the server's process, such as
    ``ulimit -n 128`` or ``umask 022``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELENS_")}
    command = [sys.executable, "-m", "livelens", "serve", "--data-dir", str(data_dir),
               "--port", "0", "--media-port", "0", *args]  # fmt: skip
    if shell_prelude:
        command = ["bash", "-c", f'{shell_prelude}\nexec "$@"', "bash", *command]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    banner: list[str] = []
    for line in process.stdout:  # blocks until the server speaks; ends if it dies
        banner.append(line.rstrip())
        if line.startswith(("Sign in with", "Then sign in")) or "sign in with that" in line:
            break
    if not any("is running at" in line for line in banner):
        process.kill()
        pytest.fail("server did not start:\n" + "\n".join(banner))
    return Served(process, banner)
