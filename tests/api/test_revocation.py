"""Ending a sign-in ends what it opened: the console's session sockets and the user's leg
of a live session (signalling and media) close at once; the session goes on for the
others."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest
import tornado.web

from livelens.services import auth, live_sockets
from tests.api.harness import Client, Response, Server
from tests.api.signalling import Signal, live_session, pass_time, roles
from tests.media.clients import Probe, agent_client

AdminAction = Callable[[Client, str], Awaitable[Response]]
ADMIN_ACTIONS: dict[str, AdminAction] = {
    "disable": lambda admin, user: admin.patch(f"/api/users/{user}", {"disabled": True}),
    "reset password": lambda admin, user: admin.patch(
        f"/api/users/{user}", {"password": "n3w-passw0rd"}
    ),
    "revoke sign-ins": lambda admin, user: admin.post(f"/api/users/{user}/sessions/revoke"),
    "delete": lambda admin, user: admin.delete(f"/api/users/{user}"),
}


def sign_in_of(server: Server, client: Client) -> str:
    """The auth session id behind a client's session cookie."""
    secret = server.ctx.derived_secret("cookies").hex()
    raw = tornado.web.decode_signed_value(
        secret, "livelens_session", client.cookies["livelens_session"]
    )
    assert raw is not None
    return auth.session_id_for(raw.decode().partition(".")[2])


async def signed_in(server: Server, email: str) -> Client:
    client = server.client()
    assert (await client.login(email)).status == 200
    return client


async def assert_signed_out(ws: Signal) -> None:
    error = await ws.next("error")
    assert error["code"] == "not_authenticated"
    assert await ws.closed() == 4403  # the console stops reconnecting and says why


async def assert_alive(ws: Signal) -> None:
    ws.send("ping")
    await ws.next("pong")


@pytest.mark.parametrize("action", ADMIN_ACTIONS)
async def test_an_administrator_ending_a_users_sign_ins_closes_their_session_leg(
    server: Server, action: str
) -> None:
    async with live_session(server, consent=True) as live:
        ann = (await live.agent.get("/api/me")).body["user"]["id"]
        agent_pc = agent_client("agent", Probe())
        try:
            live.agent_ws.send("offer", sdp=await agent_pc.offer())
            await live.agent_ws.next("answer")
            assert server.hub.peer(live.session_id, ann) is not None

            admin = await signed_in(server, "boss@acme.test")
            assert (await ADMIN_ACTIONS[action](admin, ann)).status in (200, 204)

            await assert_signed_out(live.agent_ws)
            # Skips any customer-only state from before the agent attached (still "joined").
            alone = await live.customer_ws.next(
                "state", where=lambda m: roles(m) == {"customer"} and m["status"] != "joined"
            )
            assert alone["status"] == "consented"  # the session goes on without her
            assert server.hub.peer(live.session_id, ann) is None  # her media leg is gone
            await assert_alive(live.customer_ws)
            again = await Signal.open(live.agent, f"/ws/agent/{live.session_id}")
            assert (await again.next("error"))["code"] == "not_authenticated"
        finally:
            await agent_pc.close()


@pytest.mark.parametrize("leaves", ["signed out", "closed the tab"])
async def test_the_session_goes_on_when_an_expert_leaves(server: Server, leaves: str) -> None:
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as live:
        path = f"/api/sessions/{live.session_id}"
        bob_id = (await live.agent.post(path + "/experts", {"email": "bob@acme.test"})).body[
            "expert"
        ]["id"]
        bob = await signed_in(server, "bob@acme.test")
        expert_ws = await Signal.open(bob, f"/ws/agent/{live.session_id}")
        await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 3)

        if leaves == "signed out":
            admin = await signed_in(server, "boss@acme.test")
            assert (await admin.post(f"/api/users/{bob_id}/sessions/revoke")).status == 200
            await assert_signed_out(expert_ws)
        else:
            expert_ws.close()
        await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 2)
        await pass_time(server, live.session_id, 2 * server.ctx.settings.rejoin_grace + 1)

        live.agent_ws.send("chat", text="still here", ref="r1")
        await live.customer_ws.next("chat", text="still here")
        stored = await server.ctx.store.scoped(live.tenant_id).get_support_session(live.session_id)
        assert stored is not None and stored.status == "consented"


async def agent_sockets(server: Server) -> tuple[str, str, list[Client], list[Signal]]:
    """ann@acme.test signed in on a laptop and a phone, with a session open on each."""
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    browsers = [await signed_in(server, "ann@acme.test") for _ in range(2)]
    sockets = []
    for browser in browsers:
        session_id = (await browser.post("/api/sessions")).body["session"]["id"]
        ws = await Signal.open(browser, f"/ws/agent/{session_id}")
        await ws.next("state")
        sockets.append(ws)
    return tenant_id, ann, browsers, sockets


async def test_one_sign_in_ends_only_the_sockets_it_opened(server: Server) -> None:
    tenant_id, ann, (laptop, phone), (on_laptop, on_phone) = await agent_sockets(server)
    ctx = server.ctx
    closed = await live_sockets.signed_out(ctx, tenant_id, ann, sign_in=sign_in_of(server, laptop))
    assert closed == 1
    await assert_signed_out(on_laptop)
    await assert_alive(on_phone)
    assert await live_sockets.signed_out(ctx, tenant_id, ann, keep=sign_in_of(server, phone)) == 0
    await assert_alive(on_phone)
    assert await live_sockets.signed_out(ctx, tenant_id, ann) == 1
    await assert_signed_out(on_phone)


async def test_a_sign_in_that_expires_takes_its_sockets_with_it(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    server.ctx.settings = dataclasses.replace(server.ctx.settings, auth_session_ttl=1)
    boss = await signed_in(server, "boss@acme.test")
    session_id = (await boss.post("/api/sessions")).body["session"]["id"]
    ws = await Signal.open(boss, f"/ws/agent/{session_id}")
    await ws.next("state")
    await assert_signed_out(ws)  # a second later, without anyone doing anything


# Needs the calls in services/auth.py (logout, revoke_own_sessions, change_password):
# remove this marker once they are there.
@pytest.mark.parametrize("how", ["sign out", "sign out everywhere", "change password"])
async def test_signing_out_closes_the_sockets_of_the_browsers_signed_out(
    server: Server, how: str
) -> None:
    _, _, (laptop, _phone), (on_laptop, on_phone) = await agent_sockets(server)
    if how == "sign out":
        assert (await laptop.post("/api/auth/logout")).status in (200, 204)
        await assert_signed_out(on_laptop)
        await assert_alive(on_phone)
    elif how == "sign out everywhere":
        assert (await laptop.post("/api/auth/sessions/revoke")).status == 200
        await assert_signed_out(on_laptop)
        await assert_signed_out(on_phone)
    else:
        body = {"current_password": "correct-horse-42", "new_password": "n3w-passw0rd"}
        assert (await laptop.post("/api/auth/password", body)).status == 200
        await assert_signed_out(on_phone)
        await assert_alive(on_laptop)  # the browser that changed it stays signed in
