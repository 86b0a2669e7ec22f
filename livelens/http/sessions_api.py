"""Support sessions over HTTP: agents create and list them; customers join them."""

from __future__ import annotations

from livelens.errors import InvalidInput, NotAuthenticated
from livelens.http import views
from livelens.http.base import BaseHandler, field_str
from livelens.http.qr import qr_fields
from livelens.identity.roles import Permission
from livelens.services import support
from livelens.signalling import join

JOIN_COOKIE = "livelens_join"
DEVICE_COOKIE = "livelens_device"


async def returning_customer(handler: BaseHandler) -> support.Joined:
    """The customer this browser is, from its join and device cookies, checked again
    against the session (expiry, the bound device) on every request."""
    ticket = handler.get_signed_cookie(JOIN_COOKIE, max_age_days=1)
    device = handler.get_signed_cookie(DEVICE_COOKIE, max_age_days=30)
    if ticket is None or device is None:
        raise NotAuthenticated("Open the link your support agent sent you.")
    tenant_id, _, session_id = ticket.decode().partition(".")
    return await support.customer_join(
        handler.ctx, tenant_id, session_id, device.decode(), handler.client_ip
    )


class SessionsHandler(BaseHandler):
    async def post(self) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        created = await support.create(self.ctx, principal, self.client_ip)
        base = self.ctx.settings.public_url or f"{self.request.protocol}://{self.request.host}"
        # The token travels in the fragment: browsers never send it to a server,
        # so it cannot end up in access logs or Referer headers.
        join_url = f"{base.rstrip('/')}/join#{created.token}"
        self.write_json(
            {
                "session": views.support_session(created.session),
                "join_url": join_url,
                "pin": created.pin,
                **qr_fields(join_url, scale=4),
            },
            status=201,
        )

    async def get(self) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        agent = None if principal.user.role == "admin" else principal.user.id
        sessions = await self.ctx.store.scoped(principal.tenant.id).list_support_sessions(
            agent_id=agent, limit=100, with_experts=True
        )
        self.write_json({"sessions": [views.support_session(s) for s in sessions]})


class SessionHandler(BaseHandler):
    async def get(self, session_id: str) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        session = await support.get_for_agent(self.ctx, principal, session_id)
        self.write_json({"session": views.support_session(session)})


class JoinHandler(BaseHandler):
    """A customer presents a join token or PIN; the device is bound and a join cookie set."""

    async def post(self) -> None:
        body = self.json_body()
        token = field_str(body, "token", optional=True) or None
        pin = field_str(body, "pin", optional=True) or None
        if (token is None) == (pin is None):
            raise InvalidInput("Give either the link's token or the PIN.")
        tenant_id, session_id = await support.locate(
            self.ctx, token=token, pin=pin, ip=self.client_ip
        )
        device = self._device_secret()
        joined = await support.customer_join(
            self.ctx, tenant_id, session_id, device, self.client_ip
        )
        self.rooms.customer_joined(joined.session)
        secure = self.ctx.settings.uses_tls
        self.set_signed_cookie(JOIN_COOKIE, f"{tenant_id}.{session_id}", expires_days=None,
                               max_age=24 * 3600, httponly=True, secure=secure,
                               samesite="Strict", path="/")  # fmt: skip
        self.write_json(
            {
                "session": {"id": joined.session.id, "status": joined.session.status},
                "company": joined.company,
                "agent": joined.agent_name,
            }
        )

    def _device_secret(self) -> str:
        raw = self.get_signed_cookie(DEVICE_COOKIE, max_age_days=30)
        if raw is not None:
            return raw.decode()
        secret = join.new_device_secret()
        self.set_signed_cookie(DEVICE_COOKIE, secret, expires_days=30, httponly=True,
                               secure=self.ctx.settings.uses_tls, samesite="Strict",
                               path="/")  # fmt: skip
        return secret
