"""The store: one contract (:mod:`.repository`), two engines chosen by URL."""

from __future__ import annotations

from livelens.errors import InvalidInput
from livelens.store.repository import Store, TenantStore

__all__ = ["Store", "TenantStore", "open_store"]

SQLITE_PREFIX = "sqlite://"
MONGO_PREFIXES = ("mongodb://", "mongodb+srv://")


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///abs/path.db`` URL.

    Everything after ``sqlite://`` is the path, so ``sqlite:///data/x.db`` and the
    SQLAlchemy-style ``sqlite:////data/x.db`` both mean ``/data/x.db``.
    """
    rest = url[len(SQLITE_PREFIX) :]
    if not rest.startswith("/"):
        raise InvalidInput(
            f"The SQLite store URL needs an absolute path: sqlite:///path/file.db, got {url!r}."
        )
    path = "/" + rest.lstrip("/")
    if path == "/" or path.endswith("/"):
        raise InvalidInput(f"The SQLite store URL names no file: {url!r}.")
    return path


async def open_store(url: str) -> Store:
    """Open the engine the URL names; raises StoreUnavailable if it cannot be reached."""
    # Engines are imported on demand: the embedded default must not load PyMongo.
    if url.startswith(SQLITE_PREFIX):
        from livelens.store.sqlite import SqliteStore

        return await SqliteStore.open(sqlite_path(url))
    if url.startswith(MONGO_PREFIXES):
        from livelens.store.mongo import MongoStore

        return await MongoStore.open(url)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise InvalidInput(
        f"Unsupported store URL scheme {scheme!r}: use sqlite:///path/file.db, "
        "mongodb://... or mongodb+srv://..."
    )
