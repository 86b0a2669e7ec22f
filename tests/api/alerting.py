"""A webhook receiver (a real HTTP server on 127.0.0.1), alerts delivered to it from a
test server, and the account actions that make or manage alerts."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from livelens.identity.lockout import MAX_FAILURES
from livelens.services.alert_delivery import AlertDelivery, Hook
from tests.api.harness import Client, Response, Server

INSTANCE_SECRET = "llwhsec_the-instance-hooks-test-secret"


@dataclass
class Received:
    path: str
    headers: tornado.httputil.HTTPHeaders
    body: bytes

    @property
    def alert(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Records every POST; answers each with the next status ``answers`` has for its path
    (200 once none is left)."""

    port: int = 0
    answers: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


class _Hook(tornado.web.RequestHandler):
    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def post(self, *_: str) -> None:
        request = self.request
        self.receiver.received.append(Received(request.path, request.headers, request.body))
        answers = self.receiver.answers.get(request.path)
        self.set_status(answers.pop(0) if answers else 200)
        self.finish("ok")


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = tornado.web.Application([(r"/(.*)", _Hook, {"receiver": receiver})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    http = tornado.httpserver.HTTPServer(app)
    http.add_sockets(sockets)
    receiver.port = sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        http.stop()
        await http.close_all_connections()


@asynccontextmanager
async def alerting(
    server: Server, receiver: Receiver, *, private: bool = True, **options: Any
) -> AsyncIterator[AlertDelivery]:
    """Alerts of ``server`` to the receiver: the instance's hook at /instance; accounts'
    hooks allowed on loopback over http:// (``private``). Retries wait their full delay
    (no jitter), so a test knows when they are due."""
    server.ctx.settings = dataclasses.replace(server.ctx.settings, alert_hooks_private=private)
    delivery = AlertDelivery(server.ctx, Hook(receiver.url("/instance"), INSTANCE_SECRET),
                             allow_private=private, jitter=lambda: 1.0, **options)  # fmt: skip
    server.ctx.alerts = delivery
    try:
        yield delivery
    finally:
        server.ctx.alerts = None
        await delivery.close()


async def put_hook(admin: Client, url: str) -> Response:
    return await admin.request("PUT", "/api/account/alert-hook", {"url": url})


async def set_hook(admin: Client, url: str) -> dict[str, Any]:
    answer = await put_hook(admin, url)
    assert answer.status == 200, answer.body
    return answer.body


async def lock_out(server: Server, email: str) -> None:
    """Fail sign-in on ``email`` until it is locked: an ``auth.locked`` alert."""
    client = server.client()
    for _ in range(MAX_FAILURES):
        assert (await client.login(email, "wrong-pass-1")).status == 401
