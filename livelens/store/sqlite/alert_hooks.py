"""The SQLite store's alert webhook of an account: one row per account, keyed by its
tenant id, whose counts nodes add to in place."""

from __future__ import annotations

from livelens.store import records, schema, shared
from livelens.store.sqlite.connection import SqliteTenantPart

_TABLE = schema.ALERT_HOOKS
# One statement, so counts from several nodes add up; a time or error is only set
# when the tally has one (a NULL parameter keeps what is there).
_COUNT = (
    "UPDATE alert_hooks SET delivered = delivered + ?, failed = failed + ?,"
    " abandoned = abandoned + ?, dropped = dropped + ?,"
    " last_success_at = COALESCE(?, last_success_at),"
    " last_error = COALESCE(?, last_error), last_error_at = COALESCE(?, last_error_at)"
    " WHERE tenant_id = ? AND hook_id = ?"
)


class SqliteAlertHooks(SqliteTenantPart):
    """The alert hook part of :class:`.store.SqliteTenantStore`."""

    async def get_alert_hook(self) -> records.AlertHook | None:
        return await self._account_record(_TABLE)

    async def put_alert_hook(self, hook: records.AlertHook) -> None:
        self._check(hook.tenant_id, "alert hook")
        await self._put_account_record(_TABLE, hook)

    async def delete_alert_hook(self) -> bool:
        changed = await self._store._execute(
            "DELETE FROM alert_hooks WHERE tenant_id = ?", (self.tenant_id,)
        )
        return changed > 0

    async def count_alert_deliveries(self, hook_id: str, tally: records.AlertTally) -> bool:
        success_at, error, error_at = shared.tally_times(tally)
        changed = await self._store._execute(
            _COUNT,
            (tally.delivered, tally.failed, tally.abandoned, tally.dropped, success_at, error,
             error_at, self.tenant_id, hook_id),
        )  # fmt: skip
        return changed > 0
