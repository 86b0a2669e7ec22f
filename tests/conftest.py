"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mongo_server import (
    database_url,
    drop_database,
    mongo_base_url,  # noqa: F401  (fixture used through getfixturevalue)
    unique_database,
)


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("mongo", marks=pytest.mark.mongo)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on each engine: a new SQLite file or a new MongoDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'livelens.db'}"
        return
    base: str = request.getfixturevalue("mongo_base_url")
    database = unique_database()
    yield database_url(base, database)
    drop_database(base, database)


E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running on the
    main thread while its browser is open, which async tests cannot share. Every test
    under tests/e2e/ is one, marked or not (a file without the mark once ran mid-suite
    and broke every async test after it)."""
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
