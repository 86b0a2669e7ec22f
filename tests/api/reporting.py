"""Helpers for the report, API key and session history tests: requests with an API key,
and sessions put straight into the store at chosen times."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import tornado.httpclient

from livelens.store.records import SupportSession, new_id
from tests.api.harness import Client, Response, Server

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0


async def fetch(
    server: Server,
    method: str,
    path: str,
    *,
    key: str | None = None,
    client: Client | None = None,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A request with ``Authorization: Bearer <key>``, and the cookies and XSRF header of
    ``client`` when given (a signed-in browser sending a key as well)."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    if client is not None:
        if "_xsrf" not in client.cookies:
            await client.get("/api/me")
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        sent["X-XSRFToken"] = client.cookies["_xsrf"]
    data = None
    if method in ("POST", "PATCH", "PUT", "DELETE"):
        data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        sent.setdefault("Content-Type", "application/json")
    request = tornado.httpclient.HTTPRequest(
        server.base_url + path, method=method, headers=sent, body=data,
        allow_nonstandard_methods=True, follow_redirects=False,
    )  # fmt: skip
    answer = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
    raw = answer.body or b""
    parsed = json.loads(raw) if raw and "json" in answer.headers.get("Content-Type", "") else {}
    return Response(answer.code, parsed, answer.headers, raw)


async def new_key(admin: Client, name: str = "BI export") -> str:
    made = await admin.post("/api/api-keys", {"name": name})
    assert made.status == 201, made.body
    return str(made.body["key"])


async def add_session(
    server: Server, tenant_id: str, agent_id: str, created_at: float, **changes: Any
) -> SupportSession:
    """A session as the store keeps it, made at ``created_at``; ``live``: seconds of live
    time after a join 30 s after the link, then ended as completed."""
    live = changes.pop("live", None)
    session = SupportSession(
        id=new_id(), tenant_id=tenant_id, agent_id=agent_id, created_at=created_at,
        join_expires_at=created_at + 900, join_token_hash="t" + new_id(), pin_hash=None,
    )  # fmt: skip
    if live is not None:
        session = dataclasses.replace(
            session, status="ended", joined_at=created_at + 30, live_at=created_at + 40,
            ended_at=created_at + 40 + live, outcome="completed", ended_by="agent",
        )  # fmt: skip
    session = dataclasses.replace(session, **changes)
    await server.ctx.store.scoped(tenant_id).create_support_session(session)
    return session
