"""Writing the audit log: who did what to whom, from where, and when."""

from __future__ import annotations

from dataclasses import dataclass

from livelens import clock
from livelens.store.records import AuditEvent, AuditValue, User, new_id
from livelens.store.repository import TenantStore


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a signed-in user, the CLI operator or the system."""

    name: str
    user_id: str | None = None
    ip: str | None = None

    @classmethod
    def of(cls, user: User, ip: str | None) -> Actor:
        return cls(user.email, user.id, ip)


CLI = Actor("cli")
SYSTEM = Actor("system")


async def record(
    scope: TenantStore,
    action: str,
    actor: Actor,
    target: str | None = None,
    **details: AuditValue,
) -> None:
    await scope.add_audit_event(
        AuditEvent(
            id=new_id(),
            tenant_id=scope.tenant_id,
            at=clock.now(),
            action=action,
            actor=actor.name,
            actor_id=actor.user_id,
            ip=actor.ip,
            target=target,
            details=dict(details),
        )
    )
