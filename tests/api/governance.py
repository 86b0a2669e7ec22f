"""Accounts with policies, and live sessions under them, for the API tests of policies,
seats, subscription and ratings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.api.harness import Client, Server
from tests.api.signalling import Live, customer_joins


async def signed_in(server: Server, email: str) -> Client:
    client = server.client()
    answer = await client.login(email)
    assert answer.status == 200, answer.body
    return client


async def account(
    server: Server, policy: dict[str, Any] | None = None, name: str = "Acme"
) -> tuple[str, Client]:
    """An account (boss@<name>.test administrates it, ann@<name>.test is an agent) with
    ``policy`` set by its administrator; the tenant id and the administrator, signed in."""
    domain = f"{name.lower()}.test"
    tenant_id = await server.tenant(name, f"boss@{domain}")
    await server.user(tenant_id, f"ann@{domain}")
    admin = await signed_in(server, f"boss@{domain}")
    if policy:
        answer = await admin.patch("/api/account/policy", policy)
        assert answer.status == 200, answer.body
    return tenant_id, admin


def token_of(invitation: dict[str, Any]) -> str:
    return str(invitation["join_url"]).split("#", 1)[1]


@asynccontextmanager
async def live(
    server: Server, tenant_id: str, agent: Client, *, consent: bool = True,
    start: dict[str, Any] | None = None, scopes: tuple[str, ...] = ("camera", "microphone"),
) -> AsyncIterator[Live]:  # fmt: skip
    """``agent`` starts a session of ``tenant_id`` (``start``: the request's body), a
    customer joins by link (and with ``consent`` agrees to ``scopes``); both on their
    WebSockets."""
    async with customer_joins(server, tenant_id, agent, consent=consent, start=start,
                              scopes=scopes) as session:  # fmt: skip
        yield session
