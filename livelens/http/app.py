"""The Tornado application: routes, security settings and static files."""

from __future__ import annotations

from typing import Any

import tornado.web

from livelens.http import pages
from livelens.http.openapi import OpenApiHandler
from livelens.http.routes import ROUTES
from livelens.http.signalling_ws import websocket_routes
from livelens.services.context import Context
from livelens.services.rooms import MediaHubLike, Rooms

# Above the protocol's 64 KiB limit, so an oversize message gets an error reply and
# the connection survives; far beyond it, Tornado cuts the connection itself.
WEBSOCKET_MAX_MESSAGE = 1024 * 1024
# Request bodies, server-wide; image uploads raise it for themselves once authorised.
MAX_BODY_BYTES = 1024 * 1024
WEBSOCKET_PING_SECONDS = 20  # and twice that without an answer closes the connection


def make_app(ctx: Context, hub: MediaHubLike, **overrides: Any) -> tornado.web.Application:
    handlers: list[Any] = [(r"/", pages.ConsolePage), (r"/join", pages.JoinPage)]
    handlers += [(route.tornado_pattern, route.handler) for route in ROUTES]
    handlers += websocket_routes()
    handlers += [
        (r"/api/openapi\.json", OpenApiHandler),
        (r"/static/(.*)", pages.StaticFiles, {"path": str(ctx.settings.web_dir)}),
    ]
    settings: dict[str, Any] = {
        "livelens_context": ctx,
        "livelens_rooms": Rooms(ctx, hub),
        "cookie_secret": ctx.derived_secret("cookies").hex(),
        "xsrf_cookies": True,
        "xsrf_cookie_kwargs": {
            "samesite": "Strict",
            "secure": ctx.settings.uses_tls,
            "path": "/",
        },
        "websocket_max_message_size": WEBSOCKET_MAX_MESSAGE,
        # A connection that died without a close (a phone out of coverage, a laptop
        # lid shut) is found within a minute: its participant's rejoin grace starts,
        # and an agent's console stops counting them as online.
        "websocket_ping_interval": WEBSOCKET_PING_SECONDS,
        "websocket_ping_timeout": 2 * WEBSOCKET_PING_SECONDS,
        "default_handler_class": pages.NotFound,
        "compress_response": True,
        "serve_traceback": False,
    }
    settings.update(overrides)
    return tornado.web.Application(handlers, **settings)
