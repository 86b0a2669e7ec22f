"""The operator's rescue commands (services.operator) against a running server: a
locked-out or 2FA-less administrator gets back in, and each step is audited."""

from functools import partial
from typing import Any

import pytest

from livelens.errors import NotFound
from livelens.identity.lockout import MAX_FAILURES
from livelens.services import accounts, operator
from livelens.store.records import User
from tests.api.harness import Server
from tests.api.test_totp import enrol


async def test_unlock_lifts_a_lockout_at_once(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    client = server.client()
    for _ in range(MAX_FAILURES):
        await client.login("boss@acme.test", "wrong-pass-1")
    assert (await client.login("boss@acme.test")).status == 423
    await operator.unlock(server.ctx, "Boss@Acme.test")
    assert (await client.login("boss@acme.test")).status == 200
    actions = [e.action for e in await server.ctx.store.scoped(tenant_id).list_audit_events()]
    assert "auth.unlocked" in actions


async def test_reset_2fa_lets_a_user_without_phone_or_codes_back_in(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    owner = server.client()
    await owner.login("boss@acme.test")
    await enrol(server, owner)
    assert (await server.client().login("boss@acme.test")).body["error"] == "otp_required"
    await operator.on_user(server.ctx, "boss@acme.test", accounts.reset_second_factor)
    assert (await owner.get("/api/me")).status == 401  # signed out everywhere
    assert (await server.client().login("boss@acme.test")).status == 200
    actions = [e.action for e in await server.ctx.store.scoped(tenant_id).list_audit_events()]
    assert "totp.reset" in actions


async def test_set_password_disable_enable_and_role_find_the_user_on_any_account(
    server: Server,
) -> None:
    await server.tenant("Acme", "boss@acme.test")
    globex = await server.tenant("Globex", "hank@globex.test")
    await server.user(globex, "ann@globex.test")

    async def change(email: str, **changes: Any) -> User:
        return await operator.on_user(server.ctx, email, partial(accounts.update_user, **changes))

    await change("ann@globex.test", password="brand-new-pass-3")
    assert (await server.client().login("ann@globex.test", "brand-new-pass-3")).status == 200
    await change("ann@globex.test", disabled=True)
    assert (await server.client().login("ann@globex.test", "brand-new-pass-3")).status == 401
    await change("ann@globex.test", disabled=False)
    user = await change("ann@globex.test", role="admin")
    assert (user.tenant_id, user.role) == (globex, "admin")
    rows = await operator.list_users(server.ctx, None)
    assert [(t.name, u.email) for t, u in rows] == [
        ("Acme", "boss@acme.test"),
        ("Globex", "ann@globex.test"),
        ("Globex", "hank@globex.test"),
    ]
    with pytest.raises(NotFound):
        await change("nobody@acme.test", password="brand-new-pass-3")
