"""Exports through the real server: the account's content as one ZIP for administrators,
a session's for the agent with rights to it, built in the background, checked to the
byte, audited, and gone after their days."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from typing import Any

from livelens.services import export, export_rules, tasks
from livelens.store.records import ExportJob, new_id
from tests.api.governance import account, live, signed_in
from tests.api.harness import Client, Server
from tests.api.test_seats import set_terms

PHRASE = "the blue cable behind the router"
PNG = b"\x89PNG\r\n\x1a\n" + b"export-snapshot-bytes" * 40
NOTES = "Customer's router replaced; follow up Monday."
COMMENT = "Quick and friendly"
RATED = {"customer_rating": True}  # the account asks customers to rate sessions


async def session_with_content(server: Server, tenant_id: str, agent: Client) -> str:
    """A session of ``agent``'s with a chat phrase, a snapshot, notes and a rating, ended."""
    async with live(server, tenant_id, agent) as session:
        session.customer_ws.send("chat", text=PHRASE, ref="c1")
        await session.agent_ws.next("chat", text=PHRASE)
        path = f"/api/sessions/{session.session_id}"
        assert (await agent.post(f"{path}/snapshots", PNG)).status == 201
        assert (await agent.request("PUT", f"{path}/notes", {"text": NOTES})).status == 200
        session.agent_ws.send("end")
        await session.customer_ws.next("ended")
    rated = await session.customer.post("/api/join/rating", {"rating": 5, "comment": COMMENT})
    assert rated.status == 201, rated.body
    return session.session_id


