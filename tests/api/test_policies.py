"""Account policies through the real server: who may read and change them, how changes
are checked and audited, that one account's policy is no other's, and that the server
enforces each of them on real sessions (on both store engines)."""

from __future__ import annotations

from typing import Any

import pytest

from livelens.media.relay import RELAYS
from livelens.services import account_policy
from tests.api.governance import account, live, signed_in, token_of
from tests.api.harness import Server
from tests.api.signalling import pass_time
from tests.media.clients import Probe, agent_client, customer_client

DEFAULTS = {"require_totp": False, "two_way_audio": True, "snapshots": True, "chat": True,
            "pin_joining": True, "customer_rating": False, "join_link_minutes": 15,
            "retention_days": 90, "recording": "off"}  # fmt: skip
PNG = b"\x89PNG\r\n\x1a\n" + b"snapshot" * 40


def policies(tenant: dict[str, Any]) -> dict[str, Any]:
    return {name: tenant[name] for name in account_policy.FIELDS}


# -- reading and changing --------------------------------------------------------------


async def test_only_administrators_read_and_change_the_policy(server: Server) -> None:
    _, admin = await account(server)
    agent = await signed_in(server, "ann@acme.test")
    for answer in (await agent.get("/api/account"),
                   await agent.patch("/api/account/policy", {"chat": False})):  # fmt: skip
        assert answer.status == 403 and answer.body["error"] == "forbidden"
    shown = (await admin.get("/api/account")).body["tenant"]
    assert policies(shown) == DEFAULTS  # the agent changed nothing
    assert shown["name"] == "Acme"
    assert shown["seats"] == {"used": 2, "total": None}
    assert (shown["subscription_ends"], shown["subscription_active"]) == (None, True)
    assert (await server.client().patch("/api/account/policy", {"chat": False})).status == 401


async def test_a_change_names_what_changes_and_is_audited_from_old_to_new(server: Server) -> None:
    _, admin = await account(server)
    answer = await admin.patch("/api/account/policy", {"chat": False, "join_link_minutes": 30})
    assert answer.status == 200, answer.body
    assert policies(answer.body["tenant"]) == DEFAULTS | {"chat": False, "join_link_minutes": 30}
    again = await admin.patch("/api/account/policy", {"recording": "always", "chat": False})
    assert policies(again.body["tenant"]) == DEFAULTS | {
        "chat": False, "join_link_minutes": 30, "recording": "always"}  # fmt: skip
    assert policies((await admin.get("/api/account")).body["tenant"]) == policies(
        again.body["tenant"]
    )
    events = [e for e in (await admin.get("/api/audit")).body["events"]
              if e["action"] == "account.policy_changed"]  # fmt: skip
    assert [e["details"] for e in events] == [
        {"recording": "off → always"},  # chat was off already: not a change
        {"chat": "on → off", "join_link_minutes": "15 → 30"},
    ]
    assert events[0]["actor"] == "boss@acme.test" and events[0]["ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"join_link_minutes": 0}, "join_link_minutes"),
        ({"join_link_minutes": 1441}, "join_link_minutes"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 3651}, "retention_days"),
        ({"recording": "sometimes"}, "recording"),
        ({"snapshots": "off"}, "snapshots"),
        ({"chat": False, "video": False}, "video"),
    ],
)
async def test_bad_policies_are_refused_and_change_nothing(
    server: Server, body: dict[str, Any], field: str
) -> None:
    _, admin = await account(server)
    answer = await admin.patch("/api/account/policy", body)
    assert answer.status == 400 and answer.body["error"] == "invalid_input"
    assert answer.body["field"] == field
    assert policies((await admin.get("/api/account")).body["tenant"]) == DEFAULTS


async def test_an_empty_change_is_refused(server: Server) -> None:
    _, admin = await account(server)
    answer = await admin.patch("/api/account/policy", {})
    assert answer.status == 400 and "at least one" in answer.body["message"]


async def test_one_accounts_policy_is_not_anothers(server: Server) -> None:
    acme_id, acme = await account(server)
    _, globex = await account(server, {"chat": False, "pin_joining": False}, name="Globex")
    changed = DEFAULTS | {"chat": False, "pin_joining": False}
    assert policies((await globex.get("/api/account")).body["tenant"]) == changed
    assert policies((await acme.get("/api/account")).body["tenant"]) == DEFAULTS
    acme_actions = {e["action"] for e in (await acme.get("/api/audit")).body["events"]}
    assert "account.policy_changed" not in acme_actions
    # Acme's sessions still have chat and a PIN.
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, acme_id, ann) as session:
        session.customer_ws.send("chat", text="hello", ref="c1")
        assert (await session.agent_ws.next("chat"))["text"] == "hello"
    assert (await ann.post("/api/sessions")).body["pin"] is not None


# -- enforced on sessions --------------------------------------------------------------


async def test_chat_off_is_refused_on_both_sides_and_every_page_is_told(server: Server) -> None:
    tenant_id, _ = await account(server, {"chat": False})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann, consent=False) as session:
        state = await session.customer_ws.next("state")
        off = {"chat": False, "snapshots": True, "two_way_audio": True, "rating": False}
        assert state["policy"] == off
        for ws in (session.customer_ws, session.agent_ws):
            ws.send("chat", text="can you see this?", ref="c1")
            refused = await ws.next("error")
            assert refused["code"] == "disabled_by_policy" and "Chat" in refused["message"]
        viewed = await ann.get(f"/api/sessions/{session.session_id}")
        assert viewed.body["session"]["policy"] == off
        chat = await ann.get(f"/api/sessions/{session.session_id}/chat")
        assert chat.body["messages"] == []
    # The join answer tells the customer's page before it opens its socket.
    created = (await ann.post("/api/sessions")).body
    joined = await server.client().post("/api/join", {"token": token_of(created)})
    assert joined.body["policy"] == off


