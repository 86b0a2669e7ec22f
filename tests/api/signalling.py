"""A signalling participant over a real WebSocket, for tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import tornado.httpclient
import tornado.websocket

from livelens.services.rooms import Room, Rooms
from tests.api.harness import Client, Server


class Signal:
    def __init__(self, conn: tornado.websocket.WebSocketClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []
        self._writes: set[asyncio.Future[None]] = set()

    @classmethod
    async def open(cls, client: Client, path: str, origin: str | None = None) -> Signal:
        url = client.base_url.replace("http", "ws", 1) + path
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        request = tornado.httpclient.HTTPRequest(
            url, headers={"Cookie": cookies, "Origin": origin or client.base_url}
        )
        return cls(await tornado.websocket.websocket_connect(request))

    def send(self, kind: str, **fields: object) -> None:
        self.send_raw(json.dumps({"v": 1, "type": kind, **fields}))

    def send_raw(self, raw: str) -> None:
        write = asyncio.ensure_future(self.conn.write_message(raw))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def next(
        self,
        kind: str,
        within: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        **match: object,
    ) -> dict[str, Any]:
        """The next message of ``kind`` whose fields equal ``match`` and that satisfies
        ``where``, skipping others."""
        async with asyncio.timeout(within):
            while True:
                raw = await self.conn.read_message()
                if raw is None:
                    raise AssertionError(f"connection closed while waiting for {kind} {match}")
                message = json.loads(raw)
                self.seen.append(message)
                if (
                    message["type"] == kind
                    and all(message.get(k) == v for k, v in match.items())
                    and where(message)
                ):
                    return dict(message)

    async def closed(self, within: float = 10.0) -> int | None:
        async with asyncio.timeout(within):
            while await self.conn.read_message() is not None:
                pass
        return self.conn.close_code

    def close(self) -> None:
        self.conn.close()


def room_of(server: Server, session_id: str) -> Room:
    """The session's running room on the test server."""
    rooms: Rooms = server.http.request_callback.settings["livelens_rooms"]  # type: ignore[attr-defined]
    room = rooms.get(session_id)
    assert room is not None, "the session has no running room"
    return room


async def pass_time(server: Server, session_id: str, seconds: float) -> None:
    """Move the server's clock on and have the session's room look at it (as its timer
    does once the time has really passed)."""
    server.clock.advance(seconds)
    await room_of(server, session_id).tick()


def roles(state: dict[str, Any]) -> set[str]:
    return {p["role"] for p in state["participants"]}


@dataclass
class Live:
    """A session with an agent and a joined customer, both on their WebSockets."""

    server: Server
    agent: Client
    customer: Client
    session_id: str
    tenant_id: str
    agent_ws: Signal
    customer_ws: Signal


@asynccontextmanager
async def live_session(
    server: Server, *, colleagues: tuple[str, ...] = (), consent: bool = False
) -> AsyncIterator[Live]:
    """ann@acme.test starts a session, a customer joins by token; with ``consent`` the
    customer has also agreed. ``colleagues``: more agents of the same account."""
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    for email in ("ann@acme.test", *colleagues):
        await server.user(tenant_id, email)
    agent = server.client()
    await agent.login("ann@acme.test")
    async with customer_joins(server, tenant_id, agent, consent=consent) as live:
        yield live


@asynccontextmanager
async def customer_joins(
    server: Server, tenant_id: str, agent: Client, *, consent: bool,
    start: dict[str, Any] | None = None, scopes: tuple[str, ...] = ("camera", "microphone"),
) -> AsyncIterator[Live]:  # fmt: skip
    """``agent`` starts a session of ``tenant_id`` (``start``: the request's body), a
    customer joins by link (and with ``consent`` agrees to ``scopes``); both on their
    WebSockets."""
    created = await agent.post("/api/sessions", start)
    assert created.status == 201, created.body
    session_id = created.body["session"]["id"]
    customer = server.client()
    token = created.body["join_url"].split("#", 1)[1]
    joined = await customer.post("/api/join", {"token": token})
    assert joined.status == 200, joined.body
    agent_ws = await Signal.open(agent, f"/ws/agent/{session_id}")
    customer_ws = await Signal.open(customer, "/ws/customer")
    await agent_ws.next("state", where=lambda m: roles(m) == {"agent", "customer"})
    if consent:
        customer_ws.send("consent", accept=True, scopes=list(scopes))
        await agent_ws.next("state", status="consented")
    try:
        yield Live(server, agent, customer, session_id, tenant_id, agent_ws, customer_ws)
    finally:
        agent_ws.close()
        customer_ws.close()
