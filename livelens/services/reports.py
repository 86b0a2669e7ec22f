"""Reports on support sessions: the rules, with no I/O.

A report covers whole days in UTC, ``first`` to ``last`` included, and reads the
sessions created in them (services.report_feed fetches them from the store in batches
and hands them here). Each session becomes a :class:`Row`: what the CSV export has in
its columns and the JSON export in its objects. The summary (:class:`Summary`) is
accumulated over the rows as they come, in memory bounded by the number of agents,
periods and distinct durations in whole seconds, never by the number of sessions.

What a report leaves out: the customer's name (personal data, sealed at rest: an
export would be an unsealed copy beyond the account's deletion and retention rules;
the case reference links a session to the helpdesk that knows the customer) and the
customer's rating comment (their own words, sealed like chat).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args

from livelens.errors import InvalidInput
from livelens.store.records import Outcome, SupportSession, User

MAX_DAYS = 366  # the longest report: a (leap) year
Group = Literal["day", "week", "month"]
GROUPS: tuple[Group, ...] = get_args(Group)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The export's columns, in order; tools read them by these names.
COLUMNS = (
    "session_id",
    "reference",
    "agent_id",
    "agent",  # the agent's e-mail address ("" once the user is deleted)
    "agent_name",
    "created_at",  # when the agent made the session (its link)
    "joined_at",  # when the customer first opened it
    "started_at",  # when the customer's camera went live
    "ended_at",
    "duration_s",  # live time: ended_at - started_at, whole seconds
    "join_wait_s",  # from the link to the customer's join, whole seconds
    "outcome",  # completed, declined, expired, dropped; "" while it runs
    "ended_by",  # agent, customer or system
    "experts",  # how many agents were invited in
    "rating",  # the customer's rating, 1 to 5, if they gave one
)
Cell = str | int | None
TIME_COLUMNS = frozenset(("created_at", "joined_at", "started_at", "ended_at"))

# What a spreadsheet may take for the start of a formula (OWASP's list, with the
# full-width forms some spreadsheets read the same way): such a cell gets a leading '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def parse_day(text: str, name: str) -> date:
    """A day written YYYY-MM-DD; InvalidInput naming the parameter otherwise."""
    if not _DAY.fullmatch(text):
        raise InvalidInput(f"{name!r} must be a date written YYYY-MM-DD, got {text[:40]!r}.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name!r} is not a date of the calendar: {text}.") from None


def day_start(day: date) -> float:
    """The first moment of ``day`` in UTC, in seconds since the epoch."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Days:
    """Whole days in UTC, ``first`` to ``last`` included."""

    first: date
    last: date

    @property
    def since(self) -> float:
        return day_start(self.first)

    @property
    def until(self) -> float:
        """The end, excluded: the start of the day after ``last``."""
        return day_start(self.last) + 86400.0

    @property
    def count(self) -> int:
        return (self.last - self.first).days + 1


def days(first: str, last: str, max_days: int | None = MAX_DAYS) -> Days:
    """The days from ``first`` to ``last`` (the ``from`` and ``to`` parameters), both
    included; at most ``max_days`` of them."""
    span = Days(parse_day(first, "from"), parse_day(last, "to"))
    if span.last < span.first:
        raise InvalidInput(f"'to' ({last}) is before 'from' ({first}).")
    if max_days is not None and span.count > max_days:
        raise InvalidInput(
            f"A report covers at most {max_days} days; {first} to {last} is {span.count}."
        )
    return span


def parse_group(text: str) -> Group:
    for group in GROUPS:
        if text == group:
            return group
    raise InvalidInput(f"'group' must be one of: {', '.join(GROUPS)}.")


def parse_outcome(text: str) -> Outcome:
    for outcome in OUTCOMES:
        if text == outcome:
            return outcome
    raise InvalidInput(f"'outcome' must be one of: {', '.join(OUTCOMES)}.")


def iso(at: float | None) -> str | None:
    """A moment as ISO 8601 in UTC, to the second: ``2026-01-31T09:05:00Z``."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(start: float | None, end: float | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round(end - start))


@dataclass(frozen=True)
class Row:
    """One session as a report shows it."""

    session_id: str
    reference: str | None
    agent_id: str
    agent: str
    agent_name: str
    created_at: float
    joined_at: float | None
    started_at: float | None
    ended_at: float | None
    outcome: Outcome | None
    ended_by: str | None
    experts: int
    rating: int | None

    @property
    def duration_s(self) -> int | None:
        return _seconds(self.started_at, self.ended_at)

    @property
    def join_wait_s(self) -> int | None:
        return _seconds(self.created_at, self.joined_at)

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.created_at, UTC).date()

    def cells(self) -> dict[str, Cell]:
        """The row by column name, times in ISO 8601 UTC: the JSON export's object."""
        cells: dict[str, Cell] = {}
        for column in COLUMNS:
            value = getattr(self, column)
            cells[column] = iso(value) if column in TIME_COLUMNS else value
        return cells


