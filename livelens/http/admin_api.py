"""Account administration: users, policy and the audit log."""

from __future__ import annotations

from livelens.errors import InvalidInput
from livelens.http import views
from livelens.http.base import BaseHandler, field_bool, field_str
from livelens.identity.roles import Permission
from livelens.services import accounts
from livelens.services.audit import Actor
from livelens.store.repository import TenantStore

MAX_AUDIT_PAGE = 500


class UsersHandler(BaseHandler):
    async def get(self) -> None:
        principal = self.require_permission(Permission.MANAGE_USERS)
        users = await self.ctx.store.scoped(principal.tenant.id).list_users()
        self.write_json({"users": [views.user_admin(u) for u in users]})

    async def post(self) -> None:
        principal = self.require_permission(Permission.MANAGE_USERS)
        body = self.json_body()
        user = await accounts.create_user(
            self.ctx,
            principal.tenant.id,
            field_str(body, "email"),
            field_str(body, "role"),
            field_str(body, "password"),
            Actor.of(principal.user, self.client_ip),
            display_name=field_str(body, "display_name", optional=True) or None,
        )
        self.write_json({"user": views.user_admin(user)}, status=201)


class UserHandler(BaseHandler):
    async def patch(self, user_id: str) -> None:
        principal = self.require_permission(Permission.MANAGE_USERS)
        body = self.json_body()
        role = field_str(body, "role") if "role" in body else None
        password = field_str(body, "password") if "password" in body else None
        user = await accounts.update_user(
            self.ctx,
            principal.tenant.id,
            user_id,
            Actor.of(principal.user, self.client_ip),
            role=role,
            disabled=field_bool(body, "disabled"),
            password=password,
        )
        self.write_json({"user": views.user_admin(user)})

    async def delete(self, user_id: str) -> None:
        principal = self.require_permission(Permission.MANAGE_USERS)
        actor = Actor.of(principal.user, self.client_ip)
        await accounts.delete_user(self.ctx, principal.tenant.id, user_id, actor)
        self.set_status(204)
        self.finish()


class UserSessionsRevokeHandler(BaseHandler):
    async def post(self, user_id: str) -> None:
        principal = self.require_permission(Permission.MANAGE_USERS)
        actor = Actor.of(principal.user, self.client_ip)
        revoked = await accounts.revoke_sessions(self.ctx, principal.tenant.id, user_id, actor)
        self.write_json({"revoked": revoked})


class AccountHandler(BaseHandler):
    async def get(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        self.write_json({"tenant": views.tenant(principal.tenant)})


class AccountPolicyHandler(BaseHandler):
    async def patch(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        require_totp = field_bool(self.json_body(), "require_totp")
        if require_totp is None:
            raise InvalidInput("Field 'require_totp' is required.")
        tenant = await accounts.set_policy(
            self.ctx,
            principal.tenant.id,
            Actor.of(principal.user, self.client_ip),
            require_totp=require_totp,
        )
        self.write_json({"tenant": views.tenant(tenant)})


class LogHandler(BaseHandler):
    """A page of one of the account's logs, newest first (administrators)."""

    async def get(self) -> None:
        principal = self.require_permission(Permission.VIEW_AUDIT)
        scope = self.ctx.store.scoped(principal.tenant.id)
        self.write_json({"events": await self.events(scope, self.page_limit())})

    async def events(self, scope: TenantStore, limit: int) -> list[dict[str, object]]:
        raise NotImplementedError

    def page_limit(self) -> int:
        try:
            limit = int(self.get_query_argument("limit", "100"))
        except ValueError as exc:
            raise InvalidInput("'limit' must be a whole number.") from exc
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise InvalidInput(f"'limit' must be between 1 and {MAX_AUDIT_PAGE}.")
        return limit


class AuditHandler(LogHandler):
    async def events(self, scope: TenantStore, limit: int) -> list[dict[str, object]]:
        return [views.audit_event(e) for e in await scope.list_audit_events(limit)]


class SecurityLogHandler(LogHandler):
    async def events(self, scope: TenantStore, limit: int) -> list[dict[str, object]]:
        return [views.security_event(e) for e in await scope.list_security_events(limit)]
