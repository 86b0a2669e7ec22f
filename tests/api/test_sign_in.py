"""Sign-in rules: the promises of the Foundation issue, each one able to fail."""

import statistics
import time

import pytest

from livelens.identity.lockout import LOCK_SECONDS, MAX_FAILURES
from tests.api.harness import PASSWORD, Server


async def test_sign_in_sets_a_protected_cookie_and_shows_who_i_am(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    client = server.client()
    answer = await client.login("Ann@Acme.test")
    assert answer.status == 200
    assert answer.body["user"]["email"] == "ann@acme.test"
    assert answer.body["user"]["role"] == "agent"
    assert answer.body["user"]["tenant_id"] == tenant_id
    cookie = next(c for c in answer.headers.get_list("Set-Cookie") if "livelens_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback only
    me = await client.get("/api/me")
    assert me.status == 200
    assert me.body["tenant"]["name"] == "Acme"
    assert me.body["totp_enabled"] is False


async def test_signed_out_me_is_401_json(server: Server) -> None:
    answer = await server.client().get("/api/me")
    assert answer.status == 401
    assert answer.body["error"] == "not_authenticated"


async def test_state_changing_request_without_xsrf_is_refused(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.get("/api/me")
    client.send_xsrf = False
    answer = await client.login("boss@acme.test")
    assert answer.status == 403
    assert answer.body["error"] == "xsrf_failed"


async def test_wrong_password_and_unknown_email_answer_the_same(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    wrong = await server.client().login("boss@acme.test", "wrong-pass-1")
    unknown = await server.client().login("nobody@acme.test", "wrong-pass-1")
    assert wrong.status == unknown.status == 401
    assert (
        wrong.body
        == unknown.body
        == {
            "error": "invalid_credentials",
            "message": "Wrong e-mail or password.",
        }
    )


async def test_lockout_after_five_failures_even_for_the_right_password(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    for _ in range(MAX_FAILURES):
        assert (await client.login("boss@acme.test", "wrong-pass-1")).status == 401
    locked = await client.login("boss@acme.test")
    assert locked.status == 423
    assert locked.body["error"] == "account_locked"
    assert locked.body["retry_after"] == LOCK_SECONDS
    assert locked.headers["Retry-After"] == str(LOCK_SECONDS)
    server.clock.advance(LOCK_SECONDS - 1)
    assert (await client.login("boss@acme.test")).status == 423
    server.clock.advance(1)
    assert (await client.login("boss@acme.test")).status == 200


async def test_success_resets_the_failure_count(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    for _ in range(MAX_FAILURES - 1):
        await client.login("boss@acme.test", "wrong-pass-1")
    assert (await client.login("boss@acme.test")).status == 200
    for _ in range(MAX_FAILURES - 1):
        await client.login("boss@acme.test", "wrong-pass-1")
    assert (await client.login("boss@acme.test")).status == 200


async def test_unknown_addresses_lock_too_so_lockout_reveals_nothing(server: Server) -> None:
    client = server.client()
    for _ in range(MAX_FAILURES):
        await client.login("ghost@acme.test", "wrong-pass-1")
    answer = await client.login("ghost@acme.test", "wrong-pass-1")
    assert answer.status == 423


async def test_lockout_is_audited(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    client = server.client()
    for _ in range(MAX_FAILURES):
        await client.login("ann@acme.test", "wrong-pass-1")
    events = await server.ctx.store.scoped(tenant_id).list_audit_events(50)
    actions = [e.action for e in events]
    assert actions.count("auth.login_failed") == MAX_FAILURES
    assert "auth.locked" in actions
    failed = next(e for e in events if e.action == "auth.login_failed")
    assert failed.ip == "127.0.0.1"
    assert failed.target == "ann@acme.test"


async def test_disabled_user_cannot_sign_in(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    user_id = await server.user(tenant_id, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    agent = server.client()
    await agent.login("ann@acme.test")
    assert (await admin.patch(f"/api/users/{user_id}", {"disabled": True})).status == 200
    assert (await agent.get("/api/me")).status == 401
    assert (await server.client().login("ann@acme.test")).body["error"] == "invalid_credentials"


async def test_logout_ends_the_session_even_if_the_cookie_is_replayed(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    saved = dict(client.cookies)
    assert (await client.post("/api/auth/logout")).status == 200
    assert (await client.get("/api/me")).status == 401
    client.cookies = saved
    assert (await client.get("/api/me")).status == 401


async def test_session_expires(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    server.clock.advance(server.ctx.settings.auth_session_ttl + 1)
    assert (await client.get("/api/me")).status == 401


async def test_forged_session_cookie_is_ignored(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    client.cookies["livelens_session"] = f"{tenant_id}.forged"
    assert (await client.get("/api/me")).status == 401


async def test_stale_hash_parameters_are_upgraded_on_sign_in(server: Server) -> None:
    from livelens.identity.passwords import HashParameters, PasswordHashing

    tenant_id = await server.tenant("Acme", "boss@acme.test")
    server.ctx.hashing = PasswordHashing(HashParameters(time_cost=2, memory_cost=2048))
    assert (await server.client().login("boss@acme.test")).status == 200
    scope = server.ctx.store.scoped(tenant_id)
    stored = await scope.find_user_by_email("boss@acme.test")
    assert stored is not None
    assert "t=2" in stored.password_hash


async def test_unknown_email_takes_as_long_as_a_wrong_password(server: Server) -> None:
    from livelens.identity.passwords import PasswordHashing

    server.ctx.hashing = PasswordHashing()  # production cost, so timing is measurable
    await server.tenant("Acme", "boss@acme.test")

    # The work done (this process's CPU time: the server runs in it), not the wall time,
    # which other processes on a busy machine stretch; known and unknown interleaved.
    async def work(email: str) -> float:
        start = time.process_time()
        await server.client().login(email, "wrong-pass-1")
        return time.process_time() - start

    known, unknown = [], []
    for i in range(4):  # under the lockout's five failures
        known.append(await work("boss@acme.test"))
        unknown.append(await work(f"x{i}@acme.test"))
    assert 0.5 < statistics.median(unknown) / statistics.median(known) < 2.0


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"email": 5, "password": "x"}'])
async def test_malformed_login_is_a_clear_400(server: Server, body: bytes) -> None:
    answer = await server.client().post("/api/auth/login", body)
    assert answer.status == 400
    assert answer.body["error"] in {"invalid_json", "invalid_input"}
    assert "Traceback" not in answer.raw.decode()


async def test_password_never_appears_in_the_store(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    await server.client().login("boss@acme.test")
    raw = server.stored_bytes()
    assert b"boss@acme.test" in raw
    assert PASSWORD.encode() not in raw
