"""Sessions with content, ended, for the API tests of deletion and retention."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from livelens.lifecycle import certificate
from livelens.store.records import SessionItem
from tests.api.governance import live
from tests.api.harness import Client, Server

PHRASE = "the router serial is QX-5583-ZEBRA"
PNG = b"\x89PNG\r\n\x1a\n" + b"snapshot-bytes-of-the-meter-" * 60
NOTE = "customer prefers callbacks after five"


@dataclass(frozen=True)
class Ended:
    """A session that ran and ended, and what the store held of it at its end."""

    session_id: str
    customer: Client
    items: list[SessionItem]  # sealed as stored
    sealed_key: bytes | None  # the session's key, sealed as stored


async def ended_with_content(server: Server, tenant_id: str, agent: Client) -> Ended:
    """``agent`` runs a session with a customer: a chat message with PHRASE, a snapshot
    (PNG) and notes (NOTE); then ends it."""
    async with live(server, tenant_id, agent) as session:
        session.customer_ws.send("chat", text=PHRASE, ref="c1")
        await session.agent_ws.next("chat")
        path = f"/api/sessions/{session.session_id}"
        assert (await agent.post(f"{path}/snapshots", PNG)).status == 201
        assert (await agent.request("PUT", f"{path}/notes", {"text": NOTE})).status == 200
        session.agent_ws.send("end")
        await session.customer_ws.next("ended")
        customer = session.customer
    scope = server.ctx.store.scoped(tenant_id)
    items = await scope.list_session_items(session.session_id)
    assert sorted(item.kind for item in items) == ["chat", "note", "snapshot"]
    key = await scope.get_session_key(session.session_id)
    return Ended(session.session_id, customer, items, key.sealed if key else None)


async def instance_key(client: Client) -> bytes:
    """The instance's public signing key, as published."""
    answer = await client.get("/api/instance/signing-key")
    assert answer.status == 200, answer.body
    return base64.b64decode(answer.body["public_key"])


async def verified(client: Client, cert: dict[str, object]) -> certificate.Verified:
    """``cert`` checked against the instance's published key."""
    return certificate.verify(json.dumps(cert), await instance_key(client))
