"""The retention job through the real server's store and clock: content past its
account's retention (or 90 days after its subscription ended) is deleted as a deletion
is, the session records stay; one node at a time runs it, under a lease."""

from __future__ import annotations

from datetime import UTC, datetime

from livelens.services import retention, subscription
from livelens.services.audit import CLI
from livelens.store.records import SupportSession
from tests.api.governance import account, signed_in
from tests.api.harness import Server
from tests.api.lifecycle import PHRASE, ended_with_content

DAY = 86_400.0


async def stored(server: Server, tenant_id: str, session_id: str) -> SupportSession:
    session = await server.ctx.store.scoped(tenant_id).get_support_session(session_id)
    assert session is not None
    return session


async def test_content_past_its_retention_goes_and_the_record_stays(server: Server) -> None:
    tenant_id, admin = await account(server, {"retention_days": 2})
    ann = await signed_in(server, "ann@acme.test")
    old = await ended_with_content(server, tenant_id, ann)
    server.clock.advance(1.5 * DAY)
    ann = await signed_in(server, "ann@acme.test")  # sign-ins last 12 hours
    recent = await ended_with_content(server, tenant_id, ann)
    other_id, _ = await account(server, {"retention_days": 30}, name="Globex")
    other_agent = await signed_in(server, "ann@globex.test")
    elsewhere = await ended_with_content(server, other_id, other_agent)

    assert await retention.run_once(server.ctx, "node-a") is not None
    assert await server.ctx.store.list_deletion_records() == []  # nothing due yet
    server.clock.advance(0.6 * DAY)  # the first session is now past 2 days
    run = await retention.run_once(server.ctx, "node-a")
    ann, admin = [await signed_in(server, f"{who}@acme.test") for who in ("ann", "boss")]
    assert run is not None and run.sessions == {tenant_id: [old.session_id]}

    path = f"/api/sessions/{old.session_id}"
    assert (await ann.get(f"{path}/chat")).body["messages"] == []
    assert (await ann.get(f"{path}/snapshots")).body["snapshots"] == []
    assert (await ann.get(f"{path}/notes")).body["notes"]["text"] == ""
    shown = await ann.get(path)  # the record stays, for reports
    assert shown.status == 200 and shown.body["session"]["outcome"] == "completed"
    purged = await stored(server, tenant_id, old.session_id)
    assert purged.purged_at == server.clock.now()
    assert await server.ctx.store.scoped(tenant_id).get_session_key(old.session_id) is None
    assert old.sealed_key is not None and old.sealed_key not in server.stored_bytes()
    for kept in ((tenant_id, recent), (other_id, elsewhere)):  # not due: untouched
        assert len(await server.ctx.store.scoped(kept[0]).list_session_items(
            kept[1].session_id)) == 3  # fmt: skip
    messages = (await ann.get(f"/api/sessions/{recent.session_id}/chat")).body["messages"]
    assert [m["text"] for m in messages] == [PHRASE]

    # Recorded: in the account's audit log and at instance level.
    events = (await admin.get("/api/audit")).body["events"]
    [event] = [e for e in events if e["action"] == "retention.content_deleted"]
    assert event["actor"] == "system"
    assert event["details"] == {"reason": "retention", "sessions": 1, "chat": 1,
                                "snapshot": 1, "note": 1, "session_keys": 1}  # fmt: skip
    [record] = await server.ctx.store.list_deletion_records()
    assert (record.kind, record.account_id, record.session_ids) == (
        "retention", tenant_id, (old.session_id,))  # fmt: skip
    # A later run finds nothing more to do for it.
    again = await retention.run_once(server.ctx, "node-a")
    assert again is not None and again.sessions == {}
    other_events = await server.ctx.store.scoped(other_id).list_audit_events()
    assert "retention.content_deleted" not in [e.action for e in other_events]


async def test_one_node_at_a_time_runs_the_job(server: Server) -> None:
    assert await retention.run_once(server.ctx, "node-a") is not None
    assert await retention.run_once(server.ctx, "node-b") is None  # node-a holds the lease
    assert await retention.run_once(server.ctx, "node-a") is not None  # and renews it
    server.clock.advance(retention.LEASE_SECONDS + 1)  # node-a went quiet
    assert await retention.run_once(server.ctx, "node-b") is not None
    assert await retention.run_once(server.ctx, "node-a") is None


async def test_content_goes_90_days_after_the_subscription_ended(server: Server) -> None:
    tenant_id, _ = await account(server, {"retention_days": 3650})
    ann = await signed_in(server, "ann@acme.test")
    ended = await ended_with_content(server, tenant_id, ann)
    scope = server.ctx.store.scoped(tenant_id)
    tenant = await scope.get_tenant()
    assert tenant is not None
    today = datetime.fromtimestamp(server.clock.now(), UTC).date().isoformat()
    # The subscription's last day is today (as the operator sets it).
    await subscription.set_terms(server.ctx, tenant, CLI, seats=None, ends=today)

    server.clock.advance(89 * DAY)  # a day after the end counts from midnight: not yet
    run = await retention.run_once(server.ctx, "node-a")
    assert run is not None and run.sessions == {}
    server.clock.advance(2 * DAY)
    run = await retention.run_once(server.ctx, "node-a")
    assert run is not None and run.sessions == {tenant_id: [ended.session_id]}
    assert await scope.list_session_items(ended.session_id) == []
    events = await scope.list_audit_events(1)
    assert events[0].details["reason"] == "subscription_ended"
