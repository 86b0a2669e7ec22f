"""Whether a session is recorded, through the real server: the account's policy and the
agent's choice when the session starts, the customer's answer on their consent, and
what both sides are told when a recording cannot run (on both store engines)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.governance import account, live, signed_in, token_of
from tests.api.harness import Server
from tests.api.signalling import Signal
from tests.media.clients import Probe, agent_client, customer_client

WITH_RECORDING = ("camera", "microphone", "recording")


@pytest.mark.parametrize(
    ("policy", "record", "recorded"),
    [
        ("off", None, "off"),
        ("off", False, "off"),
        ("agent", True, "asked"),
        ("agent", False, "off"),
        ("agent", None, "off"),
        ("always", None, "always"),
        ("always", True, "always"),
    ],
)
async def test_the_session_takes_the_policy_and_the_agents_choice(
    server: Server, policy: str, record: bool | None, recorded: str
) -> None:
    _, admin = await account(server, {"recording": policy})
    ann = await signed_in(server, "ann@acme.test")
    # The console learns the policy, for its "Record this session" switch.
    assert (await ann.get("/api/me")).body["tenant"]["recording"] == policy
    body = {} if record is None else {"record": record}
    created = await ann.post("/api/sessions", body)
    assert created.status == 201, created.body
    assert created.body["session"]["recording"] == recorded
    session_id = created.body["session"]["id"]
    assert (await ann.get(f"/api/sessions/{session_id}")).body["session"]["recording"] == recorded
    # The customer's page knows before its consent screen.
    joined = await server.client().post("/api/join", {"token": token_of(created.body)})
    assert joined.body["recording"] == recorded
    audit = (await admin.get("/api/audit")).body["events"]
    created_events = [e for e in audit if e["action"] == "session.created"]
    assert created_events[0]["details"] == {"recording": recorded}


@pytest.mark.parametrize(
    ("policy", "record", "reason"),
    [("off", True, "turned off by your account's policy"),
     ("always", False, "records every session")],
)  # fmt: skip
async def test_a_choice_the_policy_does_not_allow_is_refused_and_nothing_starts(
    server: Server, policy: str, record: bool, reason: str
) -> None:
    _, admin = await account(server, {"recording": policy})
    refused = await admin.post("/api/sessions", {"record": record})
    assert refused.status == 400
    assert refused.body["error"] == "recording_refused" and reason in refused.body["message"]
    bad = await admin.post("/api/sessions", {"record": "yes"})
    assert bad.status == 400 and "'record' must be true or false" in bad.body["message"]
    assert (await admin.get("/api/sessions")).body["sessions"] == []


async def test_the_customer_may_refuse_an_agents_recording_and_still_get_help(
    server: Server,
) -> None:
    tenant_id, admin = await account(server, {"recording": "agent"})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann, start={"record": True}) as session:
        declined = {"mode": "asked", "agreed": False, "on": False, "stopped": None}
        assert consented_state(session.agent_ws)["recording"] == declined
        state = await session.customer_ws.next("state", status="consented")
        assert state["recording"] == declined
        session.customer_ws.send("chat", text="no recording, thanks", ref="c1")
        assert (await session.agent_ws.next("chat"))["text"] == "no recording, thanks"
        viewed = (await ann.get(f"/api/sessions/{session.session_id}")).body["session"]
        assert viewed["consent_scopes"] == ["camera", "microphone"]
    audit = (await admin.get("/api/audit")).body["events"]
    refusals = [e for e in audit if e["action"] == "session.recording_declined"]
    assert [(e["actor"], e["target"]) for e in refusals] == [("customer", session.session_id)]


async def test_the_customer_agrees_and_both_sides_are_told(server: Server) -> None:
    tenant_id, _ = await account(server, {"recording": "agent"})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann, start={"record": True},
                    scopes=WITH_RECORDING) as session:  # fmt: skip
        agreed = {"mode": "asked", "agreed": True, "on": False, "stopped": None}
        assert consented_state(session.agent_ws)["recording"] == agreed
        state = await session.customer_ws.next("state", status="consented")
        assert state["recording"] == agreed
        viewed = (await ann.get(f"/api/sessions/{session.session_id}")).body["session"]
        assert viewed["consent_scopes"] == list(WITH_RECORDING)


async def test_always_recorded_sessions_need_the_recording_in_the_consent(
    server: Server,
) -> None:
    tenant_id, _ = await account(server, {"recording": "always"})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann, consent=False) as session:
        session.customer_ws.send("consent", accept=True, scopes=["camera", "microphone"])
        refused = await session.customer_ws.next("error")
        assert refused["code"] == "recording_consent_needed"
        session.customer_ws.send("consent", accept=True, scopes=list(WITH_RECORDING))
        await session.agent_ws.next("state", status="consented")


def consented_state(ws: Signal) -> dict[str, Any]:
    """The state message that told the agent of the customer's consent (already read)."""
    return next(m for m in reversed(ws.seen) if m["type"] == "state" and m["status"] == "consented")


def stopped_state(state: dict[str, Any]) -> bool:
    return state["recording"]["stopped"] is not None


async def goes_live(session: Any) -> tuple[Any, Any]:
    """Both sides' media (aiortc clients) until the session is live."""
    probe = Probe()
    agent_pc, customer_pc = agent_client("agent", probe), customer_client(probe)
    session.agent_ws.send("offer", sdp=await agent_pc.offer())
    await agent_pc.accept_answer((await session.agent_ws.next("answer"))["sdp"])
    session.customer_ws.send("offer", sdp=await customer_pc.offer())
    await customer_pc.accept_answer((await session.customer_ws.next("answer"))["sdp"])
    return agent_pc, customer_pc


async def test_a_recording_the_media_path_cannot_make_is_told_and_alerted_and_the_session_goes_on(
    server: Server,
) -> None:
    # The test server's media path is aiortc's (the reference path), which cannot record.
    tenant_id, admin = await account(server, {"recording": "always"})
    ann = await signed_in(server, "ann@acme.test")
    async with live(server, tenant_id, ann, scopes=WITH_RECORDING) as session:
        agent_pc, customer_pc = await goes_live(session)
        try:
            for ws in (session.agent_ws, session.customer_ws):
                state = await ws.next("state", within=15, where=stopped_state)
                assert state["recording"] == {"mode": "always", "agreed": True, "on": False,
                                              "stopped": "media"}  # fmt: skip
            session.customer_ws.send("chat", text="still here", ref="c1")
            assert (await session.agent_ws.next("chat"))["text"] == "still here"
        finally:
            await agent_pc.close()
            await customer_pc.close()
    # The administrators are alerted (the security log, and the alert webhooks).
    events = (await admin.get("/api/security-events")).body["events"]
    stopped = [e for e in events if e["kind"] == "recording.stopped"]
    assert [e["details"]["session"] for e in stopped] == [session.session_id]
    assert stopped[0]["details"]["reason"] == "media"
    audit = (await admin.get("/api/audit")).body["events"]
    assert "session.recording_stopped" in {e["action"] for e in audit}
