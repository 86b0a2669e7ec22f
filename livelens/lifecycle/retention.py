"""Which session content the retention job deletes. No I/O.

An account keeps session content (chat, snapshots, notes, the customer's name and
rating comment) for its policy's ``retention_days``, counted from the session's
creation; 90 days after its subscription ended, it keeps none. Only content of
sessions that ended goes (or of sessions abandoned without an end: nothing runs for
two days), and the session records stay for reports.
"""

from __future__ import annotations

from typing import Literal

from livelens.services.subscription import ends_at
from livelens.store.records import SupportSession, Tenant

DAY = 86_400.0
AFTER_SUBSCRIPTION_DAYS = 90
ABANDONED_AFTER = 2 * DAY

Reason = Literal["retention", "subscription_ended"]


def cutoff(tenant: Tenant, now: float) -> tuple[float, Reason]:
    """Content of sessions created before the first value goes, and why."""
    ended = ends_at(tenant)
    if ended is not None and now >= ended + AFTER_SUBSCRIPTION_DAYS * DAY:
        return now, "subscription_ended"
    return now - tenant.retention_days * DAY, "retention"


def due(session: SupportSession, now: float) -> bool:
    """Whether a session's content may go once it is past the cutoff: it ended, or it was
    abandoned (no session runs this long; its room would have ended it)."""
    return session.status == "ended" or session.created_at < now - ABANDONED_AFTER
