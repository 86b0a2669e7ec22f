"""How a live session ends, through the real server: who may end it, who may leave,
whose absence ends it, who is named; and no update lost when the join API, expert
invitations and the room change one session at the same time (on both store engines).

Time is the server's manual clock; ``pass_time`` has the room look at it, as its
timer does once the time has really passed."""

from __future__ import annotations

import asyncio
from typing import Any

from livelens.services import support
from tests.api.harness import Client, Server
from tests.api.signalling import Live, Signal, live_session, pass_time, roles, room_of


async def signed_in(server: Server, email: str) -> Client:
    client = server.client()
    assert (await client.login(email)).status == 200
    return client


async def stored(server: Server, tenant_id: str, session_id: str) -> Any:
    return await server.ctx.store.scoped(tenant_id).get_support_session(session_id)


def grace(server: Server) -> float:
    return server.ctx.settings.rejoin_grace


async def with_expert(live: Live) -> tuple[str, Signal]:
    """bob@acme.test invited and in the room; his user id and socket."""
    path = f"/api/sessions/{live.session_id}/experts"
    bob_id = (await live.agent.post(path, {"email": "bob@acme.test"})).body["expert"]["id"]
    bob = await signed_in(live.server, "bob@acme.test")
    expert_ws = await Signal.open(bob, f"/ws/agent/{live.session_id}")
    await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 3)
    return bob_id, expert_ws


async def test_a_waiting_session_outlives_its_agent_going_away(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    agent = await signed_in(server, "ann@acme.test")
    created = (await agent.post("/api/sessions")).body
    session_id = created["session"]["id"]
    for _ in range(2):  # the console opened, then reloaded or left for another tab
        ws = await Signal.open(agent, f"/ws/agent/{session_id}")
        await ws.next("state", status="waiting")
        ws.close()
        await ws.closed()
    await pass_time(server, session_id, 2 * grace(server) + 1)
    assert (await stored(server, tenant_id, session_id)).status == "waiting"

    customer = server.client()
    token = created["join_url"].split("#", 1)[1]
    joined = await customer.post("/api/join", {"token": token})
    assert joined.status == 200 and joined.body["session"]["status"] == "joined"


async def test_a_waiting_session_ends_at_its_join_deadline(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    agent = await signed_in(server, "boss@acme.test")
    session_id = (await agent.post("/api/sessions")).body["session"]["id"]
    ws = await Signal.open(agent, f"/ws/agent/{session_id}")
    await ws.next("state", status="waiting")
    await pass_time(server, session_id, server.ctx.settings.join_ttl)
    ended = await ws.next("ended")
    assert (ended["outcome"], ended["by"], ended["by_id"]) == ("expired", "system", None)
    assert await ws.closed() == 1000


async def test_an_expert_leaves_and_the_session_goes_on(server: Server) -> None:
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as live:
        _, expert_ws = await with_expert(live)
        expert_ws.send("leave")
        await expert_ws.next("left")
        assert await expert_ws.closed() == 1000
        after = await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 2)
        assert [p["name"] for p in after["participants"]] == ["Ann", "Customer"]

        await pass_time(server, live.session_id, 2 * grace(server) + 1)
        live.agent_ws.send("chat", text="still here", ref="r1")
        await live.customer_ws.next("chat", text="still here")
        assert (await stored(server, live.tenant_id, live.session_id)).status == "consented"
        events = await server.ctx.store.scoped(live.tenant_id).list_audit_events(50)
        assert "session.left" in {e.action for e in events}


async def test_the_owner_leaving_while_an_expert_stays_ends_nothing(server: Server) -> None:
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as live:
        _, expert_ws = await with_expert(live)
        live.agent_ws.close()
        await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 2)
        await pass_time(server, live.session_id, 2 * grace(server) + 1)
        expert_ws.send("chat", text="I'll take it from here", ref="e1")
        await live.customer_ws.next("chat", name="Bob")
        assert (await stored(server, live.tenant_id, live.session_id)).status == "consented"
        expert_ws.close()


