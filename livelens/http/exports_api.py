"""Exports over HTTP: ask for one, follow it, download it (services.export).

The download streams the ZIP from the data directory a chunk at a time, each read in a
worker thread and flushed before the next, so an archive of any size holds one chunk
in memory and a slow client holds up only its own download.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import BinaryIO

from livelens.http.base import BaseHandler
from livelens.identity.roles import Permission
from livelens.services import export
from livelens.services import export_rules as rules
from livelens.services.auth import Principal

CHUNK = 256 * 1024


class _ExportHandler(BaseHandler):
    def principal_of(self) -> Principal:
        return self.require_permission(Permission.RUN_SESSIONS)


class ExportsHandler(_ExportHandler):
    async def get(self) -> None:
        jobs = await export.list_for(self.ctx, self.principal_of())
        self.write_json({"exports": [rules.view(job) for job in jobs],
                         "kept_days": rules.EXPORT_DAYS})  # fmt: skip

    async def post(self) -> None:
        principal = self.principal_of()
        scope, session_id = rules.parse_request(self.json_body())
        job = await export.request(self.ctx, principal, scope, session_id, self.client_ip)
        self.write_json(rules.view(job), status=202)


class ExportHandler(_ExportHandler):
    async def get(self, export_id: str) -> None:
        self.write_json(rules.view(await export.get(self.ctx, self.principal_of(), export_id)))


class ExportDownloadHandler(_ExportHandler):
    async def get(self, export_id: str) -> None:
        principal = self.principal_of()
        job, path = await export.open_download(self.ctx, principal, export_id, self.client_ip)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            size = (await asyncio.to_thread(os.fstat, handle.fileno())).st_size
            self.set_header("Content-Type", "application/zip")
            self.set_header("Content-Length", str(size))
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Disposition", f'attachment; filename="{job.file_name}"')
            await self.send_chunks(_chunks(handle))
        finally:
            await asyncio.to_thread(handle.close)


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(handle.read, CHUNK):
        yield chunk
