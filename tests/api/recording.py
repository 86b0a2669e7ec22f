"""Recordings without a browser, for the API and runner tests: a media side whose
"recorder" seals given plaintext with the media port's own writer (Rust,
``seal_recording``), hands it out in pieces as the hub does, and the stored bytes as
each engine keeps them (files in the data directory, GridFS)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymongo

from livelens._fastpath import seal_recording
from livelens.services.recording_runner import RecordingHub, RecordingRunner, RecordingStorage
from livelens.signalling.recording import Stop
from livelens.store import sqlite_path
from livelens.store.mongo.recordings import BUCKET
from livelens.store.records import Recording, SupportSession
from livelens.store.sqlite.recordings import RECORDINGS_DIR
from tests.api.harness import Client, Server
from tests.api.lifecycle import ended_with_content

CHUNK = 64 * 1024  # the sealed format's plaintext per chunk
# A "WebM" of a little over five chunks: its bytes are what is checked, not its media.
WEBM = b"\x1a\x45\xdf\xa3" + random.Random(15).randbytes(5 * CHUNK + 1234)


@dataclass(frozen=True)
class Ended:
    """media.hub.RecordingEnd's shape."""

    sealed_tail: bytes
    duration_s: float
    stats: Mapping[str, int]


@dataclass
class SealingHub:
    """The recording side of MediaHub: sealed bytes in ``pieces`` drains, the file's end
    (its last chunk) at the stop."""

    plaintext: bytes = WEBM
    pieces: int = 3
    sealed: dict[str, bytes] = field(default_factory=dict)  # by session
    taken: dict[str, int] = field(default_factory=dict)
    started: list[tuple[str, str, bytes]] = field(default_factory=list)

    def start_recording(self, session_id: str, recording_id: str, key: bytes) -> None:
        self.started.append((session_id, recording_id, key))
        self.sealed[session_id] = seal_recording(key, recording_id, self.plaintext)
        self.taken[session_id] = 0

    def take_recording(self, session_id: str) -> bytes:
        sealed, at = self.sealed[session_id], self.taken[session_id]
        body = len(sealed) - (CHUNK + 24)  # the last chunk stays for the end
        step = body // self.pieces + 1
        piece = sealed[at : min(at + step, body)]
        self.taken[session_id] = at + len(piece)
        return piece

    def stop_recording(self, session_id: str) -> Ended:
        sealed, at = self.sealed.pop(session_id), self.taken.pop(session_id)
        return Ended(sealed[at:], 12.5, {"video_frames": 375, "audio_packets": 625})


async def session_of(server: Server, tenant_id: str, session_id: str) -> SupportSession:
    session = await server.ctx.store.scoped(tenant_id).get_support_session(session_id)
    assert session is not None
    return session


async def record(
    server: Server, session: SupportSession, hub: RecordingHub | None = None,
    storage: RecordingStorage | None = None, stopped: list[str] | None = None,
) -> RecordingRunner:  # fmt: skip
    """A runner recording ``session``; reasons it stopped on its own go to ``stopped``."""
    reasons = [] if stopped is None else stopped

    async def on_stopped(reason: Stop) -> None:
        reasons.append(reason.reason)

    return await RecordingRunner.start(server.ctx, hub or SealingHub(), session, on_stopped,
                                       storage=storage)  # fmt: skip


async def recorded_session(
    server: Server, tenant_id: str, agent: Client, **events: Any
) -> tuple[str, Recording]:
    """``agent`` runs a session with content (tests.api.lifecycle), ended, and a
    recording of it (WEBM) with ``events`` noted (kind: data); the session id and the
    recording."""
    ended = await ended_with_content(server, tenant_id, agent)
    runner = await record(server, await session_of(server, tenant_id, ended.session_id))
    assert await runner.drain()
    for kind, data in events.items():
        server.clock.advance(1.5)
        runner.note(kind, data)
    assert await runner.drain()
    return ended.session_id, await runner.stop()


def bytes_left(server: Server) -> int:
    """How many recording bytes the engine keeps, in any form: files under the data
    directory on SQLite, GridFS files and chunks on MongoDB."""
    url = server.ctx.settings.store_url
    if url.startswith("sqlite:"):
        folder = Path(sqlite_path(url)).parent / RECORDINGS_DIR
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url)
    try:
        database = client.get_default_database()
        return sum(database[f"{BUCKET}.{part}"].count_documents({}) for part in ("files", "chunks"))
    finally:
        client.close()


async def sealed_bytes(server: Server, recording: Recording) -> bytes:
    scope = server.ctx.store.scoped(recording.tenant_id)
    length = await scope.recording_length(recording.id)
    assert length is not None
    return await scope.read_recording(recording.id, 0, length)


async def replace_sealed(server: Server, recording: Recording, sealed: bytes) -> None:
    """Store ``sealed`` as the recording's bytes, as an attacker with the disk or the
    database could."""
    writer = await server.ctx.store.scoped(recording.tenant_id).write_recording(recording)
    await writer.write(sealed)
    await writer.close()
