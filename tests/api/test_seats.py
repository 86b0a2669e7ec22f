"""Seats and subscription, as the instance's operator sets them (services.subscription,
what ``livelens tenant set`` runs), through the real server: administrators see them;
users beyond the seats are refused; after the subscription's last day nobody starts a
session, while administrators still read everything (on both store engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from livelens.services import subscription
from livelens.services.audit import CLI
from tests.api.governance import account, live, signed_in
from tests.api.harness import PASSWORD, Server

NEW_AGENT = {"role": "agent", "password": PASSWORD}


async def set_terms(
    server: Server, tenant_id: str, seats: int | None, ends: str | None = None
) -> None:
    tenant = await server.ctx.store.scoped(tenant_id).get_tenant()
    assert tenant is not None
    await subscription.set_terms(server.ctx, tenant, CLI, seats=seats, ends=ends)


async def test_administrators_see_seats_used_of_total_and_the_subscription_end(
    server: Server,
) -> None:
    tenant_id, admin = await account(server)
    await set_terms(server, tenant_id, 5, "2027-12-31")
    shown = (await admin.get("/api/account")).body["tenant"]
    assert shown["seats"] == {"used": 2, "total": 5}
    assert (shown["subscription_ends"], shown["subscription_active"]) == ("2027-12-31", True)
    events = (await admin.get("/api/audit")).body["events"]
    [changed] = [e for e in events if e["action"] == "account.subscription_changed"]
    assert changed["actor"] == "cli" and changed["target"] == "Acme"
    assert changed["details"] == {"seats": "none → 5", "subscription_ends": "none → 2027-12-31"}
    agent = await signed_in(server, "ann@acme.test")
    assert (await agent.get("/api/account")).status == 403
    assert (await agent.get("/api/me")).body["tenant"]["subscription_active"] is True


async def test_a_user_beyond_the_seats_is_refused_and_a_freed_seat_taken(server: Server) -> None:
    tenant_id, admin = await account(server)  # boss and ann: two active users
    await set_terms(server, tenant_id, 2)
    full = await admin.post("/api/users", {"email": "bob@acme.test", **NEW_AGENT})
    assert full.status == 409 and full.body["error"] == "no_free_seat"
    assert "All 2 seats" in full.body["message"] and (full.body["seats"], full.body["used"]) == (
        2, 2)  # fmt: skip
    users = (await admin.get("/api/users")).body["users"]
    ann = next(u["id"] for u in users if u["email"] == "ann@acme.test")

    # A disabled user takes no seat: bob gets ann's; ann cannot be enabled again.
    assert (await admin.patch(f"/api/users/{ann}", {"disabled": True})).status == 200
    assert (await admin.get("/api/account")).body["tenant"]["seats"]["used"] == 1
    bob = await admin.post("/api/users", {"email": "bob@acme.test", **NEW_AGENT})
    assert bob.status == 201
    enabled = await admin.patch(f"/api/users/{ann}", {"disabled": False})
    assert enabled.status == 409 and enabled.body["error"] == "no_free_seat"
    assert next(u for u in (await admin.get("/api/users")).body["users"]
                if u["id"] == ann)["disabled"] is True  # fmt: skip
    # Changing a role or a password takes no seat.
    assert (await admin.patch(f"/api/users/{bob.body['user']['id']}",
                              {"role": "admin"})).status == 200  # fmt: skip

    await set_terms(server, tenant_id, None)  # unlimited again
    assert (await admin.patch(f"/api/users/{ann}", {"disabled": False})).status == 200
    assert (await admin.get("/api/account")).body["tenant"]["seats"] == {"used": 3, "total": None}


async def test_seats_are_counted_per_account(server: Server) -> None:
    acme_id, _ = await account(server)
    await set_terms(server, acme_id, 2)
    _, globex = await account(server, name="Globex")
    for email in ("a@globex.test", "b@globex.test"):
        assert (await globex.post("/api/users", {"email": email, **NEW_AGENT})).status == 201
    assert (await globex.get("/api/account")).body["tenant"]["seats"] == {"used": 4, "total": None}


async def test_after_the_last_day_nobody_starts_a_session_and_administrators_still_read(
    server: Server,
) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as running:
        pass  # a session from before the end, for reading afterwards
    waiting = (await ann.post("/api/sessions")).body["session"]["id"]
    now = datetime.fromtimestamp(server.clock.now(), UTC)
    today, yesterday = now.date(), (now - timedelta(days=1)).date()
    await set_terms(server, tenant_id, None, today.isoformat())
    assert (await ann.post("/api/sessions")).status == 201  # through its last day
    # (The end at midnight UTC is the unit tests'; a day here would outlast the sign-ins.)
    await set_terms(server, tenant_id, None, yesterday.isoformat())
    for user in (ann, admin):
        refused = await user.post("/api/sessions")
        assert refused.status == 403 and refused.body["error"] == "subscription_ended"
        assert yesterday.isoformat() in refused.body["message"]
        renew = await user.post(f"/api/sessions/{waiting}/link")
        assert renew.status == 403 and renew.body["error"] == "subscription_ended"
    assert (await ann.get("/api/me")).body["tenant"]["subscription_active"] is False
    shown = (await admin.get("/api/account")).body["tenant"]
    assert shown["subscription_ends"] == yesterday.isoformat()
    assert shown["subscription_active"] is False
    # Reading and exporting go on.
    for path in (
        "/api/sessions",
        f"/api/sessions/{running.session_id}",
        f"/api/sessions/{running.session_id}/chat",
        "/api/audit",
        "/api/users",
    ):
        assert (await admin.get(path)).status == 200, path
    # Another account's subscription is its own.
    _, globex = await account(server, name="Globex")
    assert (await globex.post("/api/sessions")).status == 201
