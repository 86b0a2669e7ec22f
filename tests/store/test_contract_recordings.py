"""The store contract for recordings, on every engine (see conftest.py): the records,
kept per account and session; their sealed bytes, appended in pieces and read back by
byte range; and their removal with the session or the account, bytes first."""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from livelens.errors import Conflict, InvalidInput, NotFound
from livelens.store import Store, TenantStore
from livelens.store.mongo import MongoStore
from livelens.store.mongo.recordings import BUCKET
from livelens.store.records import Recording, new_id
from livelens.store.sqlite import SqliteStore
from livelens.store.sqlite.recordings import RECORDINGS_DIR
from tests.store.test_contract import NOW, new_tenant

# More than one GridFS chunk (255 KiB), in uneven pieces.
PIECES = [bytes([n]) * size for n, size in enumerate([1, 70_000, 200_000, 3, 131_072])]
SEALED = b"".join(PIECES)


def make_recording(tenant_id: str, session_id: str = "s1", **changes: Any) -> Recording:
    recording = Recording(id=new_id(), tenant_id=tenant_id, session_id=session_id,
                          started_at=NOW, updated_at=NOW)  # fmt: skip
    return dataclasses.replace(recording, **changes)


async def stored(scope: TenantStore, recording: Recording, pieces: list[bytes]) -> None:
    await scope.create_recording(recording)
    writer = await scope.write_recording(recording)
    for piece in pieces:
        await writer.write(piece)
    assert writer.size == sum(map(len, pieces))
    await writer.close()


async def bytes_left(store: Store, scope: TenantStore) -> int:
    """How many recording bytes the engine still keeps for the account, in any form:
    files on SQLite, GridFS files and chunks on MongoDB."""
    if isinstance(store, SqliteStore):
        folder = Path(store.path).parent / RECORDINGS_DIR / scope.tenant_id
        return sum(p.stat().st_size for p in folder.glob("*")) if folder.exists() else 0
    assert isinstance(store, MongoStore)
    files = await store.db[f"{BUCKET}.files"].count_documents({})
    chunks = await store.db[f"{BUCKET}.chunks"].count_documents({})
    return files + chunks


