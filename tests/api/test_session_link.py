"""Send a new link: POST /api/sessions/{id}/link gives a session still waiting for its
customer a new join link and PIN; the old ones stop working at once and the join window
starts again. Who may ask, what is refused, what the customer and the agents see (on
both store engines)."""

from __future__ import annotations

from typing import Any

import pytest
import tornado.httpclient

from livelens.errors import NotFound
from livelens.services import support
from livelens.services.rooms import Rooms
from livelens.store.records import new_id
from tests.api.harness import Client, Server
from tests.api.signalling import Signal, pass_time


async def signed_in(server: Server, email: str) -> Client:
    client = server.client()
    assert (await client.login(email)).status == 200
    return client


async def acme(server: Server) -> tuple[str, Client]:
    """Acme (boss@acme.test administrates it) and ann@acme.test, an agent, signed in."""
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    return tenant_id, await signed_in(server, "ann@acme.test")


def token_of(invitation: dict[str, Any]) -> str:
    return str(invitation["join_url"]).split("#", 1)[1]


def renew(agent: Client, session_id: str) -> Any:
    return agent.post(f"/api/sessions/{session_id}/link")


async def stored(server: Server, tenant_id: str, session_id: str) -> Any:
    return await server.ctx.store.scoped(tenant_id).get_support_session(session_id)


def rooms_of(server: Server) -> Rooms:
    rooms: Rooms = server.http.request_callback.settings["livelens_rooms"]  # type: ignore[attr-defined]
    return rooms


async def test_a_new_link_and_pin_replace_the_old_ones_at_once(server: Server) -> None:
    _, ann = await acme(server)
    created = (await ann.post("/api/sessions", {"customer_name": "Jo", "reference": "T-9"})).body
    session_id = created["session"]["id"]
    server.clock.advance(60)

    answer = await renew(ann, session_id)
    assert answer.status == 200, answer.body
    renewed = answer.body
    # Shaped as the answer that created the session, with a new token and PIN.
    assert set(renewed) == set(created)
    assert str(renewed["join_url"]).startswith(server.base_url + "/join#")
    assert token_of(renewed) != token_of(created)
    assert renewed["pin"] != created["pin"] and len(renewed["pin"]) == 6
    assert str(renewed["qr_svg"]).startswith("<svg")
    session = renewed["session"]
    assert (session["id"], session["status"]) == (session_id, "waiting")
    assert (session["customer_name"], session["reference"]) == ("Jo", "T-9")

    # The old link and the old PIN name nothing any more, like any wrong ones.
    old_link = await server.client().post("/api/join", {"token": token_of(created)})
    assert old_link.status == 404 and "link is not valid" in old_link.body["message"]
    old_pin = await server.client().post("/api/join", {"pin": created["pin"]})
    assert old_pin.status == 404 and "PIN is not valid" in old_pin.body["message"]
    # The new PIN and the new link let the customer in (one phone: the device is bound).
    phone = server.client()
    by_pin = await phone.post("/api/join", {"pin": renewed["pin"]})
    assert by_pin.status == 200 and by_pin.body["session"]["id"] == session_id
    assert (await phone.post("/api/join", {"token": token_of(renewed)})).status == 200
    assert (await phone.post("/api/join", {"token": token_of(created)})).status == 404


async def test_the_new_link_and_pin_are_stored_only_as_hashes(server: Server) -> None:
    _, ann = await acme(server)
    created = (await ann.post("/api/sessions")).body
    renewed = (await renew(ann, created["session"]["id"])).body
    raw = server.stored_bytes()
    assert token_of(renewed).encode() not in raw
    assert str(renewed["pin"]).encode() not in raw


