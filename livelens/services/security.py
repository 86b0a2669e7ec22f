"""The security log: anomalous traffic, with a hook for alerting.

Failed sign-ins, lockouts, bad join tokens, malformed signalling and rate-limit
hits land here. Each carries the account when one is known (a join refused for a
known session belongs to the session's account, whose administrators see it); the
rest (a wrong PIN or token names no account) are the instance operator's, listed
by ``livelens security-log``.
"""

from __future__ import annotations

import logging

from livelens import clock
from livelens.services.context import Context
from livelens.store.records import AuditValue, SecurityEvent, new_id

# Operators route this logger to their alerting (syslog, SIEM). Only the kind,
# address and account are logged: never tokens, PINs, passwords or e-mail addresses.
alerts = logging.getLogger("livelens.security")


async def record(
    ctx: Context, kind: str, ip: str | None, tenant_id: str | None = None, **details: AuditValue
) -> None:
    await ctx.store.add_security_event(
        SecurityEvent(id=new_id(), at=clock.now(), kind=kind, ip=ip, tenant_id=tenant_id,
                      details=dict(details))
    )  # fmt: skip
    alerts.warning("security event %s from %s (account %s)", kind, ip or "-", tenant_id or "-")
