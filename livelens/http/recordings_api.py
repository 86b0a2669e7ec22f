"""Recordings over HTTP: a session's list, a recording's timed events, and its WebM,
decrypted as it is sent, whole or by byte range (services.recordings).

Thin: who is asking is checked here (an agent or administrator signed in), the rest —
rights to the session, the range, the checks of the sealed file, the audit — there.
"""

from __future__ import annotations

from typing import Any

from livelens.http.base import BaseHandler
from livelens.identity.roles import Permission
from livelens.services import recording_rules as rules
from livelens.services import recordings
from livelens.services.auth import Principal


class _RecordingHandler(BaseHandler):
    def principal_of(self) -> Principal:
        return self.require_permission(Permission.RUN_SESSIONS)


class RecordingsHandler(_RecordingHandler):
    async def get(self, session_id: str) -> None:
        found = await recordings.list_for(self.ctx, self.principal_of(), session_id)
        self.write_json({"recordings": found})


class RecordingEventsHandler(_RecordingHandler):
    async def get(self, session_id: str, recording_id: str) -> None:
        events = await recordings.events_for(self.ctx, self.principal_of(), session_id,
                                             recording_id)  # fmt: skip
        self.write_json({"events": events})


class RecordingDownloadHandler(_RecordingHandler):
    async def get(self, session_id: str, recording_id: str) -> None:
        playback = await recordings.open_playback(
            self.ctx, self.principal_of(), session_id, recording_id,
            self.request.headers.get("Range"), self.client_ip,
        )  # fmt: skip
        self.set_status(200 if playback.part is None else 206)
        self.set_header("Content-Type", rules.MEDIA_TYPE)
        self.set_header("Content-Length", str(playback.size))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Disposition", f'attachment; filename="{playback.file_name}"')
        if playback.part is not None:
            self.set_header("Content-Range", playback.part.content_range)
        await self.send_chunks(playback.pieces)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, rules.RangeNotSatisfiable):
            self.set_header("Content-Range", f"bytes */{exc.details.get('length', 0)}")
        super().write_error(status_code, **kwargs)
