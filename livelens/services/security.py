"""The security log: anomalous traffic, with a hook for alerting.

Failed sign-ins, lockouts, bad join tokens, malformed signalling and rate-limit
hits land here. Each carries the account when one is known (a join refused for a
known session belongs to the session's account, whose administrators see it); the
rest (a wrong PIN or token names no account) are the instance operator's, listed
by ``livelens security-log``. Those worth an alert (alert_rules.is_alert) also go to
the instance's webhook and their account's (services.alert_delivery).
"""

from __future__ import annotations

import logging

from livelens import clock
from livelens.services.alert_syslog import EVENT_ATTRIBUTE, LOGGER
from livelens.services.context import Context
from livelens.store.records import AuditValue, SecurityEvent, new_id

# Operators route this logger to their alerting (syslog, SIEM; --syslog does). The line
# has the kind, address and account; syslog also the details, as the security log keeps
# them: never tokens, PINs, passwords or e-mail addresses.
alerts = logging.getLogger(LOGGER)


async def record(
    ctx: Context, kind: str, ip: str | None, tenant_id: str | None = None, **details: AuditValue
) -> None:
    """Log the event (syslog too, when configured: services.alert_syslog), queue it for
    the alert webhooks if it is an alert (services.alert_delivery; this never waits),
    and store it. Alerts go out even when the store is unavailable."""
    event = SecurityEvent(id=new_id(), at=clock.now(), kind=kind, ip=ip, tenant_id=tenant_id,
                          details=dict(details))  # fmt: skip
    alerts.warning("security event %s from %s (account %s)", kind, ip or "-", tenant_id or "-",
                   extra={EVENT_ATTRIBUTE: event})  # fmt: skip
    if ctx.alerts is not None:
        ctx.alerts.submit(event)
    await ctx.store.add_security_event(event)
