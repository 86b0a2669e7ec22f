"""The console's HTML entry page and its static files, with the same headers as the API."""

from __future__ import annotations

import tornado.web

from livelens.http import security
from livelens.http.base import BaseHandler


class ConsolePage(BaseHandler):
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.render_file("index.html")

    def render_file(self, name: str) -> None:
        path = self.ctx.settings.web_dir / name
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(path.read_bytes())


class JoinPage(ConsolePage):
    """The customer's page: PIN entry, or joining straight from a link's fragment."""

    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.render_file("join.html")


class StaticFiles(tornado.web.StaticFileHandler):
    def set_default_headers(self) -> None:
        ctx = self.application.settings["livelens_context"]
        for name, value in security.headers(ctx.settings.uses_tls).items():
            self.set_header(name, value)
        self.clear_header("Server")  # as BaseHandler: Tornado's default gives away its version

    def set_extra_headers(self, path: str) -> None:
        # No build step means no content hashes in names: revalidate every time.
        self.set_header("Cache-Control", "no-cache")


class NotFound(BaseHandler):
    async def prepare(self) -> None:
        raise tornado.web.HTTPError(404, reason="Not found.")