async def test_the_join_window_starts_again(server: Server) -> None:
    tenant_id, ann = await acme(server)
    ttl = server.ctx.settings.join_ttl
    created = (await ann.post("/api/sessions")).body
    session_id = created["session"]["id"]
    # The agent's console is open on the session: its room runs, with its timer.
    ws = await Signal.open(ann, f"/ws/agent/{session_id}")
    await ws.next("state", status="waiting")

    await pass_time(server, session_id, ttl - 10)  # the old link has 10 s left
    renewed = (await renew(ann, session_id)).body
    assert renewed["session"]["join_expires_at"] == server.clock.now() + ttl
    # Agents in the session's signalling see the new deadline.
    state = await ws.next("state", join_expires_at=server.clock.now() + ttl)
    assert state["status"] == "waiting"

    await pass_time(server, session_id, 20)  # past the old deadline: nothing ends
    assert (await stored(server, tenant_id, session_id)).status == "waiting"
    await pass_time(server, session_id, ttl - 20)  # the new one: the session expires
    ended = await ws.next("ended")
    assert (ended["outcome"], ended["by"]) == ("expired", "system")
    late = await server.client().post("/api/join", {"token": token_of(renewed)})
    assert late.status == 409 and "expired" in late.body["message"]


async def test_a_renewed_link_works_until_its_own_deadline(server: Server) -> None:
    _, ann = await acme(server)
    ttl = server.ctx.settings.join_ttl
    created = (await ann.post("/api/sessions")).body
    server.clock.advance(ttl - 1)
    renewed = (await renew(ann, created["session"]["id"])).body
    server.clock.advance(ttl - 1)  # long after the first link's deadline
    joined = await server.client().post("/api/join", {"token": token_of(renewed)})
    assert joined.status == 200 and joined.body["session"]["status"] == "joined"


async def test_only_a_session_still_waiting_gets_a_new_link(server: Server) -> None:
    tenant_id, ann = await acme(server)
    ttl = server.ctx.settings.join_ttl

    # The customer opened the link (the page joins at once) and keeps the session.
    created = (await ann.post("/api/sessions")).body
    session_id = created["session"]["id"]
    phone = server.client()
    assert (await phone.post("/api/join", {"token": token_of(created)})).status == 200
    refused = await renew(ann, session_id)
    assert refused.status == 409 and refused.body["error"] == "not_waiting"
    assert refused.body["session_status"] == "joined"
    assert "already joined" in refused.body["message"]
    again = await phone.post("/api/join", {"token": token_of(created)})
    assert again.status == 200 and again.body["session"]["status"] == "joined"
    assert (await stored(server, tenant_id, session_id)).pin_hash is not None

    # Cancelled by the agent.
    cancelled = (await ann.post("/api/sessions")).body
    ws = await Signal.open(ann, f"/ws/agent/{cancelled['session']['id']}")
    await ws.next("state", status="waiting")
    ws.send("end")
    await ws.next("ended")
    refused = await renew(ann, cancelled["session"]["id"])
    assert refused.status == 409 and refused.body["error"] == "session_ended"
    assert refused.body["outcome"] == "completed"

    # Its link ran out (no room was running: the renewal finds it out).
    expired = (await ann.post("/api/sessions")).body
    server.clock.advance(ttl)
    refused = await renew(ann, expired["session"]["id"])
    assert refused.status == 409 and refused.body["error"] == "session_ended"
    assert refused.body["outcome"] == "expired"
    assert "expired" in refused.body["message"] and "new session" in refused.body["message"]
    # Nothing was handed out: the stored link is the one the session was created with.
    for invitation in (cancelled, expired):
        session = await stored(server, tenant_id, invitation["session"]["id"])
        assert session.join_token_hash == support.token_hash(server.ctx, token_of(invitation))


async def test_the_owner_and_the_administrator_may_renew_an_expert_may_not(
    server: Server,
) -> None:
    tenant_id, ann = await acme(server)
    await server.user(tenant_id, "bob@acme.test")
    created = (await ann.post("/api/sessions")).body["session"]
    session_id = created["id"]
    invited = await ann.post(f"/api/sessions/{session_id}/experts", {"email": "bob@acme.test"})
    assert invited.status == 201
    bob = await signed_in(server, "bob@acme.test")
    assert (await bob.get(f"/api/sessions/{session_id}")).status == 200  # he sees it
    refused = await renew(bob, session_id)
    assert refused.status == 403 and refused.body["error"] == "forbidden"
    assert "agent who started this session" in refused.body["message"]

    boss = await signed_in(server, "boss@acme.test")
    by_admin = await renew(boss, session_id)
    assert by_admin.status == 200
    assert by_admin.body["session"]["agent_id"] == created["agent_id"]  # still Ann's
    assert (await renew(ann, session_id)).status == 200
    # Each renewal is in the audit log under who asked for it; no token or PIN there.
    events = (await boss.get("/api/audit")).body["events"]
    renewals = [e for e in events if e["action"] == "session.link_renewed"]
    assert [(e["actor"], e["target"]) for e in renewals] == [
        ("ann@acme.test", session_id), ("boss@acme.test", session_id)]  # fmt: skip
    assert set(renewals[0]["details"]) == {"join_expires_at"}
    text = str(events)
    assert token_of(by_admin.body) not in text and str(by_admin.body["pin"]) not in text


