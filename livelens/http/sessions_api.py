"""Support sessions over HTTP: agents create and list them and give them new links;
customers join them."""

from __future__ import annotations

import asyncio

from tornado.http1connection import HTTP1Connection

from livelens.errors import InvalidInput, NotAuthenticated
from livelens.http import hosts, views
from livelens.http.base import BaseHandler, field_bool, field_str
from livelens.http.qr import qr_fields
from livelens.identity.roles import Permission
from livelens.services import branding, deletion, rating, security, session_history, support
from livelens.signalling import join
from livelens.store.records import SupportSession

JOIN_COOKIE = "livelens_join"
DEVICE_COOKIE = "livelens_device"


class UnknownHost(InvalidInput, code="unknown_host"): ...


async def returning_customer(handler: BaseHandler, *, ended: bool = False) -> SupportSession:
    """The session of the customer this browser is, from its join and device cookies,
    checked again (the bound device, and the end unless ``ended``) on every request.
    Only read: a customer coming back changes nothing."""
    ticket = handler.get_signed_cookie(JOIN_COOKIE, max_age_days=1)
    device = handler.get_signed_cookie(DEVICE_COOKIE, max_age_days=30)
    if ticket is None or device is None:
        await _bad_cookies(handler, ticket)
        raise NotAuthenticated("Open the link your support agent sent you.")
    tenant_id, _, session_id = ticket.decode().partition(".")
    return await support.customer_session(
        handler.ctx, tenant_id, session_id, device.decode(), handler.client_ip, ended=ended
    )


async def _bad_cookies(handler: BaseHandler, ticket: bytes | None) -> None:
    """Cookies that were set by us but no longer check out are worth a security event
    (none at all is just a page opened without joining): a join cookie without its
    device cookie names the session, hence the account; a join cookie whose signature
    fails names nothing that can be trusted."""
    ip = handler.client_ip
    if ticket is not None:
        tenant_id, _, session_id = ticket.decode().partition(".")
        await security.record(handler.ctx, "join.bad_cookie", ip, tenant_id or None,
                              session=session_id, cookie=DEVICE_COOKIE)  # fmt: skip
    elif handler.get_cookie(JOIN_COOKIE):
        await security.record(handler.ctx, "join.bad_cookie", ip, cookie=JOIN_COOKIE)


class _InvitingHandler(BaseHandler):
    """Hands an agent a session's join link, PIN and QR code."""

    async def write_invitation(
        self, base: str, invitation: support.Invitation, status: int
    ) -> None:
        # The token travels in the fragment: browsers never send it to a server,
        # so it cannot end up in access logs or Referer headers.
        join_url = f"{base}/join#{invitation.token}"
        # Drawing the QR code is ~10 ms of pure Python (segno scoring its masks): on a
        # worker thread the event loop gets the GIL back within its switch interval
        # instead of waiting out the whole drawing (benchmarks/control_plane: loop lag).
        qr = await asyncio.to_thread(qr_fields, join_url, scale=4)
        self.write_json(
            {
                "session": views.support_session(invitation.session, invitation.customer_name),
                "join_url": join_url,
                "pin": invitation.pin,
                **qr,
            },
            status=status,
        )

    def link_base(self) -> str:
        """Where customers reach this server: --public-url, or this request's Host when
        it names this server (see http/hosts.py), never a Host taken on trust."""
        settings = self.ctx.settings
        if settings.public_url:
            return settings.public_url.rstrip("/")
        names = hosts.configured_names(settings.host, settings.allowed_hosts)
        base = hosts.link_base(self.request.host, self.request.protocol, self._arrived_at(), names)
        if base is None:
            raise UnknownHost(
                "This request's Host header does not name this server, so no join link "
                "can be made from it. Open the console at the address the server printed "
                "at start, or have the operator set --public-url (or --allowed-hosts)."
            )
        return base

    def _arrived_at(self) -> tuple[str, int] | None:
        """The local address and port this request came in on."""
        connection = self.request.connection
        if not isinstance(connection, HTTP1Connection) or connection.stream.socket is None:
            return None
        local = connection.stream.socket.getsockname()
        return (str(local[0]), int(local[1])) if isinstance(local, tuple) else None


