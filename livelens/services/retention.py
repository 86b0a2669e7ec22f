"""The retention job: session content past its account's retention (or 90 days after
its subscription ended, lifecycle.retention) is deleted as a deletion by hand is —
the session's key shredded, its items and recordings removed (services.deletion) —
while the session records stay for reports. Each account's share of a run is
recorded: in its audit log (``retention.content_deleted``) and at instance level (a
deletion record).

One node at a time runs it, under a lease in the store (services.leases). Every node
starts :func:`run_forever` at start-up; :func:`run_once` reads the time from
:mod:`livelens.clock`, so tests move the clock and call it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field

from livelens import clock
from livelens.lifecycle import retention
from livelens.services import audit, deletion, leases
from livelens.services.audit import SYSTEM
from livelens.services.context import Context
from livelens.store.records import Tenant

log = logging.getLogger("livelens.retention")

LEASE = "retention"
LEASE_SECONDS = 600.0  # renewed after every page of sessions
INTERVAL_SECONDS = 3600.0
PAGE = 100


@dataclass
class Run:
    """What one run deleted: sessions whose content went, and items, by account id."""

    sessions: dict[str, list[str]] = field(default_factory=dict)
    items: Counter[str] = field(default_factory=Counter)


async def run_once(ctx: Context, holder: str) -> Run | None:
    """One pass over every account, if this node holds the lease (else None)."""
    if not await leases.acquire(ctx.store, LEASE, holder, LEASE_SECONDS):
        return None
    done = Run()
    for tenant_id in await ctx.store.list_tenant_ids():
        tenant = await ctx.store.scoped(tenant_id).get_tenant()
        if tenant is not None and not await _account(ctx, tenant, holder, done):
            break  # the lease went to another node: it carries on
    if done.sessions:
        await ctx.store.forget_deleted()
    return done


async def _account(ctx: Context, tenant: Tenant, holder: str, done: Run) -> bool:
    """Delete the account's content that is due; False if the lease was lost."""
    now = clock.now()
    before, reason = retention.cutoff(tenant, now)
    scope = ctx.store.scoped(tenant.id)
    ids: list[str] = []
    counts: Counter[str] = Counter()
    after = None
    held = True
    while True:
        page = await scope.list_sessions_to_purge(before, PAGE, after)
        for session in page:
            if retention.due(session, now):
                counts.update(await deletion.remove_session(ctx, session, keep_record=True))
                ids.append(session.id)
        if len(page) < PAGE:
            break
        after = (page[-1].created_at, page[-1].id)
        held = await leases.acquire(ctx.store, LEASE, holder, LEASE_SECONDS)
        if not held:
            break
    if ids:
        totals = {kind: n for kind, n in counts.items() if n}
        await audit.record(scope, "retention.content_deleted", SYSTEM, target=None,
                           reason=reason, sessions=len(ids), **totals)  # fmt: skip
        await deletion.certify(ctx, "retention", tenant, {"sessions": len(ids), **totals},
                               SYSTEM, session_ids=tuple(ids))  # fmt: skip
        done.sessions[tenant.id] = ids
        done.items.update(totals)
    return held


async def run_forever(ctx: Context, holder: str | None = None) -> None:
    """Run the job every INTERVAL_SECONDS (the one real wait; the decisions are taken by
    the clock); a failed run is logged and the next one comes as usual."""
    holder = holder or leases.holder_id()
    while True:
        try:
            run = await run_once(ctx, holder)
            if run and run.sessions:
                log.info("retention: deleted the content of %d session(s) in %d account(s)",
                         sum(map(len, run.sessions.values())), len(run.sessions))  # fmt: skip
        except Exception:
            log.exception("retention run failed")
        await asyncio.sleep(INTERVAL_SECONDS)


def start(ctx: Context) -> asyncio.Task[None]:
    """The job as a task of this node, for the server to cancel when it stops."""
    return asyncio.ensure_future(run_forever(ctx))


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
