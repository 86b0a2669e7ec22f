"""Support sessions over HTTP: creating, joining by link or PIN, the rules around them."""

import json
from dataclasses import replace
from typing import Any

import jsonschema_rs
import pytest
import tornado.httpclient

from livelens.errors import LiveLensError, NotFound
from livelens.services import support
from livelens.signalling.join import DEFAULT_JOIN_TTL
from livelens.store.encryption import DecryptionError
from tests.api.harness import Client, Server
from tests.api.signalling import Signal


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
    assert joined.body["agent"] == "Ann"  # the display name, never the e-mail address
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
    agent, created = await agent_session(server)
    # Joined by link below and never opened: after the wait, that one has been dropped.
    later = (await agent.post("/api/sessions")).body
    guesser = server.client()
    statuses = [(await guesser.post("/api/join", {"pin": f"{i:06d}"})).status for i in range(12)]
    assert 429 in statuses
    assert statuses.index(429) <= 10
    refused = await guesser.post("/api/join", {"pin": "000001"})
    assert refused.status == 429 and refused.body["error"] == "rate_limited"
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 120
    assert f"Try again in {wait} seconds" in refused.body["message"]
    # PIN guessing never holds up the link, even from the same address at that moment.
    assert (await guesser.post("/api/join", {"token": token_of(created)})).status == 200
    server.clock.advance(wait)
    assert (await guesser.post("/api/join", {"pin": str(later["pin"])})).status == 200


async def test_pin_guessers_do_not_keep_customers_out(server: Server) -> None:
    agent, created = await agent_session(server)
    sessions = [created] + [(await agent.post("/api/sessions")).body for _ in range(19)]
    pins = [str(s["pin"]) for s in sessions]
    wrong = next(p for p in (f"{i:06d}" for i in range(100)) if p not in pins)
    ctx, refused = server.ctx, 0
    for network in range(50):  # guessers on 50 networks, each until refused
        for _ in range(10):
            try:
                await support.locate(ctx, token=None, pin=wrong, ip=f"198.51.100.{network}")
            except NotFound:
                pass
            except LiveLensError as exc:
                if exc.status != 429:
                    raise
                refused += 1
    assert refused >= 50 * 5
    # Twenty customers, each typing the right PIN on their own phone.
    for n, session in enumerate(sessions):
        found = await support.locate(ctx, token=None, pin=str(session["pin"]), ip=f"203.0.113.{n}")
        assert found[1] == session["session"]["id"]
    # The refusals are logged once per burst and network, not once per request.
    events = await ctx.store.list_instance_security_events(1000)
    assert sum(e.kind == "ratelimit.pin" for e in events) == 50


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


# -- the join link's host --------------------------------------------------------------


async def create_with_host(agent: Client, host: str) -> tuple[int, dict[str, Any]]:
    """POST /api/sessions as the agent's browser would, with this Host header."""
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "Cookie": "; ".join(f"{k}={v}" for k, v in agent.cookies.items()),
        "X-XSRFToken": agent.cookies["_xsrf"],
    }
    request = tornado.httpclient.HTTPRequest(
        agent.base_url + "/api/sessions", method="POST", headers=headers, body=b"{}"
    )
    answer = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
    is_json = "json" in answer.headers.get("Content-Type", "")
    return answer.code, json.loads(answer.body) if is_json else {}


async def test_a_forged_host_header_gets_no_join_link(server: Server) -> None:
    agent, _ = await agent_session(server)
    status, body = await create_with_host(agent, "evil.example")
    assert status == 400 and body["error"] == "unknown_host"
    assert "--public-url" in body["message"]
    for host in ("evil.example:" + server.base_url.rsplit(":", 1)[1], "127.0.0.2", "[::1", "a b"):
        assert (await create_with_host(agent, host))[0] == 400, host
    assert len((await agent.get("/api/sessions")).body["sessions"]) == 1  # none made


