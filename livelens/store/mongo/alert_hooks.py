"""The MongoDB store's alert webhook of an account: one document per account, whose
``_id`` is its tenant id, and whose counts nodes add to in place (``$inc``)."""

from __future__ import annotations

from typing import Any

from livelens.store import records, schema, shared
from livelens.store.mongo.connection import MongoTenantPart, translated

_TABLE = schema.ALERT_HOOKS


class MongoAlertHooks(MongoTenantPart):
    """The alert hook part of :class:`.tenant.MongoTenantStore`."""

    @translated
    async def get_alert_hook(self) -> records.AlertHook | None:
        return await self._get(_TABLE, self.tenant_id)

    @translated
    async def put_alert_hook(self, hook: records.AlertHook) -> None:
        self._check(hook.tenant_id, "alert hook")
        await self._put_account_record(_TABLE, hook)

    @translated
    async def delete_alert_hook(self) -> bool:
        return await self._delete_one(_TABLE, self.tenant_id)

    @translated
    async def count_alert_deliveries(self, hook_id: str, tally: records.AlertTally) -> bool:
        success_at, error, error_at = shared.tally_times(tally)
        change: dict[str, Any] = {"$inc": {"delivered": tally.delivered, "failed": tally.failed,
                                           "abandoned": tally.abandoned,
                                           "dropped": tally.dropped}}  # fmt: skip
        times = {"last_success_at": success_at, "last_error": error, "last_error_at": error_at}
        if kept := {key: value for key, value in times.items() if value is not None}:
            change["$set"] = kept
        hook = self._mine(self.tenant_id, hook_id=hook_id)
        result = await self._of(_TABLE).update_one(hook, change)
        return result.matched_count > 0
