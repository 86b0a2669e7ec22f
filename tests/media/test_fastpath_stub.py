"""The typed contract of the data plane (``livelens/_fastpath.pyi``) against the built
module, by mypy's stubtest: every class, method, parameter, default and property the stub
declares exists at runtime with that signature, and nothing public is left undeclared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALLOWED = [
    "livelens._fastpath.__all__",  # PyO3 lists the module's names; the stub declares them
    "livelens._fastpath.MediaEvent",  # a type alias, for annotations only
]


def test_the_stub_matches_the_built_module(tmp_path: Path) -> None:
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("\n".join(ALLOWED) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "livelens._fastpath",
         "--allowlist", str(allowlist)],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