async def test_join_links_use_the_servers_own_names(server: Server) -> None:
    agent, _ = await agent_session(server)
    port = server.base_url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        status, body = await create_with_host(agent, host)
        assert status == 201, host
        assert body["join_url"].startswith(f"http://{host.lower()}/join#")

    server.ctx.settings = replace(server.ctx.settings, allowed_hosts=("support.lan",))
    status, body = await create_with_host(agent, f"support.lan:{port}")
    assert status == 201 and body["join_url"].startswith(f"http://support.lan:{port}/join#")

    # A public URL is what links carry, whatever the request says.
    server.ctx.settings = replace(server.ctx.settings, public_url="https://help.acme.test/")
    status, body = await create_with_host(agent, "evil.example")
    assert status == 201 and body["join_url"].startswith("https://help.acme.test/join#")


# -- the security log ------------------------------------------------------------------


async def test_join_refusals_that_name_a_session_reach_its_accounts_security_log(
    server: Server,
) -> None:
    agent, created = await agent_session(server)
    phone = server.client()
    session_id = (await phone.post("/api/join", {"token": token_of(created)})).body["session"]["id"]
    assert (await server.client().post("/api/join", {"token": token_of(created)})).status == 403
    # The join cookie without the device cookie it was given with.
    cookies = {k: v for k, v in phone.cookies.items() if k != "livelens_device"}
    assert (await Client(server.base_url, cookies).get("/api/join/frame")).status == 401
    # The session ends; its link is tried again.
    agent_ws = await Signal.open(agent, f"/ws/agent/{session_id}")
    agent_ws.send("end")
    await agent_ws.next("ended")
    ended = await phone.post("/api/join", {"token": token_of(created)})
    assert ended.status == 409 and ended.body["error"] == "session_ended"

    admin = server.client()
    await admin.login("boss@acme.test")
    events = (await admin.get("/api/security-events")).body["events"]
    kinds = {e["kind"]: e["details"] for e in events}
    for kind in ("join.other_device", "join.bad_cookie", "join.ended"):
        assert kinds[kind]["session"] == session_id, kind

    # What names no session belongs to no account: the instance's operator sees it.
    assert (await server.client().post("/api/join", {"token": "x" * 43})).status == 404
    wrong = "000000" if created["pin"] != "000000" else "000001"
    assert (await server.client().post("/api/join", {"pin": wrong})).status == 404
    instance = await server.ctx.store.list_instance_security_events(10)
    assert [e.kind for e in instance] == ["join.bad_pin", "join.bad_token"]
    assert all(e.tenant_id is None for e in instance)


# -- the customer's name and the case reference ------------------------------------------


async def test_a_session_names_its_customer_and_case_wherever_it_is_shown(server: Server) -> None:
    agent, _ = await agent_session(server)  # one without either
    server.clock.advance(1)
    created = await agent.post(
        "/api/sessions", {"customer_name": "  Zoë van der Berg ", "reference": "\u3000T-1234 "}
    )
    assert created.status == 201, created.body
    session = created.body["session"]
    assert (session["customer_name"], session["reference"]) == ("Zoë van der Berg", "T-1234")
    session_id = session["id"]
    single = (await agent.get(f"/api/sessions/{session_id}")).body["session"]
    assert (single["customer_name"], single["reference"]) == ("Zoë van der Berg", "T-1234")
    listed = (await agent.get("/api/sessions")).body["sessions"]
    assert [(s["customer_name"], s["reference"]) for s in listed] == [
        ("Zoë van der Berg", "T-1234"),
        (None, None),
    ]
    admin = server.client()
    await admin.login("boss@acme.test")
    everyone = (await admin.get("/api/sessions")).body["sessions"]
    assert everyone[0]["customer_name"] == "Zoë van der Berg"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        (" " + "x" * 100 + "\u00a0", "x" * 100),  # 100 characters once trimmed
        ("Mehr\u200cdad 🙂", "Mehr\u200cdad 🙂"),  # a zero-width non-joiner is part of names
    ],
)
async def test_names_and_references_are_trimmed(server: Server, given: Any, kept: Any) -> None:
    agent, _ = await agent_session(server)
    answer = await agent.post("/api/sessions", {"customer_name": given, "reference": given})
    assert answer.status == 201, answer.body
    session = answer.body["session"]
    assert (session["customer_name"], session["reference"]) == (kept, kept)


