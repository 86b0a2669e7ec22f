"""The MongoDB store's branding of an account's customer page: one document per
account, whose ``_id`` is its tenant id."""

from __future__ import annotations

from livelens.store import records, schema
from livelens.store.mongo.connection import MongoTenantPart, translated

_TABLE = schema.BRANDING


class MongoBranding(MongoTenantPart):
    """The branding part of :class:`.tenant.MongoTenantStore`."""

    @translated
    async def get_branding(self) -> records.Branding | None:
        return await self._get(_TABLE, self.tenant_id)

    @translated
    async def save_branding(self, branding: records.Branding) -> None:
        self._check(branding.tenant_id, "branding")
        await self._put_account_record(_TABLE, branding)
