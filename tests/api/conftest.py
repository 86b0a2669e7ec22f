from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from livelens.media.relay import RelayKind
from tests.api.harness import Server, start_server, stop_server


@pytest.fixture
def relay() -> RelayKind:
    """The server's packet relay; tests of what media reaches whom run on both."""
    return "fast"


@pytest.fixture
async def server(tmp_path: Path, store_url: str, relay: RelayKind) -> AsyncIterator[Server]:
    """A running LiveLens on each store engine."""
    running = await start_server(tmp_path, store_url, relay)
    try:
        yield running
    finally:
        await stop_server(running)
