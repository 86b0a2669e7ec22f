"""The console's HTML entry page and its static files, with the same headers as the API."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping

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


# The customer's page speaks these (web/locales/<code>.json, web/i18n.js); English first,
# and the fallback for anything else.
LANGUAGES = ("en", "nl", "de", "fr", "es")
_MARKER = re.compile(r"\{\{([A-Za-z0-9_.]+)\}\}")


def pick_language(accept_language: str | None) -> str:
    """The supported language the browser prefers most (``Accept-Language``, with its
    q-values; ``nl-BE`` counts as ``nl``), else English. Ties go to the one listed first."""
    best, best_q = LANGUAGES[0], 0.0
    for part in (accept_language or "").split(","):
        tag, *params = part.split(";")
        code = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # malformed: not a preference
        if code in LANGUAGES and 0 < quality <= 1 and quality > best_q:
            best, best_q = code, quality
    return best


def render_join(template: str, catalogue: Mapping[str, str], language: str) -> str:
    """join.html with its ``{{lang}}`` and ``{{key}}`` markers filled in (HTML-escaped),
    so that the first paint, the title and the no-JavaScript message are in the
    customer's language before customer.js takes over."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        return language if key == "lang" else html.escape(catalogue.get(key, key))

    return _MARKER.sub(fill, template)


class JoinPage(ConsolePage):
    """The customer's page: PIN entry, or joining straight from a link's fragment."""

    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Vary", "Accept-Language")
        web = self.ctx.settings.web_dir
        language = pick_language(self.request.headers.get("Accept-Language"))
        english = json.loads((web / "locales" / "en.json").read_text("utf-8"))
        own = json.loads((web / "locales" / f"{language}.json").read_text("utf-8"))
        page = render_join((web / "join.html").read_text("utf-8"), {**english, **own}, language)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page.encode("utf-8"))


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
