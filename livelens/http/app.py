"""The Tornado application: routes, security settings and static files."""

from __future__ import annotations

from typing import Any

import tornado.web

from livelens.http import pages
from livelens.http.openapi import OpenApiHandler
from livelens.http.routes import ROUTES
from livelens.services.context import Context

WEBSOCKET_MAX_MESSAGE = 64 * 1024


def make_app(ctx: Context, **overrides: Any) -> tornado.web.Application:
    handlers: list[Any] = [(r"/", pages.ConsolePage)]
    handlers += [(route.tornado_pattern, route.handler) for route in ROUTES]
    handlers += [
        (r"/api/openapi\.json", OpenApiHandler),
        (r"/static/(.*)", pages.StaticFiles, {"path": str(ctx.settings.web_dir)}),
    ]
    settings: dict[str, Any] = {
        "livelens_context": ctx,
        "cookie_secret": ctx.derived_secret("cookies").hex(),
        "xsrf_cookies": True,
        "xsrf_cookie_kwargs": {
            "samesite": "Strict",
            "secure": ctx.settings.uses_tls,
            "path": "/",
        },
        "websocket_max_message_size": WEBSOCKET_MAX_MESSAGE,
        "default_handler_class": pages.NotFound,
        "compress_response": True,
        "serve_traceback": False,
    }
    settings.update(overrides)
    return tornado.web.Application(handlers, **settings)
