"""The MongoDB engine, through PyMongo's async API, for scale-out deployments.

:mod:`.connection` reaches the server and prepares the database (indexes, schema
version; FerretDB's limits are listed there); :mod:`.store` holds the instance's
queries and :mod:`.tenant` one account's.
"""

from __future__ import annotations

from livelens.store.mongo.connection import SCHEMA_VERSION
from livelens.store.mongo.store import MongoStore
from livelens.store.mongo.tenant import MongoTenantStore

__all__ = ["SCHEMA_VERSION", "MongoStore", "MongoTenantStore"]