async def made(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    """Ask for an export, let it be made; the export as the API shows it then."""
    asked = await client.post("/api/exports", body)
    assert asked.status == 202, asked.body
    assert asked.body["state"] == "queued" and asked.body["download_url"] is None
    await tasks.drain()
    shown = await client.get(f"/api/exports/{asked.body['id']}")
    assert shown.status == 200 and shown.body["state"] == "ready", shown.body
    return shown.body


async def downloaded(client: Client, job: dict[str, Any]) -> zipfile.ZipFile:
    answer = await client.get(job["download_url"])
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "application/zip"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{job["file_name"]}"'
    assert len(answer.raw) == job["size"]
    archive = zipfile.ZipFile(io.BytesIO(answer.raw))
    assert archive.testzip() is None
    return archive


def read_json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


def check_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    manifest = read_json(archive, "manifest.json")
    assert manifest["format"] == export_rules.FORMAT
    names = set(archive.namelist()) - {"manifest.json"}
    assert set(manifest["files"]) == names
    for name, described in manifest["files"].items():
        data = archive.read(name)
        assert described == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return dict(manifest)


def everything(archive: zipfile.ZipFile) -> bytes:
    return b"".join(archive.read(name) for name in archive.namelist())


async def test_an_administrator_exports_the_account_as_a_checked_zip(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    ann = await signed_in(server, "ann@acme.test")
    session_id = await session_with_content(server, tenant_id, ann)
    await ann.post("/api/sessions")  # a second session, still waiting: no content

    job = await made(admin, {"scope": "account"})
    assert job["scope"] == "account" and job["session_id"] is None
    assert job["file_name"].startswith("livelens-acme-") and job["file_name"].endswith(".zip")
    assert job["expires_at"] == job["created_at"] + 7 * 86400
    archive = await downloaded(admin, job)
    manifest = check_manifest(archive)
    assert manifest["counts"] == {"users": 2, "sessions": 2, "chat_messages": 1, "notes": 1,
                                  "snapshots": 1, "ratings": 1,
                                  "audit_events": manifest["counts"]["audit_events"]}  # fmt: skip

    folder = f"sessions/{session_id}/"
    chat = read_json(archive, folder + "chat.json")
    assert [(m["text"], m["role"]) for m in chat] == [(PHRASE, "customer")]
    assert read_json(archive, folder + "notes.json")["text"] == NOTES
    shots = read_json(archive, folder + "snapshots.json")
    assert [s["media_type"] for s in shots] == ["image/png"]
    assert archive.read(f"{folder}snapshots/{shots[0]['id']}.png") == PNG
    assert read_json(archive, folder + "rating.json")["comment"] == COMMENT
    record = read_json(archive, folder + "session.json")
    assert record["id"] == session_id and record["status"] == "ended"
    assert "join_token_hash" not in record and "pin_hash" not in record

    people = read_json(archive, "account.json")
    assert people["account"]["name"] == "Acme"
    assert "wrapped_data_key" not in people["account"]
    assert {u["email"] for u in people["users"]} == {"boss@acme.test", "ann@acme.test"}
    actions = [e["action"] for e in read_json(archive, "audit.json")]
    assert actions[0] == "account.created" and "session.snapshot_taken" in actions

    # No secret of any user anywhere in the archive.
    everything_ = everything(archive)
    for user in await server.ctx.store.scoped(tenant_id).list_users():
        assert user.password_hash.encode() not in everything_
        for field in ("password_hash", "totp_secret", "recovery_codes", "totp_pending"):
            assert field.encode() not in everything_
    # Asked for, made and downloaded: all in the audit log.
    log = (await admin.get("/api/audit?limit=500")).body["events"]
    kinds = {e["action"]: e for e in log if e["action"].startswith("export.")}
    assert set(kinds) == {"export.requested", "export.ready", "export.downloaded"}
    assert kinds["export.downloaded"]["details"]["export"] == job["id"]
    assert kinds["export.ready"]["details"]["snapshots"] == 1


async def test_the_file_is_private_and_removed_after_its_days(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    job = await made(admin, {"scope": "account"})
    stored = await server.ctx.store.scoped(tenant_id).get_export_job(job["id"])
    assert stored is not None
    path = export.file_path(server.ctx, stored)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700

    server.clock.advance(7 * 86400 - 1)
    admin = await signed_in(server, "boss@acme.test")  # the sign-in before has ended
    assert (await admin.get(job["download_url"])).status == 200
    server.clock.advance(1)
    assert (await admin.get("/api/exports")).body["exports"] == []
    assert not path.exists()
    assert (await admin.get(job["download_url"])).status == 404
    log = (await admin.get("/api/audit")).body["events"]
    assert "export.expired" in [e["action"] for e in log]


async def test_agents_cannot_export_the_account_nor_reach_others_exports(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    await server.user(tenant_id, "bob@acme.test")
    ann = await signed_in(server, "ann@acme.test")
    bob = await signed_in(server, "bob@acme.test")
    refused = await ann.post("/api/exports", {"scope": "account"})
    assert refused.status == 403

    job = await made(admin, {"scope": "account"})
    for path in (f"/api/exports/{job['id']}", job["download_url"]):
        assert (await ann.get(path)).status == 404
    assert (await ann.get("/api/exports")).body["exports"] == []

    session_id = await session_with_content(server, tenant_id, ann)
    mine = await made(ann, {"scope": "session", "session_id": session_id})
    for path in (f"/api/exports/{mine['id']}", mine["download_url"]):
        assert (await bob.get(path)).status == 404  # another agent's
    # Bob has no rights to Ann's session: he cannot ask for its export either.
    asked = await bob.post("/api/exports", {"scope": "session", "session_id": session_id})
    assert asked.status == 404
    assert [j["id"] for j in (await ann.get("/api/exports")).body["exports"]] == [mine["id"]]
    # The administrator sees both.
    listed = (await admin.get("/api/exports")).body["exports"]
    assert {j["id"] for j in listed} == {job["id"], mine["id"]}

    # Another account sees none of them.
    _, other = await account(server, RATED, name="Globex")
    for path in (f"/api/exports/{job['id']}", job["download_url"], mine["download_url"]):
        assert (await other.get(path)).status == 404
    assert (await other.get("/api/exports")).body["exports"] == []
    assert (await server.client().get("/api/exports")).status == 401


async def test_an_agent_exports_a_session_of_theirs_for_its_customer(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    ann = await signed_in(server, "ann@acme.test")
    session_id = await session_with_content(server, tenant_id, ann)
    await session_with_content(server, tenant_id, ann)  # another session: not in this one

    job = await made(ann, {"scope": "session", "session_id": session_id})
    assert job["session_id"] == session_id and job["requested_by"]
    archive = await downloaded(ann, job)
    manifest = check_manifest(archive)
    assert manifest["counts"]["sessions"] == 1
    assert {n.split("/")[1] for n in archive.namelist() if n.startswith("sessions/")} == {
        session_id
    }
    assert PHRASE in [m["text"] for m in read_json(archive, f"sessions/{session_id}/chat.json")]
    shared = read_json(archive, "account.json")
    # The team's addresses stay out of a customer's export: names and roles only.
    assert shared["users"] == [{"id": job["requested_by"], "display_name": "Ann", "role": "agent"}]
    assert {e["target"] for e in read_json(archive, "audit.json")} == {session_id}
    # The administrator may download it too.
    assert (await admin.get(job["download_url"])).status == 200


async def test_requests_are_checked_and_one_export_is_made_at_a_time(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    for body in ({}, {"scope": "everything"}, {"scope": "session"},
                 {"scope": "session", "session_id": "nope"},
                 {"scope": "account", "session_id": "0" * 32}):  # fmt: skip
        answer = await admin.post("/api/exports", body)
        assert answer.status == 400, body
        assert answer.body["error"] == "invalid_input"
    missing = await admin.post("/api/exports", {"scope": "session", "session_id": "0" * 32})
    assert missing.status == 404

    # One being made (as the background task has it) holds up another of the same.
    boss = await server.ctx.store.scoped(tenant_id).find_user_by_email("boss@acme.test")
    assert boss is not None
    running = ExportJob(new_id(), tenant_id, "account", boss.id, server.clock.now(),
                        server.clock.now() + 86400, state="running")  # fmt: skip
    await server.ctx.store.scoped(tenant_id).create_export_job(running)
    again = await admin.post("/api/exports", {"scope": "account"})
    assert again.status == 409 and again.body["error"] == "export_running"
    assert again.body["export_id"] == running.id
    early = await admin.get(f"/api/exports/{running.id}/download")
    assert early.status == 409 and early.body["error"] == "export_not_ready"
    assert early.body["state"] == "running"

    failed = dataclasses.replace(running, state="failed", error=export_rules.FAILED)
    await server.ctx.store.scoped(tenant_id).save_export_job(failed)
    shown = (await admin.get(f"/api/exports/{running.id}")).body
    assert (shown["state"], shown["error"]) == ("failed", export_rules.FAILED)
    assert (await admin.get(f"/api/exports/{running.id}/download")).status == 409
    assert (await admin.post("/api/exports", {"scope": "account"})).status == 202
    await tasks.drain()


async def test_administrators_still_export_after_the_subscription_ended(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    await set_terms(server, tenant_id, None, "2020-01-31")
    assert (await admin.post("/api/sessions")).status == 403  # ended
    job = await made(admin, {"scope": "account"})
    check_manifest(await downloaded(admin, job))


async def test_an_export_cut_short_by_a_restart_is_failed_when_the_node_starts(
    server: Server,
) -> None:
    tenant_id, admin = await account(server, RATED)
    boss = (await admin.get("/api/me")).body["user"]["id"]
    scope = server.ctx.store.scoped(tenant_id)
    cut, elsewhere = (ExportJob(new_id(), tenant_id, "account", boss, server.clock.now(),
                                server.clock.now() + 86400, state="running")
                      for _ in range(2))  # fmt: skip
    for job in (cut, elsewhere):
        await scope.create_export_job(job)
    partial = export.file_path(server.ctx, cut).with_suffix(".part")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"PK half an archive")

    await export.fail_interrupted(server.ctx)
    assert not partial.exists()
    shown = (await admin.get(f"/api/exports/{cut.id}")).body
    assert (shown["state"], shown["error"]) == ("failed", export_rules.FAILED)
    # Another node's (no partial file here) goes on.
    assert (await admin.get(f"/api/exports/{elsewhere.id}")).body["state"] == "running"


async def test_deleting_content_removes_the_exports_that_hold_it(server: Server) -> None:
    tenant_id, admin = await account(server, RATED)
    ann = await signed_in(server, "ann@acme.test")
    first = await session_with_content(server, tenant_id, ann)
    second = await session_with_content(server, tenant_id, ann)
    whole = await made(admin, {"scope": "account"})
    kept = await made(ann, {"scope": "session", "session_id": second})
    gone = await made(ann, {"scope": "session", "session_id": first})
    store = server.ctx.store.scoped(tenant_id)
    paths = {}
    for job in (whole, kept, gone):
        stored = await store.get_export_job(job["id"])
        assert stored is not None
        paths[job["id"]] = export.file_path(server.ctx, stored)

    # The deletion of the first session: its export and the account's go, with their files.
    deleted = await ann.delete(f"/api/sessions/{first}")
    assert deleted.status == 200, deleted.body
    assert deleted.body["certificate"]["counts"]["exports"] == 2
    left = (await admin.get("/api/exports")).body["exports"]
    assert [j["id"] for j in left] == [kept["id"]]
    assert [p.exists() for p in paths.values()] == [False, True, False]
    log = (await admin.get("/api/audit")).body["events"]
    assert [e["action"] for e in log].count("export.deleted") == 2
    # The deletion of the account: everything goes.
    gone_too = await admin.request("DELETE", "/api/account", {"confirm": "Acme"})
    assert gone_too.status == 200, gone_too.body
    assert not any(p.exists() for p in paths.values())