async def test_a_session_the_caller_cannot_see_answers_as_one_that_does_not_exist(
    server: Server,
) -> None:
    tenant_id, ann = await acme(server)
    await server.user(tenant_id, "carl@acme.test")
    created = (await ann.post("/api/sessions")).body
    session_id = created["session"]["id"]
    await server.tenant("Globex", "boss@globex.test")
    carl = await signed_in(server, "carl@acme.test")  # an agent of the account, not invited
    globex = await signed_in(server, "boss@globex.test")  # another account's administrator

    nowhere = await renew(ann, new_id())
    assert nowhere.status == 404
    for stranger in (carl, globex):
        answer = await renew(stranger, session_id)
        assert (answer.status, answer.body) == (nowhere.status, nowhere.body)
    # Nothing changed: the first link still lets the customer in.
    joined = await server.client().post("/api/join", {"token": token_of(created)})
    assert joined.status == 200


async def test_renewing_needs_a_signed_in_agent_and_the_xsrf_header(server: Server) -> None:
    _, ann = await acme(server)
    session_id = (await ann.post("/api/sessions")).body["session"]["id"]
    assert (await renew(server.client(), session_id)).status == 401
    forged = Client(server.base_url, dict(ann.cookies), send_xsrf=False)
    refused = await renew(forged, session_id)
    assert refused.status == 403 and refused.body["error"] == "xsrf_failed"


async def test_a_forged_host_gets_no_new_link_and_the_old_one_stays(server: Server) -> None:
    _, ann = await acme(server)
    created = (await ann.post("/api/sessions")).body
    request = tornado.httpclient.HTTPRequest(
        f"{server.base_url}/api/sessions/{created['session']['id']}/link",
        method="POST",
        headers={
            "Host": "evil.example",
            "Content-Type": "application/json",
            "Cookie": "; ".join(f"{k}={v}" for k, v in ann.cookies.items()),
            "X-XSRFToken": ann.cookies["_xsrf"],
        },
        body=b"{}",
    )
    answer = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
    assert answer.code == 400 and b"unknown_host" in answer.body
    assert (await server.client().post("/api/join", {"token": token_of(created)})).status == 200


async def test_a_customer_who_found_the_session_by_the_old_link_is_refused_after_renewal(
    server: Server,
) -> None:
    """The customer's page sent the old link just before the agent sent a new one: the
    session was found by it, but the room, which binds the device, had the new link
    first. The customer is refused as for any stale link, and nothing is bound."""
    tenant_id, ann = await acme(server)
    created = (await ann.post("/api/sessions")).body
    session_id = created["session"]["id"]
    ip = "203.0.113.9"
    by_link = await support.locate(server.ctx, token=token_of(created), pin=None, ip=ip)
    by_pin = await support.locate(server.ctx, token=None, pin=created["pin"], ip=ip)
    assert (by_link.session_id, by_pin.session_id) == (session_id, session_id)

    assert (await renew(ann, session_id)).status == 200
    for found, words in ((by_link, "link is not valid"), (by_pin, "PIN is not valid")):
        with pytest.raises(NotFound, match=words):
            await support.customer_join(server.ctx, rooms_of(server), found, "device", ip)
    session = await stored(server, tenant_id, session_id)
    assert (session.status, session.customer_device_hash) == ("waiting", None)
    kinds = [e.kind for e in await server.ctx.store.list_instance_security_events(10)]
    assert kinds[:2] == ["join.bad_pin", "join.bad_token"]
