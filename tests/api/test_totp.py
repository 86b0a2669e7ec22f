"""Two-factor sign-in: enrolment, codes, recovery codes, account-wide requirement."""

import asyncio

from tests.api.harness import Client, Server


async def enrol(server: Server, client: Client) -> tuple[str, list[str]]:
    started = await client.post("/api/auth/totp/enroll")
    assert started.status == 200
    secret = started.body["secret"]
    assert started.body["otpauth_uri"].startswith("otpauth://totp/")
    assert started.body["qr_svg"].startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in started.body["qr_svg"]  # renders in <img>
    confirmed = await client.post("/api/auth/totp/confirm", {"otp": server.totp_now(secret)})
    assert confirmed.status == 200
    return secret, confirmed.body["recovery_codes"]


async def test_enrolled_user_needs_a_code_to_sign_in(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    secret, codes = await enrol(server, client)
    assert len(codes) == 10
    assert (await client.get("/api/me")).body["totp_enabled"] is True

    fresh = server.client()
    needed = await fresh.login("boss@acme.test")
    assert needed.status == 401
    assert needed.body["error"] == "otp_required"
    wrong = await fresh.login("boss@acme.test", otp="000000")
    assert wrong.status == 401
    assert wrong.body["error"] == "invalid_otp"
    server.clock.advance(30)  # the enrolment code was used: wait for the next one
    before = (await client.get("/api/users")).body["users"][0]["last_sign_in_at"]
    ok = await fresh.login("boss@acme.test", otp=server.totp_now(secret))
    assert ok.status == 200
    # Only a sign-in that passed its second factor counts as the last sign-in.
    after = (await client.get("/api/users")).body["users"][0]["last_sign_in_at"]
    assert before < after == server.clock.now()


async def test_a_code_works_only_once(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    secret, _ = await enrol(server, client)
    enrolment_code = server.totp_now(secret)
    reused = await server.client().login("boss@acme.test", otp=enrolment_code)
    assert reused.status == 401
    assert reused.body["error"] == "invalid_otp"
    server.clock.advance(30)
    code = server.totp_now(secret)
    assert (await server.client().login("boss@acme.test", otp=code)).status == 200
    replay = await server.client().login("boss@acme.test", otp=code)
    assert replay.status == 401
    # An older code, still inside the drift window, is refused too once a newer one was used.
    server.clock.advance(30)
    assert (await server.client().login("boss@acme.test", otp=code)).status == 401


async def test_sign_ins_racing_with_one_code_admit_one(server: Server) -> None:
    # A phished code replayed at the same moment as the user's own sign-in.
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    secret, codes = await enrol(server, client)
    server.clock.advance(30)
    for otp in (server.totp_now(secret), codes[0]):
        answers = await asyncio.gather(
            *(server.client().login("boss@acme.test", otp=otp) for _ in range(4))
        )
        assert sorted(a.status for a in answers) == [200, 401, 401, 401]


async def test_wrong_code_during_enrolment_does_not_enable(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    await client.post("/api/auth/totp/enroll")
    answer = await client.post("/api/auth/totp/confirm", {"otp": "123456"})
    assert answer.status == 401
    assert answer.body["error"] == "invalid_otp"
    assert (await client.get("/api/me")).body["totp_enabled"] is False


async def test_confirm_without_enrolment_is_refused(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    answer = await client.post("/api/auth/totp/confirm", {"otp": "123456"})
    assert answer.status == 400


async def test_recovery_code_works_exactly_once(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    _, codes = await enrol(server, client)
    assert (await server.client().login("boss@acme.test", otp=codes[0])).status == 200
    again = await server.client().login("boss@acme.test", otp=codes[0])
    assert again.status == 401
    assert again.body["error"] == "invalid_otp"
    assert (await server.client().login("boss@acme.test", otp=codes[1])).status == 200


async def test_wrong_codes_count_towards_lockout(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    secret, _ = await enrol(server, client)
    other = server.client()
    for _ in range(5):
        await other.login("boss@acme.test", otp="000000")
    locked = await other.login("boss@acme.test", otp=server.totp_now(secret))
    assert locked.status == 423


async def test_totp_secret_is_encrypted_at_rest(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    secret, codes = await enrol(server, client)
    raw = server.stored_bytes()
    assert b"boss@acme.test" in raw  # the dump is real: it holds what is not secret
    assert secret.encode() not in raw
    assert codes[0].encode() not in raw


async def test_account_can_require_2fa_and_users_must_enrol(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    policy = await admin.patch("/api/account/policy", {"require_totp": True})
    assert policy.status == 200
    assert policy.body["tenant"]["require_totp"] is True

    agent = server.client()
    signed_in = await agent.login("ann@acme.test")
    assert signed_in.status == 200
    assert signed_in.body["totp_enrollment_required"] is True
    me = await agent.get("/api/me")
    assert me.body["totp_enrollment_required"] is True
    blocked = await agent.post("/api/auth/sessions/revoke")
    assert blocked.status == 403
    assert blocked.body["error"] == "totp_enrollment_required"
    await enrol(server, agent)
    assert (await agent.get("/api/me")).body["totp_enrollment_required"] is False
    disable = await agent.post("/api/auth/totp/disable", {"password": "correct-horse-42"})
    assert disable.status == 403


async def test_user_can_turn_totp_off_with_password(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    await enrol(server, client)
    wrong = await client.post("/api/auth/totp/disable", {"password": "nope-nope-1"})
    assert wrong.status == 401
    assert (
        await client.post("/api/auth/totp/disable", {"password": "correct-horse-42"})
    ).status == 200
    assert (await server.client().login("boss@acme.test")).status == 200


async def test_totp_changes_are_audited(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    await client.login("boss@acme.test")
    await enrol(server, client)
    events = await server.ctx.store.scoped(tenant_id).list_audit_events(20)
    assert {"totp.enrollment_started", "totp.enabled"} <= {e.action for e in events}
