from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.harness import Server, start_server, stop_server


@pytest.fixture
async def server(tmp_path: Path, store_url: str) -> AsyncIterator[Server]:
    """A running LiveLens on each store engine."""
    running = await start_server(tmp_path, store_url)
    try:
        yield running
    finally:
        await stop_server(running)