class SessionsHandler(_InvitingHandler):
    async def post(self) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        body = self.json_body() if self.request.body else {}  # every field is optional
        customer = field_str(body, "customer_name", optional=True)
        reference = field_str(body, "reference", optional=True)
        record = field_bool(body, "record")  # the agent's choice, where the policy leaves it
        base = self.link_base()  # before anything is created: a refusal leaves nothing
        created = await support.create(self.ctx, principal, self.client_ip, customer=customer,
                                       reference=reference, record=record)  # fmt: skip
        await self.write_invitation(base, created, 201)

    async def get(self) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        # Parameters as sent, not stripped: what is checked is what came.
        page = session_history.page(
            principal, lambda name: self.get_query_argument(name, None, strip=False)
        )
        scope = self.ctx.store.scoped(principal.tenant.id)
        found = await scope.list_support_sessions(page.query)
        sessions = found[: page.size]
        more = len(found) > page.size
        shown = [views.support_session(s, await support.customer_name(self.ctx, s))
                 for s in sessions]  # fmt: skip
        next_cursor = session_history.cursor_of(sessions[-1]) if more else None
        self.write_json({"sessions": shown, "next_cursor": next_cursor})


class SessionHandler(BaseHandler):
    async def get(self, session_id: str) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        session = await support.get_for_agent(self.ctx, principal, session_id)
        name = await support.customer_name(self.ctx, session)
        comment = await rating.comment(self.ctx, session)
        self.write_json({"session": views.support_session(session, name, comment)})

    async def delete(self, session_id: str) -> None:
        """Delete an ended session by crypto-shredding; the signed certificate."""
        principal = self.require_permission(Permission.RUN_SESSIONS)
        signed = await deletion.delete_session(self.ctx, self.rooms, principal, session_id,
                                               self.client_ip)  # fmt: skip
        self.write_json({"certificate": signed})


class SessionLinkHandler(_InvitingHandler):
    """A new join link and PIN for a session still waiting for its customer."""

    async def post(self, session_id: str) -> None:
        principal = self.require_permission(Permission.RUN_SESSIONS)
        base = self.link_base()  # before the old link is ended: a refusal changes nothing
        renewed = await support.renew_link(self.ctx, self.rooms, principal, session_id,
                                           self.client_ip)  # fmt: skip
        await self.write_invitation(base, renewed, 200)


class JoinHandler(BaseHandler):
    """A customer presents a join token or PIN; the device is bound and a join cookie set."""

    async def post(self) -> None:
        body = self.json_body()
        token = field_str(body, "token", optional=True) or None
        pin = field_str(body, "pin", optional=True) or None
        if (token is None) == (pin is None):
            raise InvalidInput("Give either the link's token or the PIN.")
        found = await support.locate(self.ctx, token=token, pin=pin, ip=self.client_ip)
        device = self._device_secret()
        joined = await support.customer_join(self.ctx, self.rooms, found, device, self.client_ip)
        secure = self.ctx.settings.uses_tls
        cookie = f"{found.tenant_id}.{found.session_id}"
        self.set_signed_cookie(JOIN_COOKIE, cookie, expires_days=None,
                               max_age=24 * 3600, httponly=True, secure=secure,
                               samesite="Strict", path="/")  # fmt: skip
        # The account's display name (else its name), accent colour and logo.
        brand = await branding.for_customer(self.ctx, found.tenant_id, joined.company)
        self.write_json(
            {
                "session": {"id": joined.session.id, "status": joined.session.status},
                "company": brand.name,
                "agent": joined.agent_name,
                "policy": joined.policy,  # what the page leaves out: chat, snapshots, ...
                # Whether it is recorded ("off", "asked", "always"): the consent screen says so.
                "recording": joined.session.recording,
                "brand": brand.view(),
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


class RatingHandler(BaseHandler):
    """The customer rates the session they joined, once, after it ended."""

    async def post(self) -> None:
        session = await returning_customer(self, ended=True)
        body = self.json_body()
        rated = await rating.rate(self.ctx, session, body.get("rating"), body.get("comment"),
                                  self.client_ip)  # fmt: skip
        self.write_json({"rating": rated.rating, "rated_at": rated.rated_at}, status=201)
