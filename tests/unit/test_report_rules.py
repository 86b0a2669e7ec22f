"""The rules of reports and session history (services.reports, services.session_history):
days, rows, CSV cells, quantiles and the summary, cursors and page queries. No I/O."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livelens.errors import Forbidden, InvalidInput
from livelens.services import reports, session_history
from livelens.services.auth import Principal
from livelens.store.records import SupportSession, Tenant, User

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def row(**changes: Any) -> reports.Row:
    base: dict[str, Any] = {
        "session_id": "s" * 32, "reference": "T-1", "agent_id": "a" * 32,
        "agent": "ann@acme.test", "agent_name": "Ann", "created_at": JAN_1,
        "joined_at": None, "started_at": None, "ended_at": None, "outcome": None,
        "ended_by": None, "experts": 0, "rating": None,
    }  # fmt: skip
    return reports.Row(**(base | changes))


# --- days ---


def test_days_are_whole_utc_days_both_included() -> None:
    span = reports.days("2026-01-01", "2026-01-31")
    assert (span.first, span.last, span.count) == (date(2026, 1, 1), date(2026, 1, 31), 31)
    assert span.since == JAN_1
    assert span.until == datetime(2026, 2, 1, tzinfo=UTC).timestamp()
    assert reports.days("2024-01-01", "2024-12-31").count == 366  # a leap year fits
    assert reports.days("9999-12-31", "9999-12-31").until > 0  # no overflow past the last day


@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [
        ("2026-1-01", "2026-01-31", "YYYY-MM-DD"),
        ("2026-01-01T00:00", "2026-01-31", "YYYY-MM-DD"),
        ("", "2026-01-31", "YYYY-MM-DD"),
        ("2026-02-30", "2026-03-01", "not a date"),
        ("2026-01-01", "2026-13-01", "not a date"),
        ("2026-02-01", "2026-01-31", "before"),
        ("2024-01-01", "2025-01-01", "at most 366 days"),
        ("\uff12\uff10\uff12\uff16-01-01", "2026-01-31", "YYYY-MM-DD"),  # full-width digits
    ],
)
def test_bad_days_are_refused_with_the_reason(first: str, last: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        reports.days(first, last)


def test_iso_times_are_utc_to_the_second() -> None:
    assert reports.iso(JAN_1 + 3600 * 9 + 65.7) == "2026-01-01T09:01:05Z"
    assert reports.iso(None) is None


# --- rows and CSV ---


def test_a_row_shows_live_time_and_the_wait_for_the_customer() -> None:
    r = row(joined_at=JAN_1 + 30.4, started_at=JAN_1 + 40, ended_at=JAN_1 + 340.6)
    assert (r.duration_s, r.join_wait_s) == (301, 30)
    assert row().duration_s is None and row().join_wait_s is None
    assert row(started_at=JAN_1 + 5).duration_s is None  # still running


def test_row_of_a_session_whose_agent_was_deleted() -> None:
    session = SupportSession(id="s" * 32, tenant_id="t", agent_id="gone", created_at=JAN_1,
                             join_expires_at=JAN_1 + 900, join_token_hash="x",
                             pin_hash=None, experts=("e1", "e2"))  # fmt: skip
    made = reports.row_of(session, {})
    assert (made.agent, made.agent_name, made.agent_id, made.experts) == ("", "", "gone", 2)


@pytest.mark.parametrize(
    "start", ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]
)
def test_cells_that_could_start_a_formula_are_made_text(start: str) -> None:
    assert reports.safe_cell(start + "HYPERLINK(1)") == "'" + start + "HYPERLINK(1)"


@pytest.mark.parametrize("value", ["T-42", "a=b", " =1", "'quoted", "", None, 12, "Ünïcode"])
def test_other_cells_stay_as_they_are(value: reports.Cell) -> None:
    assert reports.safe_cell(value) == ("" if value is None else str(value))


def test_csv_has_the_header_and_safe_quoted_cells() -> None:
    rows = [row(reference='=cmd|"/c calc"!A1', agent_name="Ann, Jr."), row(reference=None)]
    text = reports.csv_text(rows, header=True)
    assert text.endswith("\r\n")
    parsed = list(csv.reader(io.StringIO(text)))
    assert tuple(parsed[0]) == reports.COLUMNS
    first = dict(zip(parsed[0], parsed[1], strict=True))
    assert first["reference"] == '\'=cmd|"/c calc"!A1'
    assert first["agent_name"] == "Ann, Jr."
    assert first["created_at"] == "2026-01-01T00:00:00Z"
    assert first["duration_s"] == "" and first["experts"] == "0"
    assert dict(zip(parsed[0], parsed[2], strict=True))["reference"] == ""
    assert reports.csv_text([]) == ""


# --- quantiles and the summary ---


@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=2, max_size=200))
def test_quantiles_are_those_of_the_statistics_module(values: list[int]) -> None:
    counts = Counter(values)
    assert reports.quantile(counts, 0.5) == pytest.approx(statistics.median(values))
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    assert reports.quantile(counts, 0.9) == pytest.approx(p90)


def test_quantiles_of_one_value_and_of_none() -> None:
    assert reports.quantile(Counter([7]), 0.9) == 7
    assert reports.quantile(Counter(), 0.5) is None


def test_the_summary_counts_per_agent_and_per_day() -> None:
    span = reports.days("2026-01-01", "2026-01-03")
    summary = reports.Summary(span, "day")
    ann, bob = {"agent_id": "a" * 32, "agent": "ann@x"}, {"agent_id": "b" * 32, "agent": "bob@x"}
    live = {"joined_at": JAN_1 + 10, "started_at": JAN_1 + 20}
    summary.add([
        row(**ann, **live, ended_at=JAN_1 + 80, outcome="completed", rating=5),
        row(**ann, **live, ended_at=JAN_1 + 140, outcome="completed", rating=4),
        row(**ann, created_at=JAN_1 + 86400 * 2, outcome="expired"),
    ])  # fmt: skip
    summary.add([row(**bob, created_at=JAN_1 + 86400 * 2 + 5, outcome="declined"), row(**bob)])
    view = summary.view()
    total = view["total"]
    assert total["sessions"] == 5
    assert total["outcomes"] == {"completed": 2, "declined": 1, "expired": 1, "dropped": 0,
                                 "open": 1}  # fmt: skip
    assert total["duration_s"] == {"median": 90.0, "p90": 114.0, "count": 2}
    assert total["join_wait_s"] == {"median": 10.0}
    assert total["rating"] == {"average": 4.5, "count": 2}
    agents = view["agents"]
    assert [(a["agent"], a["sessions"]) for a in agents] == [("ann@x", 3), ("bob@x", 2)]
    assert agents[1]["rating"] == {"average": None, "count": 0}
    periods = view["periods"]
    assert [(p["period"], p["sessions"]) for p in periods] == [
        ("2026-01-01", 3), ("2026-01-02", 0), ("2026-01-03", 2)]  # fmt: skip


@pytest.mark.parametrize(
    ("group", "first", "last", "periods"),
    [
        # ISO weeks start on Monday: 2026-01-01 is a Thursday.
        ("week", "2026-01-01", "2026-01-12", ["2025-12-29", "2026-01-05", "2026-01-12"]),
        ("month", "2025-11-30", "2026-02-01", ["2025-11-01", "2025-12-01", "2026-01-01",
                                               "2026-02-01"]),
        ("day", "2024-02-28", "2024-03-01", ["2024-02-28", "2024-02-29", "2024-03-01"]),
    ],
)  # fmt: skip
def test_every_period_is_listed_by_its_first_day(
    group: reports.Group, first: str, last: str, periods: list[str]
) -> None:
    view = reports.Summary(reports.days(first, last), group).view()
    assert [p["period"] for p in view["periods"]] == periods
    assert view["total"]["sessions"] == 0 and view["agents"] == []
    assert view["total"]["duration_s"] == {"median": None, "p90": None, "count": 0}


def test_a_year_of_days_is_at_most_367_periods() -> None:
    view = reports.Summary(reports.days("2024-01-01", "2024-12-31"), "day").view()
    assert len(view["periods"]) == 366


# --- session history ---


def principal(role: str = "agent", user_id: str = "a" * 32) -> Principal:
    user = User(id=user_id, tenant_id="t", email="x@y", role=role,  # type: ignore[arg-type]
                password_hash="", created_at=0, updated_at=0)  # fmt: skip
    tenant = Tenant(id="t", name="T", region="eu", created_at=0, wrapped_data_key=b"",
                    master_key_id="m")  # fmt: skip
    return Principal(user, tenant, "s")


def page(who: Principal, **args: str) -> session_history.Page:
    return session_history.page(who, args.get)


def test_cursors_go_back_to_where_they_were_made() -> None:
    session = SupportSession(id="c" * 32, tenant_id="t", agent_id="a", created_at=JAN_1 + 0.125,
                             join_expires_at=0, join_token_hash="x", pin_hash=None)  # fmt: skip
    cursor = session_history.cursor_of(session)
    assert session_history.parse_cursor(cursor) == (JAN_1 + 0.125, "c" * 32)
    made = page(principal(), cursor=cursor)
    assert made.query.after == (JAN_1 + 0.125, "c" * 32)


BAD_CURSORS = [
    "",
    "not a cursor",
    "!!!!",
    "x" * 201,
    "W10",  # []
    "WzEsMl0",  # [1,2]
    "WyJ4IiwiY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjIl0",  # ["x","ccc..."]
    "WzFlOTk5LCJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2MiXQ",  # [1e999,"ccc..."]
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_bad_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        session_history.parse_cursor(cursor)


def test_a_page_asks_the_store_for_one_session_more_than_it_shows() -> None:
    assert page(principal()).query.limit == session_history.DEFAULT_PAGE + 1
    made = page(principal(), limit="500")
    assert (made.size, made.query.limit) == (500, 501)
    for bad in ("0", "501", "-1", "1.5", "ten", "", " 5"):
        with pytest.raises(InvalidInput, match="limit"):
            page(principal(), limit=bad)


def test_who_sees_which_history() -> None:
    me, other = "a" * 32, "b" * 32
    own = page(principal()).query
    assert (own.agent_id, own.with_experts) == (me, True)  # started or invited into
    started = page(principal(), agent=me).query
    assert (started.agent_id, started.with_experts) == (me, False)
    with pytest.raises(Forbidden):
        page(principal(), agent=other)
    admin = page(principal("admin")).query
    assert (admin.agent_id, admin.with_experts) == (None, False)
    assert page(principal("admin"), agent=other).query.agent_id == other
    with pytest.raises(InvalidInput, match="agent"):
        page(principal("admin"), agent="nobody")


def test_history_filters_become_the_store_query() -> None:
    query = page(principal("admin"), q="  T-42 ", outcome="dropped", **{
        "from": "2026-01-01", "to": "2026-01-02"}).query  # fmt: skip
    assert query.reference == "T-42"
    assert query.outcome == "dropped"
    assert (query.since, query.until) == (JAN_1, JAN_1 + 2 * 86400)
    assert page(principal(), q="   ").query.reference is None
    for bad in ({"outcome": "won"}, {"from": "yesterday"}, {"to": "2026-02-30"},
                {"from": "2026-01-02", "to": "2026-01-01"}, {"q": "a\nb"}, {"q": "x" * 101},
                {"q": " " * 1025}):  # fmt: skip
        with pytest.raises(InvalidInput):
            page(principal(), **bad)
