"""The SQLite store's recordings: the records in the file, their sealed bytes in files
beside it (``recordings/<account>/<recording id>.llrec`` in the store's directory, the
data directory by default), 0600 in 0700 directories. Every file operation runs in a
worker thread; the SQLite worker stays free for queries.

The bytes are sealed by the media port before they get here (AES-256-GCM chunks): no
plaintext is ever written. Deleting a recording removes its file before its record.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from livelens import private_files
from livelens.errors import NotFound
from livelens.store import records, schema, shared
from livelens.store.sqlite.deletion import SqliteDeletion

_TABLE = schema.RECORDINGS
RECORDINGS_DIR = "recordings"
SUFFIX = ".llrec"


class FileWriter:
    """One recording's file, appended to. A write that fails (a full disk: ENOSPC) is
    cut back off, so the file holds whole writes only and a later write may succeed."""

    def __init__(self, path: Path, fd: int) -> None:
        self._path = path
        self._fd: int | None = fd
        self._size = 0

    @classmethod
    async def create(cls, path: Path) -> FileWriter:
        def open_new() -> int:
            private_files.make_dir(path.parent)
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private_files.FILE_MODE)

        return cls(path, await asyncio.to_thread(open_new))

    @property
    def size(self) -> int:
        return self._size

    def _open_fd(self) -> int:
        if self._fd is None:
            raise OSError("The recording's file is closed.")
        return self._fd

    def _append(self, data: bytes) -> None:
        fd = self._open_fd()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            os.ftruncate(fd, self._size)
            os.lseek(fd, self._size, os.SEEK_SET)
            raise
        self._size += len(data)

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self._append, data)

    async def close(self) -> None:
        def close() -> None:
            fd = self._open_fd()
            self._fd = None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

        await asyncio.to_thread(close)

    async def abort(self) -> None:
        def remove() -> None:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
            self._path.unlink(missing_ok=True)

        await asyncio.to_thread(remove)


def _read(path: Path, start: int, end: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            return handle.read(max(0, end - start))
    except FileNotFoundError:
        return b""


def _length(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


class SqliteRecordings(SqliteDeletion):
    """The recordings part of :class:`.store.SqliteTenantStore` (over the deletion part,
    whose deletion of the account it extends to the files)."""

    def _folder(self) -> Path:
        return Path(self._store.path).parent / RECORDINGS_DIR / self.tenant_id

    def _file(self, recording_id: str) -> Path:
        return self._folder() / f"{shared.recording_id(recording_id)}{SUFFIX}"

    async def create_recording(self, recording: records.Recording) -> None:
        self._check(recording.tenant_id, "recording")
        shared.recording_id(recording.id)
        duplicate = {"recordings.id": shared.duplicate_id("A recording")}
        await self._store._insert(_TABLE, recording, duplicate)

    async def get_recording(self, session_id: str, recording_id: str) -> records.Recording | None:
        return await self._store._record(
            _TABLE, "tenant_id = ? AND session_id = ? AND id = ?",
            (self.tenant_id, session_id, recording_id),
        )  # fmt: skip

    async def list_recordings(self, session_id: str) -> list[records.Recording]:
        return await self._store._records(
            _TABLE, "WHERE tenant_id = ? AND session_id = ? ORDER BY started_at, id",
            (self.tenant_id, session_id),
        )  # fmt: skip

    async def save_recording(self, recording: records.Recording) -> None:
        self._check(recording.tenant_id, "recording")
        await self._replace_mine(_TABLE, recording, "No such recording.")

    async def write_recording(self, recording: records.Recording) -> FileWriter:
        self._check(recording.tenant_id, "recording")
        if await self._mine(_TABLE, recording.id) is None:
            raise NotFound("No such recording.")
        return await FileWriter.create(self._file(recording.id))

    async def recording_length(self, recording_id: str) -> int | None:
        return await asyncio.to_thread(_length, self._file(recording_id))

    async def read_recording(self, recording_id: str, start: int, end: int) -> bytes:
        return await asyncio.to_thread(_read, self._file(recording_id), start, end)

    async def delete_recordings(self, session_id: str) -> int:
        found = await self.list_recordings(session_id)
        for recording in found:
            await asyncio.to_thread(self._file(recording.id).unlink, missing_ok=True)
        await self._store._execute(
            "DELETE FROM recordings WHERE tenant_id = ? AND session_id = ?",
            (self.tenant_id, session_id),
        )
        return len(found)

    async def delete_account(self) -> dict[str, int]:
        await asyncio.to_thread(shutil.rmtree, self._folder(), ignore_errors=True)
        return await super().delete_account()
