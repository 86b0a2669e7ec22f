"""The SQLite store's export jobs: one account's, every statement names the tenant."""

from __future__ import annotations

from livelens.store import records, schema, shared
from livelens.store.sqlite.connection import SqliteTenantPart

_TABLE = schema.EXPORT_JOBS


class SqliteExportJobs(SqliteTenantPart):
    """The export-job part of :class:`.store.SqliteTenantStore`."""

    async def create_export_job(self, job: records.ExportJob) -> None:
        self._check(job.tenant_id, "export")
        await self._store._insert(_TABLE, job, {"export_jobs.id": shared.duplicate_id("An export")})

    async def get_export_job(self, job_id: str) -> records.ExportJob | None:
        return await self._mine(_TABLE, job_id)

    async def save_export_job(self, job: records.ExportJob) -> None:
        self._check(job.tenant_id, "export")
        await self._replace_mine(_TABLE, job, "No such export.")

    async def list_export_jobs(self, requested_by: str | None = None) -> list[records.ExportJob]:
        where, params = "tenant_id = ?", [self.tenant_id]
        if requested_by is not None:
            where += " AND requested_by = ?"
            params.append(requested_by)
        return await self._store._records(
            _TABLE, f"WHERE {where} ORDER BY created_at DESC, id DESC", params
        )

    async def delete_export_job(self, job_id: str) -> bool:
        changed = await self._store._execute(
            "DELETE FROM export_jobs WHERE tenant_id = ? AND id = ?", (self.tenant_id, job_id)
        )
        return changed > 0
