from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.serving import Served
from tests.processes import stop


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """Servers a test started, stopped after it."""
    running: list[Served] = []
    yield running
    for s in running:
        stop(s.process)
