"""The MongoDB store's recordings: the records in their collection, their sealed bytes
in GridFS (bucket ``recording_bytes``, the file's ``_id`` the recording's id, its
account and session in the file's metadata), so every node serves every recording.

A recording's bytes are written through one GridFS upload stream while it runs, a
GridFS chunk at a time; the file becomes readable when the stream is closed. Reads
seek to the chunks a byte range needs. Deleting a recording removes its file and
chunks (also chunks whose file was never closed) before its record.
"""

from __future__ import annotations

import contextlib

from gridfs import AsyncGridFSBucket, NoFile
from gridfs.asynchronous.grid_file import AsyncGridIn, AsyncGridOut
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from livelens.errors import NotFound, StoreUnavailable
from livelens.store import records, schema, shared
from livelens.store.mongo.connection import Doc, insert_new, one_line, read_all, translated
from livelens.store.mongo.deletion import MongoDeletion

_TABLE = schema.RECORDINGS
BUCKET = "recording_bytes"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk


class GridWriter:
    """One recording's GridFS upload stream. A failed write leaves the stream in no known
    state, so the writer takes nothing more after one (StoreUnavailable)."""

    def __init__(self, stream: AsyncGridIn) -> None:
        self._stream = stream
        self._size = 0
        self._broken = False

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        if self._broken:
            raise StoreUnavailable("The recording's storage failed before; it takes no more.")
        try:
            await self._stream.write(data)
        except PyMongoError as exc:
            self._broken = True
            raise StoreUnavailable(f"MongoDB could not store the recording: {one_line(exc)}"
                                   ) from exc  # fmt: skip
        self._size += len(data)

    async def close(self) -> None:
        try:
            await self._stream.close()
        except PyMongoError as exc:
            self._broken = True
            raise StoreUnavailable(f"MongoDB could not store the recording: {one_line(exc)}"
                                   ) from exc  # fmt: skip

    async def abort(self) -> None:
        with contextlib.suppress(PyMongoError):
            await self._stream.abort()


class MongoRecordings(MongoDeletion):
    """The recordings part of :class:`.tenant.MongoTenantStore` (over the deletion part,
    whose deletion of the account it extends to the GridFS files)."""

    def _bucket(self) -> AsyncGridFSBucket:
        return AsyncGridFSBucket(self._store.db, bucket_name=BUCKET,
                                 chunk_size_bytes=CHUNK_BYTES)  # fmt: skip

    def _files(self) -> AsyncCollection[Doc]:
        return self._store.db[f"{BUCKET}.files"]

    async def _file_doc(self, recording_id: str) -> Doc | None:
        """This tenant's closed GridFS file of the recording."""
        doc: Doc | None = await self._files().find_one(
            {"_id": recording_id, "metadata.tenant_id": self.tenant_id}
        )
        return doc

    async def _remove_bytes(self, recording_id: str) -> None:
        with contextlib.suppress(NoFile):
            await self._bucket().delete(recording_id)

    @translated
    async def create_recording(self, recording: records.Recording) -> None:
        self._check(recording.tenant_id, "recording")
        shared.recording_id(recording.id)
        await insert_new(self._of(_TABLE), _TABLE.doc(recording), "A recording")

    @translated
    async def get_recording(self, session_id: str, recording_id: str) -> records.Recording | None:
        doc = await self._of(_TABLE).find_one(self._mine(recording_id, session_id=session_id))
        return None if doc is None else _TABLE.from_doc(doc)

    @translated
    async def list_recordings(self, session_id: str) -> list[records.Recording]:
        cursor = self._of(_TABLE).find({"tenant_id": self.tenant_id, "session_id": session_id})
        oldest = [("started_at", ASCENDING), ("_id", ASCENDING)]
        return await read_all(_TABLE, cursor.sort(oldest))

    @translated
    async def save_recording(self, recording: records.Recording) -> None:
        self._check(recording.tenant_id, "recording")
        await self._replace_mine(_TABLE, recording, "No such recording.")

    @translated
    async def write_recording(self, recording: records.Recording) -> GridWriter:
        self._check(recording.tenant_id, "recording")
        if await self._get(_TABLE, recording.id) is None:
            raise NotFound("No such recording.")
        await self._remove_bytes(recording.id)
        metadata = {"tenant_id": self.tenant_id, "session_id": recording.session_id}
        stream = self._bucket().open_upload_stream_with_id(
            recording.id, f"{recording.id}.llrec", metadata=metadata
        )
        return GridWriter(stream)

    @translated
    async def recording_length(self, recording_id: str) -> int | None:
        doc = await self._file_doc(recording_id)
        return None if doc is None else int(doc["length"])

    @translated
    async def read_recording(self, recording_id: str, start: int, end: int) -> bytes:
        doc = await self._file_doc(recording_id)
        if doc is None or end <= start:
            return b""
        stream = AsyncGridOut(self._store.db[BUCKET], file_document=doc)
        await stream.seek(start)
        return await stream.read(end - start)

    @translated
    async def delete_recordings(self, session_id: str) -> int:
        found = await self.list_recordings(session_id)
        for recording in found:
            await self._remove_bytes(recording.id)
        await self._of(_TABLE).delete_many({"tenant_id": self.tenant_id, "session_id": session_id})
        return len(found)

    @translated
    async def delete_account(self) -> dict[str, int]:
        ids = {str(doc["_id"]) async for doc in self._of(_TABLE).find(
            {"tenant_id": self.tenant_id}, {"_id": 1})}  # fmt: skip
        ids |= {str(doc["_id"]) async for doc in self._files().find(
            {"metadata.tenant_id": self.tenant_id}, {"_id": 1})}  # fmt: skip
        for recording_id in ids:
            await self._remove_bytes(recording_id)
        return await super().delete_account()
