"""Who reads a report, and the report's rows fetched from the store in batches.

The rules (rows, CSV, the summary) are :mod:`.reports`'; this is the shell that reads.
Rows come oldest first, one batch of at most ``BATCH`` sessions at a time, each batch
asked for after the last session of the one before (keyset paging): a report of any
length holds one batch in memory, and the caller writes each out before asking for
the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from livelens.errors import Forbidden
from livelens.services import reports
from livelens.services.api_keys import KeyHolder
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.store.records import Outcome
from livelens.store.repository import SessionQuery

BATCH = 500


@dataclass(frozen=True)
class Reader:
    """Who asks for a report: an account's administrator or API key (the whole
    account), or an agent (the sessions they started)."""

    tenant_id: str
    agent_id: str | None  # None: every agent of the account

    @classmethod
    def of_user(cls, principal: Principal) -> Reader:
        """Administrators read the whole account. An agent reads the sessions they
        started, not those they were invited into: each session counts for one agent,
        the one who ran it, so an agent's report is their line of the account's."""
        admin = principal.user.role == "admin"
        return cls(principal.tenant.id, None if admin else principal.user.id)

    @classmethod
    def of_key(cls, holder: KeyHolder) -> Reader:
        return cls(holder.tenant.id, None)


@dataclass(frozen=True)
class Filters:
    """What a report is about: its days, and optionally one agent and one outcome."""

    days: reports.Days
    agent_id: str | None = None
    outcome: Outcome | None = None


def agent_for(reader: Reader, asked: str | None) -> str | None:
    """The agent whose sessions a report reads: the one asked for, within the reader's
    rights (an agent may ask for themselves only)."""
    if reader.agent_id is None:
        return asked
    if asked not in (None, reader.agent_id):
        raise Forbidden("Agents can report on their own sessions only.")
    return reader.agent_id


async def rows(
    ctx: Context, reader: Reader, filters: Filters, batch: int | None = None
) -> AsyncIterator[list[reports.Row]]:
    """The report's rows, oldest first, a batch (of ``BATCH`` unless told) at a time;
    tenant-scoped by the store."""
    batch = batch or BATCH
    scope = ctx.store.scoped(reader.tenant_id)
    agents = {user.id: user for user in await scope.list_users()}
    query = SessionQuery(
        agent_id=agent_for(reader, filters.agent_id),
        since=filters.days.since,
        until=filters.days.until,
        outcome=filters.outcome,
        oldest_first=True,
    )
    async for found in scope.stream_support_sessions(query, batch):
        yield [reports.row_of(session, agents) for session in found]


async def summary(
    ctx: Context, reader: Reader, filters: Filters, group: reports.Group
) -> reports.Summary:
    totals = reports.Summary(filters.days, group)
    async for batch in rows(ctx, reader, filters):
        totals.add(batch)
    return totals
