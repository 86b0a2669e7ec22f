"""The security log: anomalous traffic, with a hook for alerting.

Failed sign-ins, lockouts, bad join tokens, malformed signalling and rate-limit
hits land here. Events are instance-level (they often come before any account is
known) and carry the account when it is.
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
