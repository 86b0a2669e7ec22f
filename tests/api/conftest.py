from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.harness import Server, start_server, stop_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    running = await start_server(tmp_path, f"sqlite:///{tmp_path / 'livelens.db'}")
    try:
        yield running
    finally:
        await stop_server(running)
