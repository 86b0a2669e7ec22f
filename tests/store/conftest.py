"""Every contract test runs once per engine (``store_url`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from livelens.store import Store, open_store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()
