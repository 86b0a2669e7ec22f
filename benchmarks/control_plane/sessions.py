"""A support session as the pages make one: the agent signs in and creates it, the
customer opens the link (token), both connect their signalling sockets, the customer
consents. Each step is the same HTTP call or WebSocket message the pages send."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.control_plane.server import PASSWORD
from benchmarks.control_plane.web import Browser, Socket


class Refused(Exception):
    """The node answered a step with an error status."""

    def __init__(self, what: str, status: int, body: object) -> None:
        super().__init__(f"{what}: HTTP {status} {str(body)[:200]}")
        self.status = status


def expect(status: int, body: object, wanted: int, what: str) -> None:
    if status != wanted:
        raise Refused(what, status, body)


async def sign_in(agent: Browser, email: str) -> None:
    status, body = await agent.call(
        "POST", "/api/auth/login", {"email": email, "password": PASSWORD}
    )
    expect(status, body, 200, "sign-in")


async def create(agent: Browser) -> tuple[str, str]:
    """A new session of the signed-in ``agent``: (its id, the link's token)."""
    status, body = await agent.call("POST", "/api/sessions")
    expect(status, body, 201, "create a session")
    return str(body["session"]["id"]), str(body["join_url"].split("#", 1)[1])


async def join(base_url: str, token: str, source: str) -> tuple[Browser, Socket]:
    """A customer opens the link: the page, the join call, the signalling socket."""
    customer = Browser(base_url, source)
    page, _ = await customer.call("GET", "/join")
    expect(page, "", 200, "the join page")
    status, body = await customer.call("POST", "/api/join", {"token": token})
    expect(status, body, 200, "join")
    return customer, await customer.socket("/ws/customer")


async def consent(customer_ws: Socket) -> None:
    """The customer agrees to share the camera; returns when the node says so."""
    await customer_ws.until("state")  # the room is entered
    customer_ws.send("consent", accept=True, scopes=["camera", "microphone"])
    await customer_ws.until("state", lambda m: m["status"] == "consented")


@dataclass
class Live:
    """A consented session, both sides connected."""

    session_id: str
    agent_ws: Socket
    customer: Browser
    customer_ws: Socket

    def close(self) -> None:
        self.agent_ws.close()
        self.customer_ws.close()


async def open_live(agent: Browser, customer_source: str) -> Live:
    session_id, token = await create(agent)
    agent_ws = await agent.socket(f"/ws/agent/{session_id}")
    customer, customer_ws = await join(agent.base_url, token, customer_source)
    await consent(customer_ws)
    return Live(session_id, agent_ws, customer, customer_ws)