@pytest.mark.parametrize("field", ["customer_name", "reference"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("x" * 101, "at most 100 characters"),
        (" " + "x" * 101 + " ", "at most 100 characters"),
        ("Jo\nSmith", "control characters"),
        ("Jo Smith\t", "control characters"),
        ("Jo\x00", "control characters"),
        ("Jo\u2028Smith", "control characters"),  # a line separator
        ("\u202eevil", "control characters"),  # right-to-left override
        ("x" * 1025, "too long"),
        (42, "must be a string"),
        (["Jo"], "must be a string"),
    ],
)
async def test_bad_names_and_references_are_refused_with_the_reason(
    server: Server, field: str, value: object, reason: str
) -> None:
    agent, _ = await agent_session(server)
    answer = await agent.post("/api/sessions", {field: value})
    assert answer.status == 400 and answer.body["error"] == "invalid_input"
    assert reason in answer.body["message"]
    words = {"customer_name": ["customer name", "customer_name"], "reference": ["reference"]}
    assert any(word in answer.body["message"] for word in words[field])
    assert len((await agent.get("/api/sessions")).body["sessions"]) == 1  # none made


async def test_a_session_can_still_be_created_without_a_body(server: Server) -> None:
    agent, _ = await agent_session(server)
    request = tornado.httpclient.HTTPRequest(
        agent.base_url + "/api/sessions",
        method="POST",
        headers={
            "Cookie": "; ".join(f"{k}={v}" for k, v in agent.cookies.items()),
            "X-XSRFToken": agent.cookies["_xsrf"],
        },
        body=b"",
    )
    answer = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
    assert answer.code == 201
    assert json.loads(answer.body)["session"]["customer_name"] is None
    assert (await agent.post("/api/sessions", b"[]")).status == 400  # a body must be an object


async def test_the_customer_name_is_sealed_at_rest(server: Server) -> None:
    agent, first = await agent_session(server)
    name = "Quirinus Zwanenburg-Oosterhout"
    created = await agent.post("/api/sessions", {"customer_name": name, "reference": "T-77"})
    assert name.encode() not in server.stored_bytes()
    session_id = created.body["session"]["id"]
    tenant_id = (await agent.get("/api/me")).body["tenant"]["id"]
    scope = server.ctx.store.scoped(tenant_id)
    record = await scope.get_support_session(session_id)
    assert record is not None and record.customer_name is not None
    assert record.reference == "T-77"
    assert await support.customer_name(server.ctx, record) == name
    # Sealed for this session: the same ciphertext on another session does not open.
    other = await scope.get_support_session(first["session"]["id"])  # type: ignore[index]
    assert other is not None
    with pytest.raises(DecryptionError):
        await support.customer_name(server.ctx, replace(other, customer_name=record.customer_name))


async def test_the_published_rule_for_names_and_references_is_the_servers(
    server: Server,
) -> None:
    agent, _ = await agent_session(server)
    body = (await agent.get("/api/openapi.json")).body["paths"]["/api/sessions"]["post"]
    assert body["requestBody"]["required"] is False
    fields = body["requestBody"]["content"]["application/json"]["schema"]["properties"]
    samples = [None, "", "Jo", "  Jo  ", "\u3000Jo\u00a0", "x" * 100, "x" * 101,
               "\u2003" + "x" * 100 + " ", " " + "x" * 101, "Jo\n", "\nJo", "J\to", "Jo\x7f",
               "Jo\x85", "Jo\u2029", "Jo\u2066", "Jo\u200c", "Jo\u200f", "🙂" * 100, "🙂" * 101,
               "x" * 1025]  # fmt: skip
    for field in ("customer_name", "reference"):
        published = jsonschema_rs.validator_for(fields[field])
        for value in samples:
            answer = await agent.post("/api/sessions", {field: value})
            assert answer.status in (201, 400), answer.body
            assert (answer.status == 201) == published.is_valid(value), (field, value)