def row_of(session: SupportSession, agents: Mapping[str, User]) -> Row:
    """``session`` as a report row; ``agents``: the account's users by id."""
    agent = agents.get(session.agent_id)
    return Row(
        session_id=session.id,
        reference=session.reference,
        agent_id=session.agent_id,
        agent=agent.email if agent else "",
        agent_name=agent.shown_name if agent else "",
        created_at=session.created_at,
        joined_at=session.joined_at,
        started_at=session.live_at,
        ended_at=session.ended_at,
        outcome=session.outcome,
        ended_by=session.ended_by,
        experts=len(session.experts),
        rating=session.rating,
    )


def safe_cell(value: Cell) -> str:
    """A cell's text, made inert for spreadsheets: one that could start a formula gets
    a leading ``'`` (which spreadsheets show as text and do not evaluate)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(rows: Iterable[Row], *, header: bool = False) -> str:
    """Rows as CSV lines (RFC 4180: CRLF, quoted where needed), every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    for row in rows:
        cells = row.cells()
        writer.writerow([safe_cell(cells[name]) for name in COLUMNS])
    return out.getvalue()


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of values given as value -> how many times, by linear
    interpolation between the closest ranks (as ``statistics.quantiles`` with
    ``method="inclusive"``); None for no values."""
    total = sum(counts.values())
    if total == 0:
        return None
    position = q * (total - 1)
    below = int(position)
    fraction = position - below
    lower = upper = None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if lower is None and seen > below:
            lower = value
        if seen > below + (1 if fraction else 0):
            upper = value
            break
    assert lower is not None and upper is not None
    return lower + (upper - lower) * fraction


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Tally:
    """Counts over some of a report's rows: an agent's, a period's, or all of them."""

    sessions: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    durations: Counter[int] = field(default_factory=Counter)  # whole seconds -> sessions
    waits: Counter[int] = field(default_factory=Counter)
    rating_sum: int = 0
    ratings: int = 0

    def add(self, row: Row) -> None:
        self.sessions += 1
        self.outcomes[row.outcome or "open"] += 1
        if row.duration_s is not None:
            self.durations[row.duration_s] += 1
        if row.join_wait_s is not None:
            self.waits[row.join_wait_s] += 1
        if row.rating is not None:
            self.rating_sum += row.rating
            self.ratings += 1

    def view(self) -> dict[str, object]:
        """``outcomes`` counts every outcome and ``open`` (not ended yet); durations of
        the sessions that went live and ended; ``rating``: null average without any."""
        return {
            "sessions": self.sessions,
            "outcomes": {name: self.outcomes[name] for name in (*OUTCOMES, "open")},
            "duration_s": {
                "median": _rounded(quantile(self.durations, 0.5)),
                "p90": _rounded(quantile(self.durations, 0.9)),
                "count": sum(self.durations.values()),
            },
            "join_wait_s": {"median": _rounded(quantile(self.waits, 0.5))},
            "rating": {
                "average": round(self.rating_sum / self.ratings, 2) if self.ratings else None,
                "count": self.ratings,
            },
        }


def period_start(day: date, group: Group) -> date:
    """The first day of the period ``day`` is in: itself, its week's Monday (ISO 8601
    weeks) or the first of its month."""
    if group == "week":
        return day - timedelta(days=day.weekday())
    if group == "month":
        return day.replace(day=1)
    return day


def _next_period(start: date, group: Group) -> date:
    if group == "week":
        return start + timedelta(days=7)
    if group == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class _Agent:
    agent_id: str
    agent: str
    agent_name: str


class Summary:
    """Sessions per agent and per period, outcomes, durations and ratings over a report's
    rows, fed batch by batch (:meth:`add`); every period of the days is listed, those
    without sessions too, each named by its first day (which, for weeks and months, may
    lie before ``days.first``)."""

    def __init__(self, span: Days, group: Group) -> None:
        self.span = span
        self.group = group
        self.total = Tally()
        self.agents: dict[_Agent, Tally] = {}
        self.periods: dict[date, Tally] = {}
        start = period_start(span.first, group)
        while start <= span.last:
            self.periods[start] = Tally()
            start = _next_period(start, group)

    def add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.total.add(row)
            agent = _Agent(row.agent_id, row.agent, row.agent_name)
            self.agents.setdefault(agent, Tally()).add(row)
            period = self.periods.get(period_start(row.day, self.group))
            if period is not None:  # a row outside the days would be the caller's mistake
                period.add(row)

    def view(self) -> dict[str, object]:
        """The summary as the API answers it; agents with the most sessions first."""
        by_count = sorted(
            self.agents.items(),
            key=lambda item: (-item[1].sessions, item[0].agent, item[0].agent_id),
        )
        return {
            "from": self.span.first.isoformat(),
            "to": self.span.last.isoformat(),
            "group": self.group,
            "total": self.total.view(),
            "agents": [
                {
                    "agent_id": a.agent_id,
                    "agent": a.agent,
                    "agent_name": a.agent_name,
                    **tally.view(),
                }
                for a, tally in by_count
            ],
            "periods": [
                {"period": start.isoformat(), **tally.view()}
                for start, tally in self.periods.items()
            ],
        }
