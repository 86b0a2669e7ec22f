"""Recordings through the API: who sees them, the decrypted download whole and by byte
range, damaged files refused with a clear error, and recordings going with their
session or account (deletion, retention) and into exports."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from typing import Any

from livelens.services import retention, tasks
from tests.api.governance import account, signed_in
from tests.api.harness import Client, Server
from tests.api.recording import (
    CHUNK,
    WEBM,
    bytes_left,
    record,
    recorded_session,
    replace_sealed,
    sealed_bytes,
    session_of,
)

MARK = {"shape": "arrow", "x": 0.25, "y": 0.5}
SLOT = CHUNK + 24  # a sealed chunk: clear header (8), ciphertext, tag (16)
HEADER = 12


def paths(session_id: str, recording_id: str) -> tuple[str, str, str]:
    base = f"/api/sessions/{session_id}/recordings"
    return base, f"{base}/{recording_id}/download", f"{base}/{recording_id}/events"


async def actions(admin: Client) -> list[dict[str, Any]]:
    return list((await admin.get("/api/audit")).body["events"])


async def test_a_recording_is_listed_and_downloaded_by_those_with_rights(server: Server) -> None:
    tenant_id, admin = await account(server)
    await server.user(tenant_id, "kim@acme.test")
    await server.user(tenant_id, "bob@acme.test")
    ann = await signed_in(server, "ann@acme.test")
    session_id, recording = await recorded_session(server, tenant_id, ann, mark=MARK,
                                                   freeze={"frame": "f1"})  # fmt: skip
    session = await session_of(server, tenant_id, session_id)
    invited = dataclasses.replace(session, experts=(await _id_of(admin, "kim"),))
    await server.ctx.store.scoped(tenant_id).save_support_session(invited)
    listing, download, events = paths(session_id, recording.id)

    kim = await signed_in(server, "kim@acme.test")  # invited into it as an expert
    for who in (ann, kim, admin):
        listed = await who.get(listing)
        assert listed.status == 200, listed.body
        [shown] = listed.body["recordings"]
        assert shown["id"] == recording.id and shown["state"] == "complete"
        assert shown["duration_s"] == 12.5 and shown["bytes"] == recording.size > len(WEBM)
        assert shown["started_at"] == recording.started_at
        assert shown["download_url"] == download

    whole = await ann.get(download)
    assert whole.status == 200, whole.body
    assert whole.headers["Content-Type"] == "video/webm"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Disposition"].endswith('.webm"')
    assert whole.raw == WEBM
    [downloaded] = [e for e in await actions(admin) if e["action"] == "recording.downloaded"]
    assert downloaded["target"] == session_id
    assert downloaded["details"]["recording"] == recording.id

    timed = (await kim.get(events)).body["events"]
    assert [(e["t"], e["kind"], e["data"]) for e in timed] == [
        (1.5, "mark", MARK), (3.0, "freeze", {"frame": "f1"})]  # fmt: skip

    # Another agent of the account, another account, the customer: nothing to see.
    bob = await signed_in(server, "bob@acme.test")
    _, outsider = await account(server, name="Globex")
    for path in (listing, download, events):
        assert (await bob.get(path)).status == 404
        assert (await outsider.get(path)).status == 404
        assert (await server.client().get(path)).status == 401
    assert (await ann.get(f"{listing}/{'0' * 32}/download")).status == 404


async def _id_of(admin: Client, name: str) -> str:
    users = (await admin.get("/api/users")).body["users"]
    return str(next(u["id"] for u in users if u["email"].startswith(name)))


async def test_byte_ranges_are_served_decrypted_as_the_same_slices(server: Server) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    session_id, recording = await recorded_session(server, tenant_id, ann)
    _, download, _ = paths(session_id, recording.id)
    n = len(WEBM)

    for asked, (start, end) in [
        ("bytes=100-199", (100, 200)),
        ("bytes=65530-65545", (65530, 65546)),  # across a chunk's end
        (f"bytes={n - 10}-{n + 500}", (n - 10, n)),  # past the end: to the end
        ("bytes=-500", (n - 500, n)),  # the last 500
        (f"bytes=-{n + 9}", (0, n)),
        ("bytes=200000-", (200000, n)),
    ]:
        part = await ann.get(download, {"Range": asked})
        assert part.status == 206, (asked, part.body)
        assert part.raw == WEBM[start:end], asked
        assert part.headers["Content-Range"] == f"bytes {start}-{end - 1}/{n}"
        assert int(part.headers["Content-Length"]) == end - start

    for unsatisfiable in (f"bytes={n}-", f"bytes={n + 5}-{n + 9}", "bytes=-0"):
        refused = await ann.get(download, {"Range": unsatisfiable})
        assert refused.status == 416, unsatisfiable
        assert refused.body["error"] == "range_not_satisfiable"
        assert refused.headers["Content-Range"] == f"bytes */{n}"
    for ignored in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3"):  # served whole
        whole = await ann.get(download, {"Range": ignored})
        assert (whole.status, whole.raw) == (200, WEBM), ignored

    # A playback's start (a range from byte 0) is audited; its further ranges are not.
    assert (await ann.get(download, {"Range": "bytes=0-"})).raw == WEBM
    played = [e for e in await actions(admin) if e["action"] == "recording.played"]
    assert len(played) == 2  # this one, and the suffix longer than the file


async def test_a_damaged_recording_is_refused_with_a_clear_error(server: Server) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    session_id, recording = await recorded_session(server, tenant_id, ann)
    _, download, _ = paths(session_id, recording.id)
    good = await sealed_bytes(server, recording)
    third = HEADER + 2 * SLOT  # the third chunk's first byte
    flipped = good[: third + 100] + bytes([good[third + 100] ^ 1]) + good[third + 101 :]
    fourth = third + SLOT
    swapped = (
        good[:third] + good[fourth : fourth + SLOT] + good[third:fourth] + good[fourth + SLOT :]
    )

    await replace_sealed(server, recording, flipped)
    refused = await ann.get(download)
    assert refused.status == 422, refused.body
    assert refused.body["error"] == "recording_damaged"
    assert "chunk 2 fails authentication" in refused.body["message"]
    # A range clear of the changed chunk still plays; one that starts in it is refused.
    assert (await ann.get(download, {"Range": "bytes=0-999"})).raw == WEBM[:1000]
    assert (await ann.get(download, {"Range": f"bytes={2 * CHUNK}-"})).status == 422

    for damaged, words in [
        (good[:third] + good[third + SLOT :], "missing chunks"),  # a chunk dropped
        (good[: third + 50], "truncated"),  # cut inside the third chunk
        (good[: third + SLOT], "truncated"),  # cut at a chunk's end
        (swapped, "reordered"),  # the third and fourth chunks swapped
    ]:
        await replace_sealed(server, recording, damaged)
        answer = await ann.get(download)
        assert answer.status == 422, (words, answer.body)
        assert words in answer.body["message"], answer.body

    damage = [e for e in await actions(admin) if e["action"] == "recording.damaged"]
    assert len(damage) == 6
    assert all(e["details"]["recording"] == recording.id for e in damage)
    assert "reordered" in damage[0]["details"]["reason"]  # newest first
    await replace_sealed(server, recording, good)
    assert (await ann.get(download)).raw == WEBM


async def test_recordings_still_being_made_or_lost_are_not_served(server: Server) -> None:
    tenant_id, _admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    created = await ann.post("/api/sessions")
    session = await session_of(server, tenant_id, created.body["session"]["id"])
    runner = await record(server, session)
    listing, download, events = paths(session.id, runner.recording.id)
    try:
        [shown] = (await ann.get(listing)).body["recordings"]
        assert (shown["state"], shown["download_url"]) == ("recording", None)
        for path in (download, events):
            answer = await ann.get(path)
            assert (answer.status, answer.body["error"]) == (409, "recording_not_ready")
        # Its node stopped without ending it: shown as interrupted after a while.
        server.clock.advance(600)
        [shown] = (await ann.get(listing)).body["recordings"]
        assert shown["state"] == "interrupted"
    finally:
        await runner.stop()
    assert (await ann.get(download)).raw == WEBM


async def test_deleting_the_session_or_account_removes_the_recording_bytes(
    server: Server,
) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    first, _ = await recorded_session(server, tenant_id, ann)
    second, _ = await recorded_session(server, tenant_id, ann)
    assert bytes_left(server) > 0

    deleted = await ann.delete(f"/api/sessions/{first}")
    assert deleted.status == 200, deleted.body
    assert deleted.body["certificate"]["counts"]["recordings"] == 1
    assert (await admin.get(f"/api/sessions/{first}/recordings")).status == 404
    assert len((await admin.get(f"/api/sessions/{second}/recordings")).body["recordings"]) == 1
    left = bytes_left(server)
    assert left > 0

    gone = await admin.request("DELETE", "/api/account", {"confirm": "Acme"})
    assert gone.status == 200, gone.body
    assert gone.body["certificate"]["counts"]["recordings"] == 1
    assert bytes_left(server) == 0


async def test_retention_removes_old_recordings(server: Server) -> None:
    tenant_id, _ = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    session_id, _ = await recorded_session(server, tenant_id, ann)
    listing = f"/api/sessions/{session_id}/recordings"
    server.clock.advance(92 * 86400)
    run = await retention.run_once(server.ctx, "node-1")
    assert run is not None and run.sessions == {tenant_id: [session_id]}
    assert run.items["recordings"] == 1
    admin = await signed_in(server, "boss@acme.test")  # the old sign-in has run out
    assert (await admin.get(listing)).body["recordings"] == []
    assert bytes_left(server) == 0


async def test_a_session_export_holds_the_recording_decrypted(server: Server) -> None:
    tenant_id, _admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    session_id, recording = await recorded_session(server, tenant_id, ann, mark=MARK)
    asked = await ann.post("/api/exports", {"scope": "session", "session_id": session_id})
    assert asked.status == 202, asked.body
    await tasks.drain()
    job = (await ann.get(f"/api/exports/{asked.body['id']}")).body
    assert job["state"] == "ready", job
    archive = zipfile.ZipFile(io.BytesIO((await ann.get(job["download_url"])).raw))
    folder = f"sessions/{session_id}/"
    assert archive.read(f"{folder}recordings/{recording.id}.webm") == WEBM
    [described] = json.loads(archive.read(f"{folder}recordings.json"))
    assert described["file"] == f"{folder}recordings/{recording.id}.webm"
    assert described["webm_bytes"] == len(WEBM) and described["error"] is None
    assert [e["kind"] for e in described["events"]] == ["mark"]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"]["recordings"] == 1


async def test_the_recording_is_sealed_at_rest(server: Server) -> None:
    tenant_id, _admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    _, recording = await recorded_session(server, tenant_id, ann, chat={"text": "QX-5583"})
    scope = server.ctx.store.scoped(tenant_id)
    sealed = await scope.read_recording(recording.id, 0, recording.size)
    assert len(sealed) == recording.size
    assert WEBM[100:140] not in sealed and WEBM[-40:] not in sealed
    assert b"QX-5583" not in server.stored_bytes()  # the events are sealed too
