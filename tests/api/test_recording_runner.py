"""The recording runner: its key derived from the session's, its bytes drained into the
store, and its clean stop when storage fills up or the media path ends it — the session
never affected."""

from __future__ import annotations

import asyncio
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from livelens.services import recordings, session_keys
from livelens.services.session_keys import ContentDeleted
from livelens.store.records import Recording, SupportSession
from livelens.store.repository import SealedWriter, TenantStore
from tests.api.governance import account, signed_in
from tests.api.harness import Server
from tests.api.recording import WEBM, Ended, SealingHub, bytes_left, record, session_of
from tests.media.clients import agent_client, customer_client
from tests.media.recordings import ffprobe
from tests.media.test_media_port import port_world
from tests.media.test_recording import publish


@dataclass
class FullWriter:
    """A writer on a disk that fills up: its next ``failures`` writes (or every write,
    with None) are refused with ENOSPC, as the file system refuses them."""

    inner: SealedWriter
    failures: int | None

    @property
    def size(self) -> int:
        return self.inner.size

    async def write(self, data: bytes) -> None:
        if self.failures is None or self.failures > 0:
            if self.failures is not None:
                self.failures -= 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        await self.inner.write(data)

    async def close(self) -> None:
        await self.inner.close()

    async def abort(self) -> None:
        await self.inner.abort()


@dataclass
class FullDisk:
    """The account's store, on a disk that is full (RecordingRunner's storage seam)."""

    scope: TenantStore
    failures: int | None = None

    async def create_recording(self, recording: Recording) -> None:
        await self.scope.create_recording(recording)

    async def save_recording(self, recording: Recording) -> None:
        await self.scope.save_recording(recording)

    async def write_recording(self, recording: Recording) -> SealedWriter:
        return FullWriter(await self.scope.write_recording(recording), self.failures)


@dataclass
class GoneHub(SealingHub):
    """A media side whose recorder ends under the runner (the session's media gone)."""

    gone: set[str] = field(default_factory=set)

    def take_recording(self, session_id: str) -> bytes:
        if session_id in self.gone:
            raise RuntimeError("no recording runs")
        return super().take_recording(session_id)

    def stop_recording(self, session_id: str) -> Ended:
        if session_id in self.gone:
            raise RuntimeError("no recording runs")
        return super().stop_recording(session_id)


async def waiting_session(server: Server) -> SupportSession:
    tenant_id, _ = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    created = await ann.post("/api/sessions")
    return await session_of(server, tenant_id, created.body["session"]["id"])


async def audited(server: Server, tenant_id: str) -> list[str]:
    return [e.action for e in await server.ctx.store.scoped(tenant_id).list_audit_events()]


async def test_the_key_is_derived_from_the_sessions_and_shredded_with_it(server: Server) -> None:
    session = await waiting_session(server)
    hub = SealingHub()
    first = await (await record(server, session, hub)).stop()
    second = await (await record(server, session, hub)).stop()
    cipher = await session_keys.cipher_for(server.ctx, session)
    [(_, first_id, first_key), (_, second_id, second_key)] = hub.started
    assert (first_id, second_id) == (first.id, second.id)
    assert first_key == recordings.recording_key(cipher, first.id) != second_key
    # As the sealed format documents it: HKDF-SHA256 of the session's data key.
    stored = await server.ctx.store.scoped(session.tenant_id).get_session_key(session.id)
    assert stored is not None
    account = await server.ctx.cipher_of(session.tenant_id)
    data_key = account.open(stored.sealed, f"session/{session.id}/key")
    info = b"livelens recording v1" + first.id.encode()
    assert first_key == HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(data_key)
    opened = await recordings.SealedFile.open(server.ctx, session, first)
    assert await opened.read(0, opened.length) == WEBM

    await server.ctx.store.scoped(session.tenant_id).delete_session_key(session.id)
    with pytest.raises(ContentDeleted):
        await recordings.SealedFile.open(server.ctx, session, first)


async def test_the_runner_drains_on_its_own_and_stops_cleanly(server: Server) -> None:
    session = await waiting_session(server)
    drained = asyncio.Event()

    class Watched(SealingHub):
        def take_recording(self, session_id: str) -> bytes:
            drained.set()
            return super().take_recording(session_id)

    runner = await record(server, session, Watched())
    await asyncio.wait_for(drained.wait(), timeout=10)
    runner.note("chat", {"text": "hello"})
    done = await runner.stop()
    assert done.state == "complete" and done.stopped_reason is None
    assert done.duration_s == 12.5 and done.stats == {"video_frames": 375, "audio_packets": 625}
    scope = server.ctx.store.scoped(session.tenant_id)
    assert await scope.get_recording(session.id, done.id) == done
    assert await scope.recording_length(done.id) == done.size
    assert await runner.stop() == done  # once ended, it stays so
    runner.note("mark", {})  # nothing after the end
    assert await recordings.events_of(server.ctx, session, done) == [
        {"t": 0.0, "kind": "chat", "data": {"text": "hello"}}
    ]
    assert {"recording.started", "recording.completed"} <= set(
        await audited(server, session.tenant_id)
    )


