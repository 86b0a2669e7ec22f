"""The console's feed (/ws/console) and the team list (/api/agents): an invited expert
hears of it at once, and colleagues see who is online or in a session."""

from __future__ import annotations

from typing import Any

from tests.api.harness import Client, Server
from tests.api.signalling import Signal, live_session


async def console(client: Client) -> Signal:
    feed = await Signal.open(client, "/ws/console")
    await feed.next("ready")
    return feed


def presence(answer: dict[str, Any]) -> dict[str, str]:
    return {a["email"]: a["presence"] for a in answer["agents"]}


async def test_an_invited_expert_hears_of_it_at_once_and_colleagues_see_who_is_in(
    server: Server,
) -> None:
    async with live_session(server, colleagues=("bob@acme.test", "cy@acme.test")) as live:
        bob = server.client()
        await bob.login("bob@acme.test")
        feed = await console(bob)
        team = (await live.agent.get("/api/agents")).body
        assert presence(team) == {
            "boss@acme.test": "offline",
            "bob@acme.test": "online",
            "cy@acme.test": "offline",
            "ann@acme.test": "in_session",
        }
        assert [a["you"] for a in team["agents"]][-1] is True  # the caller comes last
        assert "password_hash" not in str(team)

        path = f"/api/sessions/{live.session_id}/experts"
        assert (await live.agent.post(path, {"email": "bob@acme.test"})).status == 201
        invited = await feed.next("invited")
        assert (invited["session_id"], invited["by"]) == (live.session_id, "Ann")
        feed.close()


async def test_the_feed_is_for_signed_in_agents_and_ends_with_the_sign_in(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    refused = await Signal.open(server.client(), "/ws/console")
    assert (await refused.next("error"))["code"] == "not_authenticated"
    assert await refused.closed() == 4403

    ann = server.client()
    await ann.login("ann@acme.test")
    feed = await console(ann)
    assert (await ann.post("/api/auth/logout", {})).status == 200
    assert (await feed.next("error"))["code"] == "not_authenticated"
    assert await feed.closed() == 4403
    assert (await server.client().get("/api/agents")).status == 401


async def test_another_account_s_agents_are_not_listed(server: Server) -> None:
    acme = await server.tenant("Acme", "boss@acme.test")
    await server.user(acme, "ann@acme.test")
    globex = await server.tenant("Globex", "chief@globex.test")
    await server.user(globex, "gus@globex.test")
    gus = server.client()
    await gus.login("gus@globex.test")
    await console(gus)
    ann = server.client()
    await ann.login("ann@acme.test")
    listed = presence((await ann.get("/api/agents")).body)
    assert set(listed) == {"boss@acme.test", "ann@acme.test"}
