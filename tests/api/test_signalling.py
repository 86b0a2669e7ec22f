"""A live session through the real server: WebSockets for signalling, aiortc clients
standing in for the two browsers, our relay in between."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from livelens.media.relay import RELAYS
from livelens.signalling.messages import MAX_MESSAGE_BYTES
from tests.api.harness import Server, start_server, stop_server
from tests.api.signalling import Live, Signal, live_session, roles
from tests.media.clients import Probe, agent_client, binding_request, customer_client


@pytest.fixture
async def live(server: Server) -> AsyncIterator[Live]:
    async with live_session(server) as session:
        yield session


async def stored(live: Live) -> Any:
    return await live.server.ctx.store.scoped(live.tenant_id).get_support_session(live.session_id)


@pytest.mark.parametrize("relay", RELAYS)
async def test_customer_media_reaches_the_agent_only_after_consent(live: Live) -> None:
    probe = Probe()
    agent_pc, customer_pc = agent_client("agent", probe), customer_client(probe)
    try:
        assert (await stored(live)).status == "joined"

        live.agent_ws.send("offer", sdp=await agent_pc.offer())
        await agent_pc.accept_answer((await live.agent_ws.next("answer"))["sdp"])

        early = await customer_pc.offer()
        live.customer_ws.send("offer", sdp=early)
        refused = await live.customer_ws.next("error")
        assert "Consent" in refused["message"]

        live.customer_ws.send("consent", accept=True, scopes=["camera", "microphone"])
        await live.agent_ws.next("state", status="consented")
        session = await stored(live)
        assert session.consent_at is not None
        assert session.consent_scopes == ("camera", "microphone")

        live.customer_ws.send("offer", sdp=early)
        await customer_pc.accept_answer((await live.customer_ws.next("answer"))["sdp"])
        await live.agent_ws.next("state", status="live", within=15)
        await probe.until(lambda: len(agent_pc.frames["video"]) >= 3, "agent decodes video", 15)
        await probe.until(lambda: len(customer_pc.frames["audio"]) >= 3, "customer hears agent", 15)
        # Packet relay, not re-encoding: the customer's payloads arrive unchanged.
        sent = {p.payload for p in customer_pc.sent_rtp}
        forwarded = [p.payload for p in agent_pc.received_rtp if p.payload]
        assert forwarded
        assert all(payload in sent for payload in forwarded)

        live.customer_ws.send("end")
        ended = await live.agent_ws.next("ended")
        assert ended["outcome"] == "completed"
        assert ended["by"] == "customer"
        session = await stored(live)
        assert session.status == "ended"
        assert session.live_at is not None
        events = await live.server.ctx.store.scoped(live.tenant_id).list_audit_events(50)
        actions = {e.action for e in events}
        assert {"session.consent_given", "session.consent_withdrawn", "session.ended"} <= actions
    finally:
        await agent_pc.close()
        await customer_pc.close()


async def test_decline_ends_the_session_and_the_agent_sees_it(live: Live) -> None:
    live.customer_ws.send("consent", accept=False)
    ended = await live.agent_ws.next("ended")
    assert ended["outcome"] == "declined"
    assert (await stored(live)).outcome == "declined"
    assert await live.customer_ws.closed() == 1000


async def test_agent_ends_and_the_customer_sees_it(live: Live) -> None:
    live.agent_ws.send("end")
    ended = await live.customer_ws.next("ended")
    assert ended["by"] == "agent"


async def test_bad_messages_get_errors_and_the_connection_survives(live: Live) -> None:
    ws = live.customer_ws
    for raw, code in [
        ("nonsense", "invalid_json"),
        (json.dumps({"v": 1, "type": "teleport"}), "unknown_type"),
        (json.dumps({"v": 1, "type": "offer", "sdp": 42}), "invalid_field"),
        (json.dumps({"v": 1, "type": "offer", "sdp": "x" * MAX_MESSAGE_BYTES}), "too_large"),
    ]:
        ws.send_raw(raw)
        assert (await ws.next("error"))["code"] == code
    ws.send("ping")
    await ws.next("pong")
    events = await live.server.ctx.store.scoped(live.tenant_id).list_security_events(20)
    assert sum(e.kind == "signalling.malformed" for e in events) == 4


async def test_a_flood_of_bad_messages_is_cut(live: Live) -> None:
    for _ in range(15):
        live.customer_ws.send_raw("nonsense")
    assert await live.customer_ws.closed() == 1008


async def test_customer_cannot_send_agent_only_messages(live: Live) -> None:
    live.agent_ws.send("consent", accept=True)
    assert (await live.agent_ws.next("error"))["code"] == "not_allowed"
    assert (await stored(live)).status == "joined"


async def test_foreign_origin_is_refused(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    agent = server.client()
    await agent.login("boss@acme.test")
    session_id = (await agent.post("/api/sessions")).body["session"]["id"]
    with pytest.raises(Exception, match="403"):
        await Signal.open(agent, f"/ws/agent/{session_id}", origin="https://evil.example")
    events = await server.ctx.store.scoped(tenant_id).list_security_events(5)
    assert events == []  # no account is known at the handshake: instance-level only


async def test_other_agents_and_strangers_cannot_attach(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "ann@acme.test")
    await server.user(tenant_id, "bob@acme.test")
    ann, bob = server.client(), server.client()
    await ann.login("ann@acme.test")
    await bob.login("bob@acme.test")
    session_id = (await ann.post("/api/sessions")).body["session"]["id"]
    intruder = await Signal.open(bob, f"/ws/agent/{session_id}")
    assert (await intruder.next("error"))["code"] == "not_found"
    assert await intruder.closed() == 4403
    stranger = await Signal.open(server.client(), "/ws/customer")
    assert (await stranger.next("error"))["code"] == "not_authenticated"


async def test_customer_reconnects_to_the_same_session(live: Live) -> None:
    live.customer_ws.close()
    await live.agent_ws.next("state", where=lambda m: roles(m) == {"agent"})
    again = await Signal.open(live.customer, "/ws/customer")
    back = await live.agent_ws.next("state", where=lambda m: roles(m) == {"agent", "customer"})
    assert back["status"] == "joined"
    again.send("consent", accept=True)
    await live.agent_ws.next("state", status="consented")
    again.close()


@pytest.fixture
async def port_server(tmp_path: Path, store_url: str) -> AsyncIterator[Server]:
    """A running LiveLens with media on the Rust media port."""
    running = await start_server(tmp_path, store_url, media_port=True)
    try:
        yield running
    finally:
        await stop_server(running)


async def test_wrong_ice_credentials_at_the_media_port_reach_the_security_log(
    port_server: Server,
) -> None:
    recorded = asyncio.Event()

    class Alerts(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "media." in record.getMessage():  # logged once the event is stored
                recorded.set()

    alerts = Alerts()
    logging.getLogger("livelens.security").addHandler(alerts)
    agent_pc = agent_client("agent", Probe())
    try:
        async with live_session(port_server) as live:
            live.agent_ws.send("offer", sdp=await agent_pc.offer())
            answer = (await live.agent_ws.next("answer"))["sdp"]
            ufrag = re.search(r"a=ice-ufrag:(\S+)", answer)
            port = re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", answer)
            assert ufrag and port
            loop = asyncio.get_running_loop()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                check = binding_request(os.urandom(12), f"{ufrag[1]}:guess", "not-the-password")
                await loop.sock_sendto(sock, check, ("127.0.0.1", int(port[1])))
                async with asyncio.timeout(5):  # dropped unanswered: no 401 to wait for
                    await recorded.wait()

            admin = port_server.client()
            await admin.login("boss@acme.test")
            events = (await admin.get("/api/security-events?limit=50")).body["events"]
            media = [e for e in events if e["kind"].startswith("media.")]
            assert [e["kind"] for e in media] == ["media.stun_wrong_username"]
            assert media[0]["ip"] == "127.0.0.1"
            assert media[0]["details"] == {"count": 1, "session": live.session_id}
    finally:
        logging.getLogger("livelens.security").removeHandler(alerts)
        await agent_pc.close()
