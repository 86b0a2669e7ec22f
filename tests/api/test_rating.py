"""The customer's rating through the real server: asked for where the account's policy
says so, given once after the end by the customer who joined, the comment sealed at rest
and shown to agents with rights to the session (on both store engines)."""

from __future__ import annotations

import pytest

from tests.api.governance import account, live, signed_in
from tests.api.harness import Client, Server

COMMENT = "Quick and friendly, the router works again"


async def test_the_customer_rates_once_after_the_end_and_agents_with_rights_see_it(
    server: Server,
) -> None:
    tenant_id, admin = await account(server, {"customer_rating": True})
    await server.user(tenant_id, "bob@acme.test")
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as session:
        early = await session.customer.post("/api/join/rating", {"rating": 5})
        assert early.status == 409 and early.body["error"] == "not_ended"
        session.agent_ws.send("end")
        ended = await session.customer_ws.next("ended")
        assert ended["rate"] is True  # the page offers the form
        customer = session.customer

    rated = await customer.post("/api/join/rating", {"rating": 4, "comment": COMMENT})
    assert rated.status == 201, rated.body
    assert rated.body["rating"] == 4 and rated.body["rated_at"] == server.clock.now()
    again = await customer.post("/api/join/rating", {"rating": 1})
    assert again.status == 409 and again.body["error"] == "already_rated"
    assert COMMENT.encode() not in server.stored_bytes()  # sealed at rest

    path = f"/api/sessions/{session.session_id}"
    for agent in (ann, admin):
        shown = (await agent.get(path)).body["session"]["rating"]
        assert shown == {"score": 4, "at": server.clock.now(), "comment": COMMENT}
    listed = (await ann.get("/api/sessions")).body["sessions"][0]
    assert listed["rating"] == {"score": 4, "at": server.clock.now()}  # the comment: one view
    bob = await signed_in(server, "bob@acme.test")
    assert (await bob.get(path)).status == 404  # no rights to this session
    events = (await admin.get("/api/audit")).body["events"]
    [audited] = [e for e in events if e["action"] == "session.rated"]
    assert audited["actor"] == "customer" and audited["target"] == session.session_id
    assert audited["details"] == {"rating": 4, "comment": True}  # not the words themselves


async def test_no_rating_where_the_account_did_not_ask_when_the_session_started(
    server: Server,
) -> None:
    tenant_id, admin = await account(server)  # ratings are off unless turned on
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as session:
        # Turned on while this session runs: it keeps the policy it started with.
        assert (await admin.patch("/api/account/policy", {"customer_rating": True})).status == 200
        session.customer_ws.send("end")
        assert "rate" not in await session.agent_ws.next("ended")
    refused = await session.customer.post("/api/join/rating", {"rating": 5})
    assert refused.status == 403 and refused.body["error"] == "disabled_by_policy"
    assert "ratings" in refused.body["message"]
    stored = await server.ctx.store.scoped(tenant_id).get_support_session(session.session_id)
    assert stored is not None and stored.rating is None

    # And the other way round: turned off while a session runs, its customer may rate.
    async with live(server, tenant_id, ann) as later:
        assert (await admin.patch("/api/account/policy", {"customer_rating": False})).status == 200
        later.customer_ws.send("end")
        assert (await later.customer_ws.next("ended"))["rate"] is True
    assert (await later.customer.post("/api/join/rating", {"rating": 2})).status == 201


@pytest.mark.parametrize(
    "body",
    [{}, {"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": 3, "comment": "x" * 501},
     {"rating": 3, "comment": 7}],
)  # fmt: skip
async def test_a_bad_rating_is_refused_and_another_may_follow(
    server: Server, body: dict[str, object]
) -> None:
    tenant_id, _ = await account(server, {"customer_rating": True})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as session:
        session.agent_ws.send("end")
        await session.customer_ws.next("ended")
    answer = await session.customer.post("/api/join/rating", body)
    assert answer.status == 400 and answer.body["error"] == "invalid_input"
    assert (await session.customer.post("/api/join/rating", {"rating": 3})).status == 201


async def test_only_the_customers_browser_rates(server: Server) -> None:
    tenant_id, admin = await account(server, {"customer_rating": True})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as session:
        session.agent_ws.send("end")
        await session.customer_ws.next("ended")
    stranger = server.client()
    assert (await stranger.post("/api/join/rating", {"rating": 1})).status == 401
    # The join cookie alone, without the device it was bound to, is not the customer.
    copied = Client(server.base_url, {"livelens_join": session.customer.cookies["livelens_join"]})
    assert (await copied.post("/api/join/rating", {"rating": 1})).status == 401
    for agent in (ann, admin):  # agents are not customers
        assert (await agent.post("/api/join/rating", {"rating": 1})).status == 401
    stored = await server.ctx.store.scoped(tenant_id).get_support_session(session.session_id)
    assert stored is not None and stored.rating is None
