"""Reports over HTTP: who sees which sessions, the CSV export (its columns, safe cells,
streaming), the summary, refusals of bad days, and isolation between accounts."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import tornado.httpclient

from livelens.services import report_feed
from livelens.store.repository import SessionQuery
from tests.api.harness import Client, Server
from tests.api.reporting import DAY, JAN_1, add_session, fetch, new_key

JANUARY = "from=2026-01-01&to=2026-01-31"
FEB_1 = JAN_1 + 31 * DAY


class Acme:
    """An account with an administrator and two agents, Ann and Bob, and five sessions
    in January 2026 (one more in February):

    ======  =====  =====================  ================================
    who     day    outcome                live time, rating
    ======  =====  =====================  ================================
    Ann     1      completed              60 s
    Ann     1      completed              120 s, rated 5
    Ann     3      expired                never joined
    Bob     2      completed              300 s, rated 3
    Bob     2      dropped (Ann invited)  60 s
    ======  =====  =====================  ================================
    """

    def __init__(self, server: Server) -> None:
        self.server = server

    async def setup(self) -> Acme:
        server = self.server
        self.tenant_id = await server.tenant("Acme", "boss@acme.test")
        self.ann_id = await server.user(self.tenant_id, "ann@acme.test")
        self.bob_id = await server.user(self.tenant_id, "bob@acme.test")
        self.admin, self.ann, self.bob = server.client(), server.client(), server.client()
        for client, email in ((self.admin, "boss"), (self.ann, "ann"), (self.bob, "bob")):
            assert (await client.login(f"{email}@acme.test")).status == 200
        add = add_session
        await add(server, self.tenant_id, self.ann_id, JAN_1 + 3600, live=60)
        await add(server, self.tenant_id, self.ann_id, JAN_1 + 7200, live=120, rating=5)
        await add(
            server,
            self.tenant_id,
            self.ann_id,
            JAN_1 + 2 * DAY + 100,
            status="ended",
            outcome="expired",
            ended_at=JAN_1 + 2 * DAY + 1000,
            ended_by="system",
        )
        await add(server, self.tenant_id, self.bob_id, JAN_1 + DAY + 100, live=300, rating=3)
        await add(
            server,
            self.tenant_id,
            self.bob_id,
            JAN_1 + DAY + 200,
            experts=(self.ann_id,),
            status="ended",
            outcome="dropped",
            joined_at=JAN_1 + DAY + 230,
            live_at=JAN_1 + DAY + 240,
            ended_at=JAN_1 + DAY + 300,
        )
        await add(server, self.tenant_id, self.bob_id, FEB_1 + 10, live=10)
        return self


@pytest.fixture
async def acme(server: Server) -> Acme:
    return await Acme(server).setup()


def csv_rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode())))


async def test_administrators_see_the_account_and_agents_what_they_started(acme: Acme) -> None:
    def agents(answer: Any) -> list[str]:
        assert answer.status == 200, answer.body
        return [row["agent"] for row in answer.body["sessions"]]

    everyone = agents(await acme.admin.get(f"/api/reports/sessions?{JANUARY}"))
    assert everyone == [
        "ann@acme.test",
        "ann@acme.test",
        "bob@acme.test",
        "bob@acme.test",
        "ann@acme.test",
    ]  # oldest first
    # An agent: the sessions they started, not those they were invited into.
    assert agents(await acme.ann.get(f"/api/reports/sessions?{JANUARY}")) == ["ann@acme.test"] * 3
    assert agents(await acme.bob.get(f"/api/reports/sessions?{JANUARY}")) == ["bob@acme.test"] * 2
    mine = await acme.ann.get(f"/api/reports/sessions?{JANUARY}&agent={acme.ann_id}")
    assert agents(mine) == ["ann@acme.test"] * 3
    theirs = await acme.ann.get(f"/api/reports/sessions?{JANUARY}&agent={acme.bob_id}")
    assert theirs.status == 403
    summary = await acme.ann.get(f"/api/reports/summary?{JANUARY}&agent={acme.bob_id}")
    assert summary.status == 403
    # Administrators narrow it down by agent and outcome.
    by_bob = await acme.admin.get(f"/api/reports/sessions?{JANUARY}&agent={acme.bob_id}")
    assert agents(by_bob) == ["bob@acme.test"] * 2
    dropped = await acme.admin.get(f"/api/reports/sessions?{JANUARY}&outcome=dropped")
    assert [r["outcome"] for r in dropped.body["sessions"]] == ["dropped"]
    assert (await acme.server.client().get(f"/api/reports/sessions?{JANUARY}")).status == 401


async def test_a_row_has_the_columns_in_iso_utc_and_whole_seconds(acme: Acme) -> None:
    answer = await acme.admin.get(f"/api/reports/sessions?{JANUARY}")
    assert (answer.body["from"], answer.body["to"]) == ("2026-01-01", "2026-01-31")
    first = answer.body["sessions"][0]
    assert first["created_at"] == "2026-01-01T01:00:00Z"
    assert first["joined_at"] == "2026-01-01T01:00:30Z"
    assert first["started_at"] == "2026-01-01T01:00:40Z"
    assert first["ended_at"] == "2026-01-01T01:01:40Z"
    assert (first["duration_s"], first["join_wait_s"]) == (60, 30)
    assert (first["outcome"], first["agent_id"], first["agent_name"]) == (
        "completed",
        acme.ann_id,
        "Ann",
    )
    assert "customer_name" not in first


async def test_the_csv_export(acme: Acme) -> None:
    answer = await acme.admin.get(f"/api/reports/sessions?{JANUARY}&format=csv")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/csv; charset=utf-8")
    disposition = answer.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="livelens-sessions-2026-01-01-2026-01-31.csv"'
    assert answer.headers["Cache-Control"] == "no-store"
    header = answer.raw.decode().split("\r\n")[0].split(",")
    for name in (
        "session_id",
        "agent",
        "started_at",
        "ended_at",
        "duration_s",
        "outcome",
        "reference",
    ):
        assert name in header
    rows = csv_rows(answer.raw)
    as_json = (await acme.admin.get(f"/api/reports/sessions?{JANUARY}")).body["sessions"]
    assert len(rows) == len(as_json) == 5
    # The same rows as the JSON export, cell for cell (empty for null).
    for row, obj in zip(rows, as_json, strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in obj.items()}
    assert [r["duration_s"] for r in rows] == ["60", "120", "300", "60", ""]
    assert [r["outcome"] for r in rows] == [
        "completed",
        "completed",
        "completed",
        "dropped",
        "expired",
    ]


@pytest.mark.parametrize(
    "reference",
    ['=HYPERLINK("http://evil.example","Click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\uff1d1+1"],
)
async def test_csv_cells_cannot_start_a_formula(server: Server, reference: str) -> None:
    await server.tenant("Acme", "boss@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    made = await admin.post("/api/sessions", {"reference": reference, "customer_name": "Zed Q"})
    assert made.status == 201 and made.body["session"]["reference"] == reference
    day = datetime.fromtimestamp(made.body["session"]["created_at"], UTC).date().isoformat()
    answer = await admin.get(f"/api/reports/sessions?from={day}&to={day}&format=csv")
    (row,) = csv_rows(answer.raw)
    assert row["reference"] == "'" + reference
    # The customer's name is personal data: no report has it.
    assert b"Zed Q" not in answer.raw
    listed = await admin.get(f"/api/reports/sessions?from={day}&to={day}")
    assert listed.body["sessions"][0]["reference"] == reference  # JSON keeps it as it is


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("to=2026-01-31", "'from' and 'to'"),
        ("from=2026-01-01", "'from' and 'to'"),
        ("from=2026-1-1&to=2026-01-31", "YYYY-MM-DD"),
        ("from=2026-02-30&to=2026-03-01", "not a date"),
        ("from=2026-02-01&to=2026-01-31", "before"),
        ("from=2025-01-01&to=2026-01-02", "at most 366 days"),
        (f"{JANUARY}&format=xlsx", "'format'"),
        (f"{JANUARY}&outcome=won", "'outcome'"),
        (f"{JANUARY}&agent=ann", "'agent'"),
    ],
)
async def test_bad_days_and_filters_are_400_with_the_reason(
    acme: Acme, query: str, reason: str
) -> None:
    for path in ("/api/reports/sessions", "/api/reports/summary"):
        if "format" in query and path.endswith("summary"):
            continue  # the summary has no format
        answer = await acme.admin.get(f"{path}?{query}")
        assert answer.status == 400, (path, query)
        assert answer.body["error"] == "invalid_input" and reason in answer.body["message"]
    assert (await acme.admin.get(f"/api/reports/summary?{JANUARY}&group=year")).status == 400
    assert (
        await acme.admin.get("/api/reports/sessions?from=2024-01-01&to=2024-12-31")
    ).status == 200


async def test_the_summary(acme: Acme) -> None:
    answer = await acme.admin.get(f"/api/reports/summary?{JANUARY}")
    assert answer.status == 200
    summary = answer.body
    assert (summary["from"], summary["to"], summary["group"]) == ("2026-01-01", "2026-01-31", "day")
    total = summary["total"]
    assert total["sessions"] == 5
    assert total["outcomes"] == {
        "completed": 3,
        "declined": 0,
        "expired": 1,
        "dropped": 1,
        "open": 0,
    }
    # Live times 60, 60, 120, 300: the median between the middle two, p90 interpolated.
    assert total["duration_s"] == {"median": 90.0, "p90": 246.0, "count": 4}
    assert total["join_wait_s"] == {"median": 30.0}
    assert total["rating"] == {"average": 4.0, "count": 2}
    agents = {a["agent"]: a for a in summary["agents"]}
    assert (agents["ann@acme.test"]["sessions"], agents["bob@acme.test"]["sessions"]) == (3, 2)
    assert agents["bob@acme.test"]["outcomes"]["dropped"] == 1
    assert agents["ann@acme.test"]["agent_id"] == acme.ann_id
    periods = summary["periods"]
    assert len(periods) == 31
    assert [(p["period"], p["sessions"]) for p in periods[:4]] == [
        ("2026-01-01", 2),
        ("2026-01-02", 2),
        ("2026-01-03", 1),
        ("2026-01-04", 0),
    ]
    weeks = (await acme.admin.get(f"/api/reports/summary?{JANUARY}&group=week")).body["periods"]
    assert weeks[0] == weeks[0] | {"period": "2025-12-29", "sessions": 5}
    months = (await acme.admin.get(f"/api/reports/summary?{JANUARY}&group=month")).body
    assert [p["period"] for p in months["periods"]] == ["2026-01-01"]
    # An agent's summary is their line of the account's.
    own = (await acme.ann.get(f"/api/reports/summary?{JANUARY}")).body
    assert own["total"]["sessions"] == 3 and [a["agent"] for a in own["agents"]] == [
        "ann@acme.test"
    ]
    assert own["total"]["duration_s"]["median"] == 90.0
    completed = (await acme.admin.get(f"/api/reports/summary?{JANUARY}&outcome=completed")).body
    assert completed["total"]["sessions"] == 3


async def test_accounts_see_none_of_each_others_sessions(acme: Acme) -> None:
    server = acme.server
    await server.tenant("Other", "boss@other.test")
    other = server.client()
    await other.login("boss@other.test")
    key = await new_key(other)
    for reader in ({"client": other}, {"key": key}):
        answer = await fetch(server, "GET", f"/api/reports/sessions?{JANUARY}", **reader)
        assert answer.status == 200 and answer.body["sessions"] == []
        summary = await fetch(server, "GET", f"/api/reports/summary?{JANUARY}", **reader)
        assert summary.body["total"]["sessions"] == 0 and summary.body["agents"] == []
        # Another account's agent answers exactly as an id that names no one.
        foreign = await fetch(
            server, "GET", f"/api/reports/sessions?{JANUARY}&agent={acme.ann_id}", **reader
        )
        random = await fetch(
            server, "GET", f"/api/reports/sessions?{JANUARY}&agent={'0' * 32}", **reader
        )
        assert (foreign.status, foreign.body) == (random.status, random.body)
    # Acme's key reads Acme's.
    acme_key = await new_key(acme.admin)
    mine = await fetch(server, "GET", f"/api/reports/sessions?{JANUARY}", key=acme_key)
    assert len(mine.body["sessions"]) == 5


@pytest.mark.parametrize("kind", ["csv", "json"])
async def test_the_report_is_sent_while_it_is_read(
    server: Server, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Rows go out batch by batch: before the store is asked for the last batch, the
    client already has the rows of every batch before it. A handler that gathered the
    report before sending it would leave the client with nothing here."""
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    agent_id = await server.user(tenant_id, "ann@acme.test")
    for i in range(23):
        await add_session(server, tenant_id, agent_id, JAN_1 + i * 60, live=30)
    monkeypatch.setattr(report_feed, "BATCH", 5)  # 23 sessions: 4 full batches, then 3

    received: list[bytes] = []

    def rows_received() -> int:
        text = b"".join(received).decode()
        return text.count("\r\n") - 1 if kind == "csv" else text.count('"session_id"')

    scope_type = type(server.ctx.store.scoped(tenant_id))
    stream = scope_type.stream_support_sessions
    sizes: list[int] = []
    before_last: list[int] = []

    def watched(self: Any, query: SessionQuery, batch: int) -> Any:
        async def pages() -> Any:
            async for page in stream(self, query, batch):
                sizes.append(len(page))
                if len(sizes) == 5:  # the last batch
                    for _ in range(300):
                        if rows_received() >= 20:
                            break
                        await asyncio.sleep(0.01)
                    before_last.append(rows_received())
                yield page

        return pages()

    monkeypatch.setattr(scope_type, "stream_support_sessions", watched)
    request = tornado.httpclient.HTTPRequest(
        f"{server.base_url}/api/reports/sessions?{JANUARY}&format={kind}",
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in admin.cookies.items())},
        streaming_callback=received.append,
        request_timeout=60,
    )
    answer = await tornado.httpclient.AsyncHTTPClient().fetch(request)
    assert answer.code == 200
    assert before_last == [20]
    assert sizes == [5, 5, 5, 5, 3]  # never more than a batch at a time
    assert rows_received() == 23


async def test_a_report_with_no_sessions(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    admin: Client = server.client()
    await admin.login("boss@acme.test")
    empty = await admin.get(f"/api/reports/sessions?{JANUARY}&format=csv")
    assert empty.status == 200 and len(empty.raw.decode().split("\r\n")) == 2  # header, ""
    assert (await admin.get(f"/api/reports/sessions?{JANUARY}")).body["sessions"] == []
