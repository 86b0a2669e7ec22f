"""Deleting a session or a whole account through the API: who may, what is left (nothing
readable), the signed certificate, and the instance's record of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from livelens.config import Settings
from livelens.server import open_context
from livelens.services import keys, session_keys, signing
from livelens.services.audit import CLI
from livelens.store.encryption import DecryptionError, MasterKeyring
from tests.api.governance import account, live, signed_in
from tests.api.harness import Server
from tests.api.lifecycle import NOTE, PHRASE, PNG, ended_with_content, instance_key, verified
from tests.api.test_master_keys import node


async def test_deleting_a_session_leaves_nothing_readable(server: Server) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    ended = await ended_with_content(server, tenant_id, ann)
    path = f"/api/sessions/{ended.session_id}"
    assert ended.sealed_key is not None  # the session has a key of its own
    before = server.stored_bytes()
    assert all(item.sealed in before for item in ended.items)  # sealed, as stored
    assert PHRASE.encode() not in before and PNG[8:40] not in before  # never in the clear

    deleted = await ann.delete(path)
    assert deleted.status == 200, deleted.body
    cert = deleted.body["certificate"]
    checked = await verified(ann, cert)
    assert checked.certificate["kind"] == "session"
    assert cert["subject"] == {"account_id": tenant_id, "account_name": "Acme",
                               "session_id": ended.session_id}  # fmt: skip
    assert cert["counts"] == {"chat": 1, "snapshot": 1, "note": 1, "session_keys": 1,
                              "support_sessions": 1, "exports": 0}  # fmt: skip
    me = (await ann.get("/api/me")).body["user"]
    assert cert["deleted_by"] == {"user_id": me["id"], "email": "ann@acme.test", "name": "Ann"}

    for gone in (path, f"{path}/chat", f"{path}/notes", f"{path}/snapshots"):
        assert (await ann.get(gone)).status == 404
        assert (await admin.get(gone)).status == 404
    assert (await ann.delete(path)).status == 404

    # Nothing of it is left in the store's files (SQLite: the file and its WAL) or
    # documents (MongoDB): not the words, the picture, the sealed items or the key.
    after = server.stored_bytes()
    for secret in (PHRASE.encode(), NOTE.encode(), PNG[8:40], ended.sealed_key,
                   *(item.sealed for item in ended.items)):  # fmt: skip
        assert secret not in after
    # And a copy made before (a backup) no longer opens: the session's key is gone.
    opener = await session_keys.opener_of(server.ctx, tenant_id, ended.session_id)
    for item in ended.items:
        with pytest.raises(DecryptionError):
            opener.open(item.sealed, f"session/{ended.session_id}/{item.kind}/{item.id}")

    # Audited in the account, and recorded at instance level (no content).
    actions = [e["action"] for e in (await admin.get("/api/audit")).body["events"]]
    assert actions[0] == "session.deleted"
    [record] = await server.ctx.store.list_deletion_records()
    assert (record.id, record.kind, record.session_ids) == (cert["id"], "session",
                                                            (ended.session_id,))  # fmt: skip
    assert record.actor == "ann@acme.test" and record.counts == cert["counts"]


async def test_who_may_delete_a_session(server: Server) -> None:
    tenant_id, admin = await account(server)
    await server.user(tenant_id, "bob@acme.test")
    ann = await signed_in(server, "ann@acme.test")
    bob = await signed_in(server, "bob@acme.test")  # an agent without rights to it
    _, outsider = await account(server, name="Globex")  # another account's administrator
    first = await ended_with_content(server, tenant_id, ann)
    path = f"/api/sessions/{first.session_id}"

    assert (await bob.delete(path)).status == 404
    assert (await outsider.delete(path)).status == 404
    assert (await first.customer.delete(path)).status == 401  # the customer: no sign-in
    assert (await server.client().delete(path)).status == 401
    assert (await ann.get(path)).status == 200  # all refused: still there
    assert (await admin.delete(path)).status == 200  # an administrator of the account

    # A session that has not ended is not deleted; once its link ran out, it is.
    waiting = (await ann.post("/api/sessions")).body["session"]["id"]
    refused = await ann.delete(f"/api/sessions/{waiting}")
    assert refused.status == 409 and refused.body["error"] == "session_running"
    server.clock.advance(16 * 60)
    assert (await ann.delete(f"/api/sessions/{waiting}")).status == 200
    async with live(server, tenant_id, ann) as running:
        answer = await admin.delete(f"/api/sessions/{running.session_id}")
        assert answer.status == 409 and answer.body["error"] == "session_running"


async def test_deleting_the_account(server: Server) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    ended = await ended_with_content(server, tenant_id, ann)
    other_id, other = await account(server, name="Globex")
    tenant = await server.ctx.store.scoped(tenant_id).get_tenant()
    assert tenant is not None

    assert (await ann.request("DELETE", "/api/account", {"confirm": "Acme"})).status == 403
    wrong = await admin.request("DELETE", "/api/account", {"confirm": "acme"})
    assert wrong.status == 400 and wrong.body["field"] == "confirm"
    assert (await admin.request("DELETE", "/api/account", {})).status == 400

    deleted = await admin.request("DELETE", "/api/account", {"confirm": "Acme"})
    assert deleted.status == 200, deleted.body
    cert = deleted.body["certificate"]
    assert (await verified(other, cert)).certificate["kind"] == "account"
    assert cert["subject"] == {"account_id": tenant_id, "account_name": "Acme"}
    counts = cert["counts"]
    assert counts["tenants"] == 1 and counts["users"] == 2 and counts["session_items"] == 3
    assert counts["support_sessions"] == 1 and counts["session_keys"] == 1
    assert counts["audit_events"] > 0 and cert["deleted_by"]["email"] == "boss@acme.test"

    # Every sign-in of the account has ended; nobody signs in to it again.
    for client in (admin, ann):
        assert (await client.get("/api/me")).status == 401
    assert (await server.client().login("boss@acme.test")).status == 401
    assert await server.ctx.store.list_tenant_ids() == [other_id]
    after = server.stored_bytes()
    for secret in (tenant.wrapped_data_key, ended.sealed_key or b"-",
                   *(item.sealed for item in ended.items), PHRASE.encode()):  # fmt: skip
        assert secret not in after
    # The other account goes on; the instance keeps the record of the deletion.
    assert (await other.get("/api/account")).status == 200
    [record] = await server.ctx.store.list_deletion_records()
    assert (record.kind, record.account_id, record.account_name) == ("account", tenant_id, "Acme")


async def test_the_signing_key_is_published_and_stays(server: Server) -> None:
    client = server.client()
    first = await instance_key(client)
    assert first == await instance_key(client) and len(first) == 32
    shown = (await client.get("/api/instance/signing-key")).body
    assert shown["algorithm"] == "Ed25519" and len(shown["fingerprint"]) == 64


async def test_the_signing_key_survives_master_key_rotation(tmp_path: Path, store_url: str) -> None:
    settings = Settings(data_dir=tmp_path, store_url=store_url)  # keys in the key file
    ctx = await open_context(settings)
    try:
        before = await signing.public_view(ctx)
        await keys.rotate(ctx, CLI)
    finally:
        await ctx.store.close()
    current = MasterKeyring.parse(settings.master_key_file.read_text())
    alone = MasterKeyring([(current.current_id, current.current_key())])  # the old key gone
    after = await node(tmp_path, store_url, alone)
    try:
        assert await signing.public_view(after) == before
    finally:
        await after.store.close()