async def test_a_full_disk_stops_the_recording_and_keeps_nothing_broken(server: Server) -> None:
    session = await waiting_session(server)
    scope = server.ctx.store.scoped(session.tenant_id)
    hub, stopped = SealingHub(), list[str]()
    runner = await record(server, session, hub, FullDisk(scope), stopped)

    assert await runner.drain() is False  # the first write meets a full disk
    assert stopped == ["storage_full"]
    assert session.id not in hub.sealed  # the hub's recorder was stopped
    done = await scope.get_recording(session.id, runner.recording.id)
    assert done is not None and (done.state, done.stopped_reason, done.size) == (
        "failed", "storage full", 0)  # fmt: skip
    assert await scope.recording_length(done.id) is None and bytes_left(server) == 0
    assert await runner.drain() is False and stopped == ["storage_full"]  # told once
    assert await runner.stop() == done
    # The session is untouched: still waiting for its customer.
    assert await session_of(server, session.tenant_id, session.id) == session
    actions = await audited(server, session.tenant_id)
    assert "recording.stopped" in actions and "recording.completed" not in actions


async def test_what_was_recorded_before_the_disk_filled_up_is_kept_whole(server: Server) -> None:
    """One write refused (the disk full for a moment): the recording stops, and the
    bytes not stored yet go out with its end, so the file has no hole and plays."""
    session = await waiting_session(server)
    scope = server.ctx.store.scoped(session.tenant_id)
    stopped = list[str]()
    runner = await record(server, session, SealingHub(), FullDisk(scope, failures=1), stopped)
    assert await runner.drain() is False
    assert stopped == ["storage_full"]
    done = runner.recording
    assert (done.state, done.stopped_reason) == ("stopped", "storage full")
    opened = await recordings.SealedFile.open(server.ctx, session, done)
    assert await opened.read(0, opened.length) == WEBM


async def test_the_media_path_ending_it_stops_the_recording(server: Server) -> None:
    session = await waiting_session(server)
    hub, stopped = GoneHub(), list[str]()
    runner = await record(server, session, hub, stopped=stopped)
    assert await runner.drain()
    hub.gone.add(session.id)
    assert await runner.drain() is False
    assert stopped == ["media"]
    assert runner.recording.state == "failed"  # no end came: nothing playable is kept
    assert bytes_left(server) == 0


async def test_a_recording_that_cannot_start_leaves_a_failed_record(server: Server) -> None:
    session = await waiting_session(server)

    class NoMedia(SealingHub):
        def start_recording(self, session_id: str, recording_id: str, key: bytes) -> None:
            raise LookupError("the session has no media yet")

    with pytest.raises(LookupError):
        await record(server, session, NoMedia())
    [failed] = await server.ctx.store.scoped(session.tenant_id).list_recordings(session.id)
    assert failed.state == "failed" and "no media" in (failed.stopped_reason or "")
    assert bytes_left(server) == 0


async def test_a_session_recorded_on_the_media_port_downloads_as_a_webm_that_plays(
    server: Server, tmp_path: Path
) -> None:
    """The whole way: aiortc "browsers" on the Rust media port, the runner storing what
    the port's recorder seals, the API decrypting it, ffprobe reading both tracks."""
    session = await waiting_session(server)
    ann = await signed_in(server, "ann@acme.test")
    async with port_world() as world:
        customer = customer_client(world.probe)
        lines = await world.join(session.id, "cust", customer)
        await world.join(session.id, "agent", agent_client("agent", world.probe))
        await world.connected(session.id, "cust", "agent")
        world.hub.set_media_allowed(session.id, True)
        ssrc = lines["video"].recv_ssrc
        loop = asyncio.get_running_loop()
        runner = await record(server, session, world.hub)
        started = loop.time()
        for _ in range(3):
            await publish(world, customer, ssrc, 20)
            assert await runner.drain()
        done = await runner.stop()
        recorded = loop.time() - started

    # Media time, not the wall clock: a loaded machine paces its test "browsers" late.
    assert done.state == "complete" and done.size > 0 and 1.0 < done.duration_s < 2 * recorded
    download = f"/api/sessions/{session.id}/recordings/{done.id}/download"
    whole = await ann.get(download)
    assert whole.status == 200 and whole.headers["Content-Type"] == "video/webm"
    path = tmp_path / "downloaded.webm"
    path.write_bytes(whole.raw)
    info = ffprobe(path)
    assert {s["codec_type"]: s["codec_name"] for s in info["streams"]} == {
        "video": "vp8", "audio": "opus"}  # fmt: skip
    assert abs(float(info["format"]["duration"]) - done.duration_s) < 0.05
    assert all(int(s["nb_read_frames"]) > 0 for s in info["streams"])
    middle = len(whole.raw) // 2
    part = await ann.get(download, {"Range": f"bytes={middle}-{middle + 99_999}"})
    assert part.status == 206 and part.raw == whole.raw[middle : middle + 100_000]
