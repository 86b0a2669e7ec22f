"""Administration: roles, tenant isolation, users, sessions, policy, audit."""

import uuid

from tests.api.harness import Server


async def test_agents_cannot_use_admin_endpoints(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    agent = server.client()
    await agent.login("ann@acme.test")
    for method, path in [
        ("GET", "/api/users"),
        ("POST", "/api/users"),
        ("GET", "/api/account"),
        ("PATCH", "/api/account/policy"),
        ("GET", "/api/audit"),
    ]:
        answer = await agent.request(method, path, {})
        assert answer.status == 403, (method, path)
        assert answer.body["error"] == "forbidden"


async def test_signed_out_requests_are_401(server: Server) -> None:
    answer = await server.client().get("/api/users")
    assert answer.status == 401


async def test_admin_creates_users_with_password_policy(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    weak = await admin.post(
        "/api/users", {"email": "bob@acme.test", "role": "agent", "password": "short"}
    )
    assert weak.status == 400
    assert weak.body["error"] == "weak_password"
    assert "8 characters" in weak.body["message"]
    created = await admin.post(
        "/api/users", {"email": "bob@acme.test", "role": "agent", "password": "bobs-pass-9"}
    )
    assert created.status == 201
    assert created.body["user"]["email"] == "bob@acme.test"
    assert "password_hash" not in created.body["user"]
    dup = await admin.post(
        "/api/users", {"email": "BOB@acme.test", "role": "agent", "password": "bobs-pass-9"}
    )
    assert dup.status == 409
    assert dup.body["error"] == "duplicate_email"
    bad_role = await admin.post(
        "/api/users", {"email": "eve@acme.test", "role": "root", "password": "bobs-pass-9"}
    )
    assert bad_role.status == 400
    users = (await admin.get("/api/users")).body["users"]
    assert sorted(u["email"] for u in users) == ["bob@acme.test", "boss@acme.test"]
    assert (await server.client().login("bob@acme.test", "bobs-pass-9")).status == 200


async def test_accounts_cannot_see_or_touch_each_other(server: Server) -> None:
    acme = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(acme, "ann@acme.test")
    await server.tenant("Globex", "boss@globex.test")
    globex = server.client()
    await globex.login("boss@globex.test")
    users = (await globex.get("/api/users")).body["users"]
    assert [u["email"] for u in users] == ["boss@globex.test"]
    assert (await globex.patch(f"/api/users/{ann}", {"disabled": True})).status == 404
    assert (await globex.delete(f"/api/users/{ann}")).status == 404
    assert (await globex.post(f"/api/users/{ann}/sessions/revoke")).status == 404
    events = (await globex.get("/api/audit")).body["events"]
    assert all("acme" not in (e["target"] or "") for e in events)
    assert (await server.client().login("ann@acme.test")).status == 200


async def test_admin_revokes_all_sessions_of_a_user(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    phone, laptop = server.client(), server.client()
    await phone.login("ann@acme.test")
    await laptop.login("ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    answer = await admin.post(f"/api/users/{ann}/sessions/revoke")
    assert answer.status == 200
    assert answer.body["revoked"] == 2
    assert (await phone.get("/api/me")).status == 401
    assert (await laptop.get("/api/me")).status == 401
    assert (await admin.get("/api/me")).status == 200


async def test_user_signs_out_everywhere(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    a, b = server.client(), server.client()
    await a.login("boss@acme.test")
    await b.login("boss@acme.test")
    assert (await a.post("/api/auth/sessions/revoke")).body["revoked"] == 2
    assert (await a.get("/api/me")).status == 401
    assert (await b.get("/api/me")).status == 401


async def test_password_change_checks_policy_and_signs_out_other_browsers(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    here, there = server.client(), server.client()
    await here.login("boss@acme.test")
    await there.login("boss@acme.test")
    wrong = await here.post(
        "/api/auth/password", {"current_password": "nope-nope-1", "new_password": "n3w-passw0rd"}
    )
    assert wrong.status == 401
    weak = await here.post(
        "/api/auth/password", {"current_password": "correct-horse-42", "new_password": "abc"}
    )
    assert weak.status == 400
    assert weak.body["error"] == "weak_password"
    ok = await here.post(
        "/api/auth/password",
        {"current_password": "correct-horse-42", "new_password": "n3w-passw0rd"},
    )
    assert ok.status == 200
    assert (await here.get("/api/me")).status == 200
    assert (await there.get("/api/me")).status == 401
    assert (await server.client().login("boss@acme.test", "n3w-passw0rd")).status == 200
    assert (await server.client().login("boss@acme.test")).status == 401


async def test_last_admin_cannot_be_removed_or_demoted(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    me = (await admin.get("/api/me")).body["user"]["id"]
    second = await server.user(tenant_id, "deputy@acme.test", "admin")
    assert (await admin.delete(f"/api/users/{me}")).status == 409  # not yourself
    assert (await admin.patch(f"/api/users/{second}", {"role": "agent"})).status == 200
    demote_self = await admin.patch(f"/api/users/{me}", {"role": "agent"})
    assert demote_self.status == 409
    assert (await admin.delete(f"/api/users/{second}")).status == 204


async def test_admin_resets_a_password(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    assert (await admin.patch(f"/api/users/{ann}", {"password": "weak"})).status == 400
    assert (await admin.patch(f"/api/users/{ann}", {"password": "reset-pass-7"})).status == 200
    assert (await server.client().login("ann@acme.test", "reset-pass-7")).status == 200


async def test_audit_log_records_admin_actions_with_actor_and_ip(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    await admin.post(
        "/api/users", {"email": "bob@acme.test", "role": "agent", "password": "bobs-pass-9"}
    )
    await admin.patch("/api/account/policy", {"require_totp": False})
    events = (await admin.get("/api/audit?limit=10")).body["events"]
    created = next(
        e for e in events if e["action"] == "user.created" and e["target"] == "bob@acme.test"
    )
    assert created["actor"] == "boss@acme.test"
    assert created["ip"] == "127.0.0.1"
    assert events[0]["at"] >= events[-1]["at"]
    assert {"auth.login_succeeded", "account.created"} <= {e["action"] for e in events}
    assert (await admin.get("/api/audit?limit=0")).status == 400
    assert (await admin.get("/api/audit?limit=x")).status == 400


async def test_security_log_shows_failed_sign_ins_and_lockouts_of_the_account(
    server: Server,
) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    for _ in range(5):
        await server.client().login("ann@acme.test", "wrong-pass-1")
    await server.client().login("ghost@nowhere.test", "wrong-pass-1")  # no account: not shown
    admin = server.client()
    await admin.login("boss@acme.test")
    events = (await admin.get("/api/security-events?limit=50")).body["events"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("auth.login_failed") == 5
    assert "auth.locked" in kinds
    assert all(e["ip"] == "127.0.0.1" for e in events)
    assert "wrong-pass-1" not in str(events)
    agent = server.client()
    await agent.login("boss@acme.test")
    await server.tenant("Globex", "boss@globex.test")
    globex = server.client()
    await globex.login("boss@globex.test")
    assert (await globex.get("/api/security-events")).body["events"] == []


async def lock_out(server: Server, email: str) -> None:
    for _ in range(5):
        assert (await server.client().login(email, "wrong-pass-1")).status == 401
    assert (await server.client().login(email)).status == 423


async def test_an_administrator_sees_a_locked_user_and_unlocks_them(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    await lock_out(server, "ann@acme.test")
    users = {u["email"]: u for u in (await admin.get("/api/users")).body["users"]}
    assert users["ann@acme.test"]["locked_for"] > 0
    assert users["boss@acme.test"]["locked_for"] == 0

    assert (await admin.post(f"/api/users/{ann}/unlock", {})).status == 204
    assert (await server.client().login("ann@acme.test")).status == 200
    events = await server.ctx.store.scoped(tenant_id).list_audit_events(20)
    assert ("auth.unlocked", "ann@acme.test") in {(e.action, e.target) for e in events}


async def test_only_an_administrator_of_the_account_may_unlock(server: Server) -> None:
    acme = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(acme, "ann@acme.test")
    await server.user(acme, "bob@acme.test")
    await server.tenant("Globex", "chief@globex.test")
    await lock_out(server, "ann@acme.test")
    bob, chief = server.client(), server.client()
    await bob.login("bob@acme.test")
    await chief.login("chief@globex.test")
    assert (await bob.post(f"/api/users/{ann}/unlock", {})).status == 403
    foreign = await chief.post(f"/api/users/{ann}/unlock", {})
    unknown = await chief.post(f"/api/users/{uuid.uuid4().hex}/unlock", {})
    assert foreign.status == unknown.status == 404
    assert foreign.body == unknown.body
    assert (await server.client().login("ann@acme.test")).status == 423


async def test_a_password_reset_by_an_administrator_also_lifts_the_lockout(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    await lock_out(server, "ann@acme.test")
    reset = await admin.patch(f"/api/users/{ann}", {"password": "fresh-pass-42"})
    assert reset.status == 200
    assert (await server.client().login("ann@acme.test", "fresh-pass-42")).status == 200


async def test_users_show_when_each_last_signed_in(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    signed_in_at = server.clock.now()

    async def last_sign_ins() -> dict[str, object]:
        users = (await admin.get("/api/users")).body["users"]
        return {u["email"]: u["last_sign_in_at"] for u in users}

    assert await last_sign_ins() == {"boss@acme.test": signed_in_at, "ann@acme.test": None}
    server.clock.advance(3600)
    assert (await server.client().login("ann@acme.test", "wrong-pass-1")).status == 401
    assert (await last_sign_ins())["ann@acme.test"] is None  # a failed try is no sign-in
    assert (await server.client().login("ann@acme.test")).status == 200
    assert await last_sign_ins() == {
        "boss@acme.test": signed_in_at,
        "ann@acme.test": signed_in_at + 3600,
    }