async def test_recordings_are_kept_listed_and_saved(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    first = make_recording(acme.tenant_id, started_at=NOW + 5)
    earlier = make_recording(acme.tenant_id, started_at=NOW)
    other = make_recording(acme.tenant_id, "s2")
    for recording in (first, earlier, other):
        await acme.create_recording(recording)

    assert await acme.list_recordings("s1") == [earlier, first]  # oldest first
    assert await acme.list_recordings("s2") == [other]
    assert await acme.list_recordings("s3") == []
    assert await acme.get_recording("s1", first.id) == first
    assert await acme.get_recording("s2", first.id) is None  # another session's

    done = dataclasses.replace(first, state="complete", ended_at=NOW + 60, duration_s=55.5,
                               size=len(SEALED), events=b"\x00sealed",
                               stats={"gaps": 1})  # fmt: skip
    await acme.save_recording(done)
    assert await acme.get_recording("s1", first.id) == done
    with pytest.raises(Conflict):
        await acme.create_recording(dataclasses.replace(first, session_id="s9"))
    with pytest.raises(NotFound):
        await acme.save_recording(make_recording(acme.tenant_id))
    for bad in ("../x", "a/b", "", "x" * 65, "ümlaut"):
        with pytest.raises(InvalidInput):
            await acme.create_recording(make_recording(acme.tenant_id, id=bad))


async def test_sealed_bytes_are_appended_and_read_by_range(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    recording = make_recording(acme.tenant_id)
    await stored(acme, recording, PIECES)

    assert await acme.recording_length(recording.id) == len(SEALED)
    for start, end in [(0, 12), (0, len(SEALED)), (70_000, 70_002), (255 * 1024 - 5, 300_000),
                       (len(SEALED) - 1, len(SEALED))]:  # fmt: skip
        assert await acme.read_recording(recording.id, start, end) == SEALED[start:end]
    # Past the end: what there is.
    assert (
        await acme.read_recording(recording.id, len(SEALED) - 3, len(SEALED) + 100) == (SEALED[-3:])
    )
    assert await acme.read_recording(recording.id, len(SEALED), len(SEALED) + 1) == b""

    # Written again from empty: the new bytes replace the old.
    writer = await acme.write_recording(recording)
    await writer.write(b"again")
    await writer.close()
    assert await acme.recording_length(recording.id) == 5
    assert await acme.read_recording(recording.id, 0, 100) == b"again"


async def test_recordings_are_isolated_between_tenants(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    globex = await new_tenant(store, "Globex")
    recording = make_recording(acme.tenant_id)
    await stored(acme, recording, PIECES)

    assert await globex.get_recording("s1", recording.id) is None
    assert await globex.list_recordings("s1") == []
    assert await globex.recording_length(recording.id) is None
    assert await globex.read_recording(recording.id, 0, 100) == b""
    assert await globex.delete_recordings("s1") == 0
    with pytest.raises(InvalidInput):
        await globex.create_recording(recording)
    with pytest.raises(InvalidInput):
        await globex.save_recording(recording)
    with pytest.raises(InvalidInput):
        await globex.write_recording(recording)
    with pytest.raises(Conflict):  # another account's id is refused, not taken over
        await globex.create_recording(dataclasses.replace(recording, tenant_id=globex.tenant_id))
    with pytest.raises(NotFound):
        await globex.write_recording(dataclasses.replace(recording, tenant_id=globex.tenant_id))
    assert await acme.read_recording(recording.id, 0, len(SEALED)) == SEALED


async def test_deleting_a_sessions_recordings_removes_their_bytes(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    kept = make_recording(acme.tenant_id, "s2")
    await stored(acme, kept, [b"kept"])
    baseline = await bytes_left(store, acme)
    first, second = make_recording(acme.tenant_id), make_recording(acme.tenant_id)
    await stored(acme, first, PIECES)
    await stored(acme, second, [b"x" * 10])
    running = make_recording(acme.tenant_id)  # its writer never closed
    await acme.create_recording(running)
    writer = await acme.write_recording(running)
    await writer.write(b"y" * 300_000)  # a GridFS chunk already out
    assert await bytes_left(store, acme) > baseline

    assert await acme.delete_recordings("s1") == 3
    assert await acme.list_recordings("s1") == []
    for recording in (first, second, running):
        assert await acme.recording_length(recording.id) is None
        assert await acme.read_recording(recording.id, 0, 10) == b""
    assert await bytes_left(store, acme) == baseline
    assert await acme.read_recording(kept.id, 0, 10) == b"kept"
    assert await acme.delete_recordings("s1") == 0


async def test_an_aborted_writer_leaves_no_bytes(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    recording = make_recording(acme.tenant_id)
    await acme.create_recording(recording)
    writer = await acme.write_recording(recording)
    await writer.write(b"z" * 300_000)
    await writer.abort()
    assert await acme.recording_length(recording.id) is None
    assert await bytes_left(store, acme) == 0
    assert await acme.get_recording("s1", recording.id) == recording  # the record stays


async def test_deleting_the_account_removes_every_recordings_bytes(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    globex = await new_tenant(store, "Globex")
    theirs = make_recording(globex.tenant_id)
    await stored(globex, theirs, [b"theirs"])
    await stored(acme, make_recording(acme.tenant_id), PIECES)
    await stored(acme, make_recording(acme.tenant_id, "s2"), [b"more"])

    counts = await acme.delete_account()
    assert counts["recordings"] == 2
    assert await acme.list_recordings("s1") == []
    if isinstance(store, SqliteStore):
        assert await bytes_left(store, acme) == 0
    assert await globex.read_recording(theirs.id, 0, 10) == b"theirs"
    # What is left on the engine is Globex's alone.
    if isinstance(store, MongoStore):
        files = store.db[f"{BUCKET}.files"]
        assert [doc["_id"] async for doc in files.find({})] == [theirs.id]


async def test_a_full_disk_keeps_the_file_to_whole_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: a write the file system refuses half-way (ENOSPC) is cut back off, so the
    file holds whole writes only and a later write carries on from there."""
    store = await SqliteStore.open(str(tmp_path / "x.db"))
    try:
        acme = store.scoped("acme")
        recording = make_recording("acme")
        await acme.create_recording(recording)
        writer = await acme.write_recording(recording)
        await writer.write(b"whole")
        real_write = os.write

        def half_then_full(fd: int, data: Any) -> int:
            if len(data) > 4:
                real_write(fd, bytes(data[:4]))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", half_then_full)
        with pytest.raises(OSError, match="No space left"):
            await writer.write(b"too much")
        monkeypatch.setattr(os, "write", real_write)
        assert writer.size == 5
        await writer.write(b"+more")
        await writer.close()
        assert await acme.read_recording(recording.id, 0, 100) == b"whole+more"
    finally:
        await store.close()
