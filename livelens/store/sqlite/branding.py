"""The SQLite store's branding of an account's customer page: one row per account,
keyed by its tenant id."""

from __future__ import annotations

from livelens.store import records, schema
from livelens.store.sqlite.connection import SqliteTenantPart

_TABLE = schema.BRANDING


class SqliteBranding(SqliteTenantPart):
    """The branding part of :class:`.store.SqliteTenantStore`."""

    async def get_branding(self) -> records.Branding | None:
        return await self._account_record(_TABLE)

    async def save_branding(self, branding: records.Branding) -> None:
        self._check(branding.tenant_id, "branding")
        await self._put_account_record(_TABLE, branding)
