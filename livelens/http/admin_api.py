"""Account administration: users, policy and the audit log."""

from __future__ import annotations

from functools import partial
from typing import TypeVar

from livelens.errors import InvalidInput
from livelens.http import views
from livelens.http.base import SESSION_COOKIE, BaseHandler, field_bool, field_str
from livelens.identity.roles import Permission
from livelens.services import account_policy, accounts, deletion, subscription
from livelens.services.audit import Actor
from livelens.store.records import Tenant
from livelens.store.repository import TenantStore

MAX_AUDIT_PAGE = 500

T = TypeVar("T")


class UsersHandler(BaseHandler):
    async def get(self) -> None:
        principal = self.require_permission(Permission.MANAGE_USERS)
        users = await self.ctx.store.scoped(principal.tenant.id).list_users()
        locked = await accounts.seconds_locked(self.ctx, users)
        self.write_json({"users": [views.user_admin(u, locked.get(u.id, 0)) for u in users]})

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


class _UserAdmin(BaseHandler):
    """Something an administrator does to one user of their account."""

    async def on_user(self, action: accounts.UserAction[T], user_id: str) -> T:
        principal = self.require_permission(Permission.MANAGE_USERS)
        actor = Actor.of(principal.user, self.client_ip)
        return await action(self.ctx, principal.tenant.id, user_id, actor)

    def no_content(self) -> None:
        self.set_status(204)
        self.finish()


class UserHandler(_UserAdmin):
    async def patch(self, user_id: str) -> None:
        body = self.json_body()
        change = partial(
            accounts.update_user,
            role=field_str(body, "role") if "role" in body else None,
            disabled=field_bool(body, "disabled"),
            password=field_str(body, "password") if "password" in body else None,
        )
        user = await self.on_user(change, user_id)
        self.write_json({"user": views.user_admin(user)})

    async def delete(self, user_id: str) -> None:
        await self.on_user(accounts.delete_user, user_id)
        self.no_content()


class UserUnlockHandler(_UserAdmin):
    async def post(self, user_id: str) -> None:
        await self.on_user(accounts.unlock_user, user_id)
        self.no_content()


class UserSessionsRevokeHandler(_UserAdmin):
    async def post(self, user_id: str) -> None:
        self.write_json({"revoked": await self.on_user(accounts.revoke_sessions, user_id)})


class _AccountView(BaseHandler):
    async def write_account(self, tenant: Tenant) -> None:
        seats_used = await subscription.seats_used(self.ctx.store.scoped(tenant.id))
        self.write_json({"tenant": views.account(tenant, seats_used)})


class AccountHandler(_AccountView):
    async def get(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        await self.write_account(principal.tenant)

    async def delete(self) -> None:
        """Delete the whole account, confirmed by its name; the signed certificate."""
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        confirm = field_str(self.json_body(), "confirm")
        signed = await deletion.delete_account(self.ctx, self.rooms, principal, confirm,
                                               self.client_ip)  # fmt: skip
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.write_json({"certificate": signed})


class AccountPolicyHandler(_AccountView):
    """Partial updates: the policies named change, the others stay."""

    async def patch(self) -> None:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        wanted = account_policy.parse(self.json_body())
        actor = Actor.of(principal.user, self.client_ip)
        tenant = await account_policy.change(self.ctx, principal.tenant.id, actor, wanted)
        await self.write_account(tenant)


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
