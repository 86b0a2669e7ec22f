"""What anyone may know of the instance's deletion certificates: the public key that
signs them (services.signing, lifecycle.certificate)."""

from __future__ import annotations

from livelens.http.base import BaseHandler
from livelens.lifecycle import certificate
from livelens.services import signing


class SigningKeyHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json({**await signing.public_view(self.ctx), "format": certificate.FORMAT})