async def test_snapshots_off_are_refused_before_anything_is_stored(server: Server) -> None:
    tenant_id, admin = await account(server, {"snapshots": False})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as session:
        path = f"/api/sessions/{session.session_id}/snapshots"
        refused = await ann.post(path, PNG)
        assert refused.status == 403 and refused.body["error"] == "disabled_by_policy"
        assert "Snapshots" in refused.body["message"]
        assert (await admin.post(path, PNG)).status == 403  # administrators too
        assert (await ann.get(path)).body["snapshots"] == []
    # Turned on again, a new session takes snapshots.
    assert (await admin.patch("/api/account/policy", {"snapshots": True})).status == 200
    async with live(server, tenant_id, ann) as session:
        path = f"/api/sessions/{session.session_id}/snapshots"
        assert (await ann.post(path, PNG)).status == 201


async def test_a_session_keeps_the_policy_it_started_with(server: Server) -> None:
    tenant_id, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann) as session:
        answer = await admin.patch("/api/account/policy", {"chat": False, "snapshots": False})
        assert answer.status == 200
        session.customer_ws.send("chat", text="still here", ref="c1")
        assert (await session.agent_ws.next("chat"))["text"] == "still here"
        path = f"/api/sessions/{session.session_id}/snapshots"
        assert (await ann.post(path, PNG)).status == 201
    async with live(server, tenant_id, ann) as later:
        later.customer_ws.send("chat", text="and now?", ref="c2")
        assert (await later.customer_ws.next("error"))["code"] == "disabled_by_policy"


@pytest.mark.parametrize("relay", RELAYS)
@pytest.mark.parametrize("two_way", [True, False])
async def test_two_way_audio_off_relays_no_agent_voice_to_the_customer(
    server: Server, two_way: bool
) -> None:
    tenant_id, _ = await account(server, {"two_way_audio": two_way})
    ann = await signed_in(server, "ann@acme.test")
    probe = Probe()
    agent_pc, customer_pc = agent_client("agent", probe), customer_client(probe)
    try:
        async with live(server, tenant_id, ann) as session:
            state = await session.customer_ws.next("state")
            assert state["policy"]["two_way_audio"] is two_way
            session.agent_ws.send("offer", sdp=await agent_pc.offer())
            await agent_pc.accept_answer((await session.agent_ws.next("answer"))["sdp"])
            session.customer_ws.send("offer", sdp=await customer_pc.offer())
            await customer_pc.accept_answer((await session.customer_ws.next("answer"))["sdp"])
            await session.agent_ws.next("state", status="live", within=15)
            # The customer is seen and heard either way.
            await probe.until(lambda: len(agent_pc.frames["video"]) >= 3, "agent sees", 15)
            await probe.until(lambda: len(agent_pc.frames["audio"]) >= 25, "agent hears", 15)
            if two_way:
                await probe.until(lambda: len(customer_pc.frames["audio"]) >= 3,
                                  "customer hears the agent", 15)  # fmt: skip
            else:
                # By the time the agent heard half a second of the customer, and sent as
                # much of their own voice, none of it reached the customer.
                await probe.until(lambda: len(agent_pc.sent_rtp) >= 25, "agent speaks", 15)
                assert customer_pc.received_rtp == []
                assert customer_pc.frames["audio"] == []
    finally:
        await agent_pc.close()
        await customer_pc.close()


async def test_join_links_last_as_long_as_the_policy_says(server: Server) -> None:
    tenant_id, _ = await account(server, {"join_link_minutes": 5})
    ann = await signed_in(server, "ann@acme.test")
    created = (await ann.post("/api/sessions")).body
    session = created["session"]
    assert session["join_expires_at"] == session["created_at"] + 300
    server.clock.advance(200)
    renewed = (await ann.post(f"/api/sessions/{session['id']}/link")).body
    assert renewed["session"]["join_expires_at"] == server.clock.now() + 300
    await pass_time(server, session["id"], 299)
    stored = await server.ctx.store.scoped(tenant_id).get_support_session(session["id"])
    assert stored is not None and stored.status == "waiting"
    await pass_time(server, session["id"], 1)
    expired = await server.client().post("/api/join", {"token": token_of(renewed)})
    assert expired.status == 409 and expired.body["outcome"] == "expired"


async def test_pin_joining_off_gives_no_pin_and_refuses_pins_given_before(server: Server) -> None:
    _, admin = await account(server)
    ann = await signed_in(server, "ann@acme.test")
    before = (await ann.post("/api/sessions")).body
    assert before["pin"] is not None
    assert (await admin.patch("/api/account/policy", {"pin_joining": False})).status == 200

    refused = await server.client().post("/api/join", {"pin": before["pin"]})
    assert refused.status == 403 and refused.body["error"] == "pin_joining_off"
    assert "link" in refused.body["message"]
    created = (await ann.post("/api/sessions")).body
    assert created["pin"] is None
    renewed = (await ann.post(f"/api/sessions/{before['session']['id']}/link")).body
    assert renewed["pin"] is None
    by_link = await server.client().post("/api/join", {"token": token_of(created)})
    assert by_link.status == 200

    # On again: new sessions get a PIN, and it works.
    assert (await admin.patch("/api/account/policy", {"pin_joining": True})).status == 200
    unaffected = (await ann.post("/api/sessions")).body
    assert (await server.client().post("/api/join", {"pin": unaffected["pin"]})).status == 200
