"""Support sessions over HTTP: creating, joining by link or PIN, the rules around them."""

import pytest

from livelens.signalling.join import DEFAULT_JOIN_TTL
from tests.api.harness import Client, Server


async def agent_session(server: Server) -> tuple[Client, dict[str, object]]:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    agent = server.client()
    await agent.login("ann@acme.test")
    created = await agent.post("/api/sessions")
    assert created.status == 201
    return agent, created.body


def token_of(created: dict[str, object]) -> str:
    url = str(created["join_url"])
    return url.split("#", 1)[1]


async def test_agent_gets_link_pin_and_qr(server: Server) -> None:
    _, created = await agent_session(server)
    assert str(created["join_url"]).startswith(server.base_url + "/join#")
    assert len(token_of(created)) >= 43
    pin = str(created["pin"])
    assert len(pin) == 6 and pin.isdigit()
    assert str(created["qr_svg"]).startswith("<svg")
    session = created["session"]
    assert isinstance(session, dict) and session["status"] == "waiting"


async def test_token_and_pin_are_stored_only_as_hashes(server: Server) -> None:
    _, created = await agent_session(server)
    raw = server.stored_bytes()
    assert token_of(created).encode() not in raw
    assert str(created["pin"]).encode() not in raw


async def test_customer_joins_by_link_and_agent_sees_it(server: Server) -> None:
    agent, created = await agent_session(server)
    customer = server.client()
    joined = await customer.post("/api/join", {"token": token_of(created)})
    assert joined.status == 200
    assert joined.body["company"] == "Acme"
    assert joined.body["agent"] == "ann@acme.test"
    assert joined.body["session"]["status"] == "joined"
    assert "livelens_join" in customer.cookies and "livelens_device" in customer.cookies
    session_id = joined.body["session"]["id"]
    view = await agent.get(f"/api/sessions/{session_id}")
    assert view.body["session"]["status"] == "joined"


async def test_customer_joins_by_pin(server: Server) -> None:
    _, created = await agent_session(server)
    joined = await server.client().post("/api/join", {"pin": str(created["pin"])})
    assert joined.status == 200


async def test_link_works_again_on_the_same_device_only(server: Server) -> None:
    _, created = await agent_session(server)
    phone = server.client()
    assert (await phone.post("/api/join", {"token": token_of(created)})).status == 200
    assert (await phone.post("/api/join", {"token": token_of(created)})).status == 200
    other = await server.client().post("/api/join", {"token": token_of(created)})
    assert other.status == 403 and other.body["error"] == "link_used"
    by_pin = await server.client().post("/api/join", {"pin": str(created["pin"])})
    assert by_pin.status == 403


async def test_link_expires_if_unused(server: Server) -> None:
    _, created = await agent_session(server)
    server.clock.advance(DEFAULT_JOIN_TTL + 1)
    answer = await server.client().post("/api/join", {"token": token_of(created)})
    assert answer.status == 409 and answer.body["error"] == "session_ended"
    assert "expired" in answer.body["message"]


@pytest.mark.parametrize("token", ["x" * 43, "short", "<script>alert(1)</script>"])
async def test_bad_token_is_a_clear_404_and_a_security_event(server: Server, token: str) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    answer = await server.client().post("/api/join", {"token": token})
    assert answer.status == 404
    assert "not valid" in answer.body["message"]
    assert tenant_id  # security events without an account are instance-level


async def test_pin_guessing_is_rate_limited_per_ip(server: Server) -> None:
    await agent_session(server)
    guesser = server.client()
    statuses = [(await guesser.post("/api/join", {"pin": f"{i:06d}"})).status for i in range(12)]
    assert 429 in statuses
    assert statuses.index(429) <= 10


async def test_malformed_pin_is_a_clear_400(server: Server) -> None:
    answer = await server.client().post("/api/join", {"pin": "12ab"})
    assert answer.status == 400
    both = await server.client().post("/api/join", {"pin": "123456", "token": "x" * 43})
    assert both.status == 400


async def test_sessions_are_private_to_agent_and_account(server: Server) -> None:
    agent, created = await agent_session(server)
    session_id = created["session"]["id"]  # type: ignore[index]
    tenant_id = (await agent.get("/api/me")).body["tenant"]["id"]
    await server.user(tenant_id, "bob@acme.test")
    bob = server.client()
    await bob.login("bob@acme.test")
    assert (await bob.get(f"/api/sessions/{session_id}")).status == 404
    assert (await bob.get("/api/sessions")).body["sessions"] == []
    admin = server.client()
    await admin.login("boss@acme.test")
    assert (await admin.get(f"/api/sessions/{session_id}")).status == 200
    await server.tenant("Globex", "boss@globex.test")
    globex = server.client()
    await globex.login("boss@globex.test")
    assert (await globex.get(f"/api/sessions/{session_id}")).status == 404
    assert (await agent.get("/api/sessions")).body["sessions"][0]["id"] == session_id
