"""The account's alert webhook over HTTP (administrators): see it and how deliveries
went, set it (the secret is in that answer only), remove it, send a test alert."""

from __future__ import annotations

from livelens.http.base import BaseHandler, field_str
from livelens.identity.roles import Permission
from livelens.services import alert_hooks, alert_rules
from livelens.store.records import AlertHook

# The view's fields, for the OpenAPI description (http/routes.py).
COUNTS = ("delivered", "failed", "abandoned", "dropped")
TIMES = ("created_at", "last_success_at", "last_error_at")


def hook_view(hook: AlertHook | None) -> dict[str, object]:
    """What administrators see of the hook (never its secret)."""
    if hook is None:
        return {"configured": False, "url": None}
    return {
        "configured": True,
        "url": hook.url,
        "created_at": hook.created_at,
        "created_by": hook.created_by,
        **{name: getattr(hook, name) for name in COUNTS},
        "last_success_at": hook.last_success_at,
        "last_error": hook.last_error,
        "last_error_at": hook.last_error_at,
        "signature_header": alert_rules.SIGNATURE_HEADER,
    }


class AlertHookHandler(BaseHandler):
    async def get(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        self.write_json(hook_view(await alert_hooks.current(self.ctx, principal)))

    async def put(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        url = field_str(self.json_body(), "url")
        hook, secret = await alert_hooks.set_hook(self.ctx, principal, url, self.client_ip)
        self.write_json({**hook_view(hook), "secret": secret})

    async def delete(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        await alert_hooks.remove(self.ctx, principal, self.client_ip)
        self.set_status(204)
        self.finish()


class AlertHookTestHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        error, hook = await alert_hooks.send_test(self.ctx, principal, self.client_ip)
        result = {"delivered": error is None, "error": error}
        self.write_json({**hook_view(hook), "result": result})
