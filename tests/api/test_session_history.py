"""Session history: GET /api/sessions searched, filtered and paged by cursor, within
the caller's rights and account; what the console reads still works unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from livelens.store.records import SupportSession
from tests.api.harness import Client, Server
from tests.api.reporting import DAY, JAN_1, add_session


async def signed_in(server: Server, tenant_id: str, email: str) -> Client:
    """A client signed in as ``email`` (a user of ``tenant_id``)."""
    client = server.client()
    assert (await client.login(email)).status == 200
    return client


async def every_page(client: Client, query: str = "") -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        path = "/api/sessions?" + query + (f"&cursor={cursor}" if cursor else "")
        answer = await client.get(path)
        assert answer.status == 200, answer.body
        pages.append([s["id"] for s in answer.body["sessions"]])
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


def newest_first(sessions: list[SupportSession]) -> list[str]:
    return [s.id for s in sorted(sessions, key=lambda s: (s.created_at, s.id), reverse=True)]


async def test_the_list_the_console_reads_still_works_and_now_has_pages(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = await signed_in(server, tenant_id, "boss@acme.test")
    boss = await server.ctx.store.scoped(tenant_id).find_user_by_email("boss@acme.test")
    assert boss is not None
    made = [await add_session(server, tenant_id, boss.id, JAN_1 + i) for i in range(105)]
    first = await admin.get("/api/sessions")  # no parameters, as the console asks
    assert first.status == 200
    assert [s["id"] for s in first.body["sessions"]] == newest_first(made)[:100]
    assert {"id", "status", "agent_id", "created_at"} <= set(first.body["sessions"][0])
    rest = await admin.get(f"/api/sessions?cursor={first.body['next_cursor']}")
    assert [s["id"] for s in rest.body["sessions"]] == newest_first(made)[100:]
    assert rest.body["next_cursor"] is None


@pytest.mark.parametrize("limit", [1, 7, 30, 31])
async def test_pages_cover_every_session_once_newest_first(server: Server, limit: int) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = await signed_in(server, tenant_id, "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    # Sessions made at the same moment: the cursor must tell them apart.
    made = [await add_session(server, tenant_id, ann, JAN_1 + i // 4) for i in range(30)]
    pages = await every_page(admin, f"limit={limit}")
    assert [i for page in pages for i in page] == newest_first(made)
    assert all(len(page) <= limit for page in pages)
    # The store is asked for one more than a page: a full last page knows it is the last.
    assert len(pages) == -(-30 // limit)


async def test_search_looks_in_the_reference_not_the_sealed_customer_name(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = await signed_in(server, tenant_id, "boss@acme.test")
    for customer, reference in (("Zed Smith", "TICKET-1042"), ("Amy", "ticket-7"), ("Bo", None)):
        made = await admin.post(
            "/api/sessions", {"customer_name": customer, "reference": reference}
        )
        assert made.status == 201
        server.clock.advance(1)

    async def found(q: str) -> list[Any]:
        answer = await admin.get(f"/api/sessions?q={q}")
        assert answer.status == 200
        return [s["reference"] for s in answer.body["sessions"]]

    assert await found("ticket") == ["ticket-7", "TICKET-1042"]
    assert await found("1042") == ["TICKET-1042"]
    assert await found("T-7") == ["ticket-7"]
    assert await found("Zed") == []  # sealed at rest: not searchable
    assert await found("%25") == []  # a literal %, not a wildcard
    assert len(await found("%20%20")) == 3  # only spaces: no search at all


async def test_filters_by_agent_outcome_and_days(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = await signed_in(server, tenant_id, "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    bob = await server.user(tenant_id, "bob@acme.test")
    a1 = await add_session(server, tenant_id, ann, JAN_1 + 10, live=60)
    b1 = await add_session(server, tenant_id, bob, JAN_1 + DAY + 10, live=60)
    b2 = await add_session(server, tenant_id, bob, JAN_1 + 2 * DAY + 10)

    async def ids(query: str) -> list[str]:
        answer = await admin.get(f"/api/sessions?{query}")
        assert answer.status == 200, answer.body
        return [s["id"] for s in answer.body["sessions"]]

    assert await ids(f"agent={bob}") == [b2.id, b1.id]
    assert await ids("outcome=completed") == [b1.id, a1.id]
    assert await ids("from=2026-01-02") == [b2.id, b1.id]
    assert await ids("to=2026-01-02") == [b1.id, a1.id]
    assert await ids("from=2026-01-02&to=2026-01-02") == [b1.id]
    assert await ids(f"agent={bob}&outcome=completed&from=2026-01-01&to=2026-01-31") == [b1.id]
    assert await ids(f"agent={'0' * 32}") == []


async def test_agents_see_what_they_started_and_were_invited_into(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    ann = await server.user(tenant_id, "ann@acme.test")
    bob = await server.user(tenant_id, "bob@acme.test")
    own = await add_session(server, tenant_id, ann, JAN_1)
    invited = await add_session(server, tenant_id, bob, JAN_1 + 1, experts=(ann,))
    await add_session(server, tenant_id, bob, JAN_1 + 2)
    client = await signed_in(server, tenant_id, "ann@acme.test")
    assert [i for p in await every_page(client, "limit=1") for i in p] == [invited.id, own.id]
    started = await client.get(f"/api/sessions?agent={ann}")
    assert [s["id"] for s in started.body["sessions"]] == [own.id]
    for other in (bob, "0" * 32):
        refused = await client.get(f"/api/sessions?agent={other}")
        assert refused.status == 403


async def test_history_stays_within_the_account(server: Server) -> None:
    acme_id = await server.tenant("Acme", "boss@acme.test")
    other_id = await server.tenant("Other", "boss@other.test")
    ann = await server.user(acme_id, "ann@acme.test")
    acme_sessions = [await add_session(server, acme_id, ann, JAN_1 + i, reference="T-1")
                     for i in range(3)]  # fmt: skip
    theirs = await add_session(server, other_id, ann, JAN_1 + 1.5)  # a foreign agent id
    acme = await signed_in(server, acme_id, "boss@acme.test")
    other = await signed_in(server, other_id, "boss@other.test")
    assert (await other.get("/api/sessions?q=T-1")).body["sessions"] == []
    by_agent = await other.get(f"/api/sessions?agent={ann}")
    by_nobody = await other.get(f"/api/sessions?agent={'1' * 32}")
    assert [s["id"] for s in by_agent.body["sessions"]] == [theirs.id]
    assert by_nobody.body == {"sessions": [], "next_cursor": None}
    # Acme's cursor is only a position: in Other, it pages through Other's sessions.
    page = await acme.get("/api/sessions?limit=1")
    assert page.body["sessions"][0]["id"] == acme_sessions[-1].id
    elsewhere = await other.get(f"/api/sessions?cursor={page.body['next_cursor']}")
    assert [s["id"] for s in elsewhere.body["sessions"]] == [theirs.id]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=x", "cursor=nope!", "cursor=W10", "from=2026-13-01",
     "to=yesterday", "from=2026-01-02&to=2026-01-01", "outcome=won", "agent=ann",
     "q=%0Aline", "q=" + "x" * 101],
)  # fmt: skip
async def test_bad_parameters_are_400(server: Server, query: str) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = await signed_in(server, tenant_id, "boss@acme.test")
    answer = await admin.get(f"/api/sessions?{query}")
    assert answer.status == 400, query
    assert answer.body["error"] == "invalid_input"
