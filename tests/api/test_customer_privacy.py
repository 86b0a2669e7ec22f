"""What a customer gets to see of the account: display names, never agents' user ids or
e-mail addresses, in any message or answer."""

from __future__ import annotations

import json

from tests.api.harness import Server
from tests.api.signalling import Signal, live_session

JPEG = b"\xff\xd8\xff\xe0" + b"frame" * 40


async def test_the_customer_never_sees_agents_ids_or_addresses(server: Server) -> None:
    async with live_session(server, colleagues=("bob@acme.test",), consent=True) as live:
        ann = (await live.agent.get("/api/me")).body["user"]["id"]
        path = f"/api/sessions/{live.session_id}"
        bob = (await live.agent.post(path + "/experts", {"email": "bob@acme.test"})).body["expert"][
            "id"
        ]
        bob_client = server.client()
        await bob_client.login("bob@acme.test")
        expert_ws = await Signal.open(bob_client, f"/ws/agent/{live.session_id}")
        state = await live.customer_ws.next("state", where=lambda m: len(m["participants"]) == 3)
        assert sorted(p["name"] for p in state["participants"]) == ["Ann", "Bob", "Customer"]

        # Everything that reaches the customer's page during a session.
        live.agent_ws.send("chat", text="Hello from Ann", ref="a1")
        await live.customer_ws.next("chat", text="Hello from Ann")
        expert_ws.send("mark_start", id="m1", tool="pen", color="#0a84ff", pts=[[0.3, 0.3]])
        await live.customer_ws.next("mark_start")
        live.agent_ws.send("camera", torch=True)
        await live.customer_ws.next("camera")
        live.agent_ws.send("quality", level="good", kbps_in=900, kbps_out=300, loss=0)
        await live.customer_ws.next("quality")
        live.agent_ws.send("freeze")
        await live.customer_ws.next("state", freezing=True)
        frame = await live.customer.post("/api/join/frame", JPEG)
        assert frame.status == 201
        live.customer_ws.close()  # coming back replays the chat and the marks
        again = await Signal.open(live.customer, "/ws/customer")
        await again.next("chat_history")
        await again.next("marks")
        live.agent_ws.send("end")
        await again.next("ended")

        seen = json.dumps(live.customer_ws.seen + again.seen) + frame.raw.decode()
        for secret in (ann, bob, "ann@acme.test", "bob@acme.test", "@acme.test"):
            assert secret not in seen, secret
        expert_ws.close()


async def test_the_join_answer_names_the_agent_by_display_name(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    await server.user(tenant_id, "anna.de-vries@acme.test")
    agent = server.client()
    await agent.login("anna.de-vries@acme.test")
    created = (await agent.post("/api/sessions")).body
    answer = await server.client().post("/api/join", {"pin": created["pin"]})
    assert answer.status == 200
    assert answer.body["agent"] == "Anna De Vries"
    assert "@" not in json.dumps(answer.body)
