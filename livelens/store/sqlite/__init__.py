"""The embedded engine: one SQLite file, so a small team needs nothing else installed.

:mod:`.migrations` opens the file and brings its schema up to date; :mod:`.store`
holds the queries.
"""

from __future__ import annotations

from livelens.store.sqlite.migrations import MIGRATIONS, SCHEMA_VERSION
from livelens.store.sqlite.store import SqliteStore, SqliteTenantStore

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStore", "SqliteTenantStore"]
