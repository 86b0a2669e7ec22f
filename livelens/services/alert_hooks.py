"""An account's alert webhook, as its administrators manage it: set (or set anew, which
makes a new secret), see how deliveries went, send a test alert, remove it.

The signing secret is made by the server and shown once, when the hook is set; the
store keeps it sealed with the account's data key (it must be read back to sign, so
it cannot be hashed). Every change and test is in the audit log, with the URL's host
only (some receivers put a secret in the path).
"""

from __future__ import annotations

from livelens import clock
from livelens.errors import NotFound
from livelens.identity.roles import Permission, require
from livelens.services import alert_rules, alert_targets, audit
from livelens.services.alert_delivery import SECRET_PURPOSE, AlertDelivery
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.store.records import AlertHook, SecurityEvent, new_id
from livelens.store.repository import TenantStore


def _scope(ctx: Context, principal: Principal) -> TenantStore:
    require(principal.user.role, Permission.MANAGE_ACCOUNT)
    return ctx.store.scoped(principal.tenant.id)


async def current(ctx: Context, principal: Principal) -> AlertHook | None:
    return await _scope(ctx, principal).get_alert_hook()


async def set_hook(ctx: Context, principal: Principal, url: str, ip: str) -> tuple[AlertHook, str]:
    """Point the account's alerts at ``url`` with a new secret; the hook and the secret
    (shown this once). Counts start again."""
    scope = _scope(ctx, principal)
    checked = alert_targets.check_account_url(url, allow_private=ctx.settings.alert_hooks_private)
    secret = alert_rules.new_secret()
    cipher = ctx.cipher(principal.tenant)
    hook = AlertHook(
        tenant_id=scope.tenant_id,
        hook_id=new_id(),
        url=checked,
        secret=cipher.seal(secret.encode(), SECRET_PURPOSE),
        created_at=clock.now(),
        created_by=principal.user.id,
    )
    before = await scope.get_alert_hook()
    await scope.put_alert_hook(hook)
    await audit.record(scope, "alert_hook.set", Actor.of(principal.user, ip),
                       target=alert_targets.shown_host(checked),
                       replaced=before is not None)  # fmt: skip
    return hook, secret


async def remove(ctx: Context, principal: Principal, ip: str) -> None:
    scope = _scope(ctx, principal)
    hook = await scope.get_alert_hook()
    if hook is None or not await scope.delete_alert_hook():
        raise NotFound("This account has no alert webhook.")
    await audit.record(scope, "alert_hook.removed", Actor.of(principal.user, ip),
                       target=alert_targets.shown_host(hook.url))  # fmt: skip


async def send_test(ctx: Context, principal: Principal, ip: str) -> tuple[str | None, AlertHook]:
    """Send a test alert to the account's hook now, once; why it failed (None: it was
    taken), and the hook with its counts."""
    scope = _scope(ctx, principal)
    event = SecurityEvent(
        id=new_id(),
        at=clock.now(),
        kind=alert_rules.TEST_KIND,
        ip=None,
        tenant_id=scope.tenant_id,
        details={"note": "A test alert, sent from the LiveLens console."},
    )
    # A node runs one (server.serve); elsewhere (a script, a test) a short-lived one.
    delivery = ctx.alerts or AlertDelivery(ctx, allow_private=ctx.settings.alert_hooks_private)
    try:
        error = await delivery.send_test(scope.tenant_id, event)
    finally:
        if delivery is not ctx.alerts:
            await delivery.close()
    hook = await scope.get_alert_hook()
    if hook is None:
        raise NotFound("This account has no alert webhook.")
    await audit.record(scope, "alert_hook.tested", Actor.of(principal.user, ip),
                       target=alert_targets.shown_host(hook.url),
                       delivered=error is None)  # fmt: skip
    return error, hook
