"""A ZIP archive written to disk an entry at a time, for exports (services.export).

Only the entry being added is in memory: each is written to the file (0600, see
livelens.private_files) as it comes, its size and SHA-256 noted for the manifest. Every
blocking step (compressing, hashing, writing) runs in a worker thread, so building a
large archive never holds up the event loop for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from livelens import private_files

MANIFEST = "manifest.json"


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode()


class ArchiveWriter:
    """A ZIP file being written at ``path``; :meth:`finish` completes it, :meth:`discard`
    removes what was written."""

    def __init__(self, path: Path, handle: BinaryIO, at: datetime) -> None:
        self.path = path
        self._handle = handle
        self._zip = zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED)
        self._date_time = (at.year, at.month, at.day, at.hour, at.minute, at.second)
        self.files: dict[str, dict[str, object]] = {}  # name -> {size, sha256}

    @classmethod
    async def create(cls, path: Path, at: datetime) -> ArchiveWriter:
        def open_new() -> BinaryIO:
            private_files.make_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private_files.FILE_MODE)
            return os.fdopen(fd, "wb")

        return cls(path, await asyncio.to_thread(open_new), at)

    def _write(self, name: str, data: bytes, compress: bool) -> None:
        if name in self.files or name == MANIFEST:
            raise ValueError(f"The archive already has {name}.")
        info = zipfile.ZipInfo(name, self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o600 << 16
        self._zip.writestr(info, data)
        self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    async def add(self, name: str, data: bytes, *, compress: bool = True) -> None:
        """Add a file; pictures (already compressed) go in with ``compress=False``."""
        await asyncio.to_thread(self._write, name, data, compress)

    async def add_stream(self, name: str, pieces: AsyncIterator[bytes]) -> int:
        """Add a file that comes a piece at a time (a recording's WebM), never whole in
        memory; stored as it is (zip64, so any size goes). Its size."""
        if name in self.files or name == MANIFEST:
            raise ValueError(f"The archive already has {name}.")
        info = zipfile.ZipInfo(name, self._date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o600 << 16
        entry = await asyncio.to_thread(self._zip.open, info, "w", force_zip64=True)
        digest, size = hashlib.sha256(), 0

        def write(piece: bytes) -> None:
            entry.write(piece)
            digest.update(piece)

        try:
            async for piece in pieces:
                await asyncio.to_thread(write, piece)
                size += len(piece)
        finally:
            await asyncio.to_thread(entry.close)
        self.files[name] = {"size": size, "sha256": digest.hexdigest()}
        return size

    async def add_json(self, name: str, value: object) -> None:
        await asyncio.to_thread(lambda: self._write(name, _json_bytes(value), True))

    async def finish(self, manifest: object) -> int:
        """Add the manifest and close the archive; its size in bytes."""

        def close() -> int:
            self._zip.writestr(zipfile.ZipInfo(MANIFEST, self._date_time), _json_bytes(manifest),
                               zipfile.ZIP_DEFLATED)  # fmt: skip
            self._zip.close()
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            return self.path.stat().st_size

        return await asyncio.to_thread(close)

    async def discard(self) -> None:
        def remove() -> None:
            with contextlib.suppress(Exception):
                self._zip.close()
            self._handle.close()
            self.path.unlink(missing_ok=True)

        await asyncio.to_thread(remove)