async def test_the_customer_gone_past_the_grace_ends_it_as_dropped(server: Server) -> None:
    async with live_session(server, consent=True) as live:
        live.customer_ws.close()
        await live.agent_ws.next("state", where=lambda m: roles(m) == {"agent"})
        await pass_time(server, live.session_id, grace(server) - 1)
        live.agent_ws.send("ping")
        await live.agent_ws.next("pong")  # not yet
        await pass_time(server, live.session_id, 1)
        ended = await live.agent_ws.next("ended")
        assert (ended["outcome"], ended["by"]) == ("dropped", "system")
        assert (await stored(server, live.tenant_id, live.session_id)).outcome == "dropped"


async def test_every_agent_gone_past_the_grace_ends_it_as_dropped(server: Server) -> None:
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as live:
        _, expert_ws = await with_expert(live)
        live.agent_ws.close()
        await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 2)
        await pass_time(server, live.session_id, grace(server) / 2)
        expert_ws.send("leave")
        await live.customer_ws.next("state", where=lambda m: roles(m) == {"customer"})
        await pass_time(server, live.session_id, grace(server) - 1)  # the owner's is over
        live.customer_ws.send("ping")
        await live.customer_ws.next("pong")
        await pass_time(server, live.session_id, 1)  # and the expert's
        ended = await live.customer_ws.next("ended")
        assert ended == {"v": 1, "type": "ended", "outcome": "dropped", "by": "system",
                         "by_name": None}  # fmt: skip


async def test_ended_by_names_the_agent_who_ended_it_on_every_side(server: Server) -> None:
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as live:
        bob_id, expert_ws = await with_expert(live)
        live.agent_ws.close()  # the owner went; the expert ends it for everyone
        await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 2)
        expert_ws.send("end")
        at_expert = await expert_ws.next("ended")
        at_customer = await live.customer_ws.next("ended")
        assert [at_expert[k] for k in ("by", "by_id", "by_name")] == ["agent", bob_id, "Bob"]
        assert at_customer == {"v": 1, "type": "ended", "outcome": "completed", "by": "agent",
                               "by_name": "Bob"}  # fmt: skip
        record = (await live.agent.get(f"/api/sessions/{live.session_id}")).body["session"]
        assert (record["ended_by"], record["ended_by_user_id"], record["ended_by_name"]) == (
            "agent", bob_id, "Bob")  # fmt: skip
        session = await stored(server, live.tenant_id, live.session_id)
        assert (session.ended_by_user_id, session.ended_by_name) == (bob_id, "Bob")


async def test_no_update_is_lost_between_joins_invitations_and_the_room(server: Server) -> None:
    """Five sessions at once, each with its customer joining (by link, three times:
    the first binds the device) and consenting (a save by the room) while four experts
    are invited (each a save), all interleaved; then the room ends each one (a save)."""
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    emails = [f"expert{n}@acme.test" for n in range(support.MAX_EXPERTS)]
    expert_ids = {await server.user(tenant_id, email) for email in emails}
    ann = await signed_in(server, "ann@acme.test")
    created = [(await ann.post("/api/sessions")).body for _ in range(5)]
    agents = [await Signal.open(ann, f"/ws/agent/{c['session']['id']}") for c in created]
    for ws in agents:
        await ws.next("state", status="waiting")

    async def customer(invitation: dict[str, Any]) -> Signal:
        phone = server.client()
        token = invitation["join_url"].split("#", 1)[1]
        for _ in range(3):
            assert (await phone.post("/api/join", {"token": token})).status == 200
        ws = await Signal.open(phone, "/ws/customer")
        ws.send("consent", accept=True, scopes=["camera", "microphone"])
        await ws.next("state", status="consented")
        return ws

    async def invite(invitation: dict[str, Any], email: str) -> None:
        path = f"/api/sessions/{invitation['session']['id']}/experts"
        answer = await ann.post(path, {"email": email})
        assert answer.status == 201, answer.body

    customers = await asyncio.gather(
        *(customer(c) for c in created), *(invite(c, e) for c in created for e in emails)
    )
    for invitation in created:
        session = await stored(server, tenant_id, invitation["session"]["id"])
        assert session.status == "consented" and session.customer_device_hash is not None
        assert set(session.experts) == expert_ids
        assert room_of(server, session.id).session == session  # the room is in step

    for ws in agents:
        ws.send("end")
    for ws in customers:
        if isinstance(ws, Signal):
            await ws.next("ended")
    for invitation in created:
        session = await stored(server, tenant_id, invitation["session"]["id"])
        assert (session.status, session.consent_at is not None) == ("ended", True)
        assert set(session.experts) == expert_ids
