"""What the control-plane benches drive the node with: a browser's cookies and source
address, its JSON calls and its signalling WebSocket, and arrivals at a steady rate.

Every person comes from an address of their own on loopback (127.0.0.0/8 is all on
``lo``), as they would over the internet, so the node's per-address limits (HTTP
connections per client, sign-in tries per address) see what they would see in use, not
one address holding thousands of connections.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any, TypeVar

import tornado.httpclient
import tornado.websocket

T = TypeVar("T")
REQUEST_TIMEOUT_S = 300.0  # a storm's queue may hold a request for long; it still counts

# Address blocks by kind of person: 127.<block>.x.y
CUSTOMERS, AGENTS, SIGN_INS = 16, 32, 48


def address(block: int, i: int) -> str:
    """The ``i``-th address of ``block`` (up to 65,533 of them)."""
    return str(ipaddress.IPv4Address(f"127.{block}.0.0") + 1 + i % 65533)


def use_many_connections() -> None:
    """Tornado's HTTP client queues past 10 requests at once by default."""
    tornado.httpclient.AsyncHTTPClient.configure(None, max_clients=2000)


class Browser:
    """One person's browser on the node: its cookies (sign-in, join, XSRF) and address."""

    def __init__(self, base_url: str, source: str) -> None:
        self.base_url, self.source = base_url, source
        self.cookies: dict[str, str] = {}

    def _headers(self) -> dict[str, str]:
        headers = {"Origin": self.base_url, "Content-Type": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if "_xsrf" in self.cookies:
            headers["X-XSRFToken"] = self.cookies["_xsrf"]
        return headers

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """An HTTP request: (status, the JSON body or {}). A first POST fetches the XSRF
        cookie first, as a page's first GET would have."""
        if method != "GET" and "_xsrf" not in self.cookies:
            await self.call("GET", "/api/me")
        answer = await tornado.httpclient.AsyncHTTPClient().fetch(
            tornado.httpclient.HTTPRequest(
                self.base_url + path,
                method=method,
                headers=self._headers(),
                body=None if method == "GET" else json.dumps(body or {}),
                network_interface=self.source,
                request_timeout=REQUEST_TIMEOUT_S,
                follow_redirects=False,
            ),
            raise_error=False,
        )
        for header in answer.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        is_json = "json" in answer.headers.get("Content-Type", "")
        return answer.code, json.loads(answer.body) if is_json and answer.body else {}

    async def socket(self, path: str) -> Socket:
        url = self.base_url.replace("http", "ws", 1) + path
        request = tornado.httpclient.HTTPRequest(
            url, headers=self._headers(), network_interface=self.source, request_timeout=60
        )
        return Socket(await tornado.websocket.websocket_connect(request))


class Socket:
    """A signalling WebSocket: protocol messages out, parsed messages in."""

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection) -> None:
        self.conn = conn
        self.pending: set[asyncio.Future[None]] = set()
        self.reader: asyncio.Task[None] | None = None

    def send(self, kind: str, **fields: object) -> None:
        write = asyncio.ensure_future(
            self.conn.write_message(json.dumps({"v": 1, "type": kind, **fields}))
        )
        self.pending.add(write)
        write.add_done_callback(self.pending.discard)

    async def receive(self) -> dict[str, Any] | None:
        raw = await self.conn.read_message()
        return None if raw is None else dict(json.loads(raw))

    async def until(
        self, kind: str, accept: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        """The next message of ``kind`` that ``accept``s, skipping the rest."""
        while True:
            message = await self.receive()
            if message is None:
                raise ConnectionError(f"closed while waiting for {kind}")
            if message["type"] == "error":
                raise RuntimeError(f"waiting for {kind}: {message}")
            if message["type"] == kind and accept(message):
                return message

    def listen(self, handle: Callable[[dict[str, Any]], None] = lambda _: None) -> None:
        """Read on in the background, handing each message to ``handle``. A socket must
        be read all along: the client stops reading the connection (and answering the
        node's pings, which then closes it) while a message waits to be read."""

        async def read() -> None:
            while (message := await self.receive()) is not None:
                handle(message)

        self.reader = asyncio.ensure_future(read())

    def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        self.conn.close()


async def paced(rate: float, count: int, start: Callable[[int], Awaitable[T]]) -> list[T]:
    """``start(k)`` for k < ``count``, one every 1/``rate`` s whether or not the earlier
    ones have finished (an open loop, as independent people arrive); their results."""
    loop = asyncio.get_running_loop()
    begun = loop.time()
    running: list[asyncio.Future[T]] = []
    for k in range(count):
        delay = begun + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        running.append(asyncio.ensure_future(start(k)))
    return list(await asyncio.gather(*running))


def now_ns() -> int:
    """CLOCK_MONOTONIC in ns: one clock for every process on the machine."""
    return time.monotonic_ns()
