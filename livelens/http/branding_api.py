"""The branding of the customer page over HTTP: administrators set the display name,
accent colour and logo of their account; a customer's browser fetches the logo of the
account whose session it joined (its join and device cookies), and nothing else: no
logo is served by account id to anyone who has not joined a session of that account.
"""

from __future__ import annotations

from livelens.http.base import BaseHandler
from livelens.http.sessions_api import returning_customer
from livelens.identity.roles import Permission
from livelens.services import branding, logo_images
from livelens.services.audit import Actor
from livelens.store.records import Branding

# The logo's URLs carry its version (services.branding.logo_version): a new logo is a
# new URL, so browsers may keep one for a day without ever showing an old one.
LOGO_CACHE = "private, max-age=86400"


class _LogoWriter(BaseHandler):
    def write_logo(self, found: Branding) -> None:
        data, media_type = branding.logo_of(found)
        self.set_header("Content-Type", media_type)
        self.set_header("Cache-Control", LOGO_CACHE)
        self.finish(data)


class _BrandingAdmin(_LogoWriter):
    def admin(self) -> tuple[str, Actor]:
        principal = self.require_permission(Permission.MANAGE_ACCOUNT)
        return principal.tenant.id, Actor.of(principal.user, self.client_ip)

    async def current(self) -> Branding:
        """The account's branding, for its administrators."""
        tenant_id, _ = self.admin()
        return await branding.get(self.ctx.store.scoped(tenant_id))

    def write_branding(self, found: Branding) -> None:
        principal = self.require_principal()
        self.write_json({"branding": branding.admin_view(found, principal.tenant.name)})


class BrandingHandler(_BrandingAdmin):
    async def get(self) -> None:
        self.write_branding(await self.current())

    async def put(self) -> None:
        tenant_id, actor = self.admin()
        wanted = branding.parse(self.json_body())
        self.write_branding(await branding.change(self.ctx, tenant_id, actor, wanted))


class BrandingLogoHandler(_BrandingAdmin):
    """The logo itself: its image (GET), a new one as the raw PNG or JPEG body (PUT)."""

    async def get(self) -> None:
        self.write_logo(await self.current())

    async def put(self) -> None:
        tenant_id, actor = self.admin()
        logo_images.check_size(len(self.request.body))
        self.write_branding(await branding.set_logo(self.ctx, tenant_id, actor, self.request.body))

    async def delete(self) -> None:
        tenant_id, actor = self.admin()
        self.write_branding(await branding.remove_logo(self.ctx, tenant_id, actor))


class CustomerLogoHandler(_LogoWriter):
    """The logo of the account whose session this browser joined (also after its end)."""

    async def get(self) -> None:
        session = await returning_customer(self, ended=True)
        self.write_logo(await branding.get(self.ctx.store.scoped(session.tenant_id)))
