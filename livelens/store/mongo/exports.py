"""The MongoDB store's export jobs: one account's, every filter names the tenant."""

from __future__ import annotations

from pymongo import DESCENDING

from livelens.store import records, schema
from livelens.store.mongo.connection import (
    Doc,
    MongoTenantPart,
    insert_new,
    read_all,
    translated,
)

_TABLE = schema.EXPORT_JOBS


class MongoExportJobs(MongoTenantPart):
    """The export-job part of :class:`.tenant.MongoTenantStore`."""

    @translated
    async def create_export_job(self, job: records.ExportJob) -> None:
        self._check(job.tenant_id, "export")
        await insert_new(self._of(_TABLE), _TABLE.doc(job), "An export")

    @translated
    async def get_export_job(self, job_id: str) -> records.ExportJob | None:
        return await self._get(_TABLE, job_id)

    @translated
    async def save_export_job(self, job: records.ExportJob) -> None:
        self._check(job.tenant_id, "export")
        await self._replace_mine(_TABLE, job, "No such export.")

    @translated
    async def list_export_jobs(self, requested_by: str | None = None) -> list[records.ExportJob]:
        query: Doc = {"tenant_id": self.tenant_id}
        if requested_by is not None:
            query["requested_by"] = requested_by
        newest = [("created_at", DESCENDING), ("_id", DESCENDING)]
        return await read_all(_TABLE, self._of(_TABLE).find(query).sort(newest))

    @translated
    async def delete_export_job(self, job_id: str) -> bool:
        return await self._delete_one(_TABLE, job_id)
