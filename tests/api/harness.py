"""A real LiveLens HTTP server in the test's event loop, and a cookie-keeping client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import bson
import pymongo
import pyotp
import tornado.httpclient
import tornado.httpserver
import tornado.netutil

from livelens import clock
from livelens.clock import ManualClock
from livelens.config import Settings
from livelens.http.app import MAX_BODY_BYTES, make_app
from livelens.identity.passwords import HashParameters, PasswordHashing
from livelens.media.aiortc_path import AiortcPath
from livelens.media.hub import MediaHub
from livelens.media.media_port import MediaPort
from livelens.media.relay import RelayKind
from livelens.server import open_derivation_key
from livelens.services import accounts, tasks
from livelens.services.audit import CLI
from livelens.services.context import Context
from livelens.store import open_store, sqlite_path
from livelens.store.encryption import MasterKeyring

# Hashing parameters cheap enough for hundreds of sign-ins per test run.
FAST_HASHING = HashParameters(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct-horse-42"


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: Any
    raw: bytes


@dataclass
class Client:
    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)
    send_xsrf: bool = True

    async def request(
        self, method: str, path: str, body: object = None, extra: dict[str, str] | None = None
    ) -> Response:
        """``extra``: more request headers (e.g. Range)."""
        headers = {"Content-Type": "application/json", **(extra or {})}
        if "_xsrf" not in self.cookies and method != "GET":
            await self.request("GET", "/api/me")  # a GET hands out the _xsrf cookie
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.send_xsrf and "_xsrf" in self.cookies:
            headers["X-XSRFToken"] = self.cookies["_xsrf"]
        data = None
        if method in ("POST", "PATCH", "PUT", "DELETE"):
            data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        request = tornado.httpclient.HTTPRequest(
            self.base_url + path,
            method=method,
            headers=headers,
            body=data,
            allow_nonstandard_methods=True,
            follow_redirects=False,
        )
        client = tornado.httpclient.AsyncHTTPClient()
        answer = await client.fetch(request, raise_error=False)
        for header in answer.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel.value == "" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        raw = answer.body or b""
        parsed = json.loads(raw) if raw and "json" in answer.headers.get("Content-Type", "") else {}
        return Response(answer.code, parsed, answer.headers, raw)

    async def get(self, path: str, extra: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, extra=extra)

    async def post(self, path: str, body: object = None) -> Response:
        return await self.request("POST", path, body)

    async def patch(self, path: str, body: object = None) -> Response:
        return await self.request("PATCH", path, body)

    async def delete(self, path: str) -> Response:
        return await self.request("DELETE", path)

    async def login(self, email: str, password: str = PASSWORD, otp: str | None = None) -> Response:
        body: dict[str, str] = {"email": email, "password": password}
        if otp is not None:
            body["otp"] = otp
        return await self.post("/api/auth/login", body)


@dataclass
class Server:
    ctx: Context
    clock: ManualClock
    base_url: str
    http: tornado.httpserver.HTTPServer
    hub: MediaHub

    def client(self) -> Client:
        return Client(self.base_url)

    async def tenant(self, name: str, admin: str) -> str:
        tenant, _ = await accounts.create_tenant(self.ctx, name, "eu", admin, PASSWORD, CLI)
        return tenant.id

    async def user(self, tenant_id: str, email: str, role: str = "agent") -> str:
        user = await accounts.create_user(self.ctx, tenant_id, email, role, PASSWORD, CLI)
        return user.id

    def stored_bytes(self) -> bytes:
        """Everything the store engine holds, as raw bytes, to look for leaked secrets."""
        url = self.ctx.settings.store_url
        if url.startswith("sqlite:"):
            db = Path(sqlite_path(url))
            return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url)
        try:
            database = client.get_default_database()
            return b"".join(
                bson.encode(doc)
                for name in database.list_collection_names()
                for doc in database[name].find()
            )
        finally:
            client.close()

    def totp_now(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(int(self.clock.now()))


async def start_server(
    data_dir: Path, store_url: str, relay: RelayKind = "fast", *, media_port: bool = False
) -> Server:
    """A running LiveLens; ``media_port``: media on the Rust-owned UDP port (an
    ephemeral one), as ``livelens serve`` runs it, instead of aiortc's own sockets with
    ``relay`` (the test oracle's path, where both relays can be compared)."""
    manual = ManualClock()
    clock.install(manual)
    settings = Settings(data_dir=data_dir, store_url=store_url)
    store = await open_store(store_url)
    keyring = MasterKeyring.load_or_create(settings.master_key_file)
    ctx = Context(
        store=store,
        keyring=keyring,
        settings=settings,
        derivation_key=await open_derivation_key(store, keyring),
        hashing=PasswordHashing(FAST_HASHING),
    )
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = MediaPort("127.0.0.1", 0, host_addresses=["127.0.0.1"]) if media_port else None
    hub = MediaHub(port or AiortcPath(host_addresses=["127.0.0.1"], relay=relay))
    http = tornado.httpserver.HTTPServer(make_app(ctx, hub), max_body_size=MAX_BODY_BYTES)
    http.add_sockets(sockets)
    http_port = sockets[0].getsockname()[1]
    return Server(ctx, manual, f"http://127.0.0.1:{http_port}", http, hub)


async def stop_server(server: Server) -> None:
    server.http.stop()
    await server.http.close_all_connections()
    await server.hub.close()
    if isinstance(server.hub.media, MediaPort):
        server.hub.media.close()  # the hub does not own it
    await tasks.drain()  # log rows still being written need the store
    await server.ctx.store.close()
    clock.install(clock.SystemClock())
