"""Running a node: open the store and keys, serve HTTPS (or HTTP on loopback)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import ssl
from dataclasses import replace

import tornado.httpserver
import tornado.netutil

from livelens.config import Settings, is_loopback
from livelens.http import tls
from livelens.http.app import MAX_BODY_BYTES, make_app
from livelens.media.hub import MediaHub
from livelens.services.context import Context
from livelens.store import open_store
from livelens.store.encryption import MasterKeyring

log = logging.getLogger("livelens")


async def open_context(settings: Settings) -> Context:
    store = await open_store(settings.store_url)
    keyring = MasterKeyring.load_or_create(settings.master_key_file, settings.master_key)
    return Context(store=store, keyring=keyring, settings=settings)


def _tls(settings: Settings) -> tuple[Settings, ssl.SSLContext | None, str | None]:
    """Settings with the certificate in use, its SSL context, and a note for the operator."""
    if settings.tls_cert and settings.tls_key:
        return settings, tls.server_context(settings.tls_cert, settings.tls_key), None
    if is_loopback(settings.host):
        return settings, None, None
    cert, key = tls.ensure_self_signed(settings.data_dir / "tls", settings.host)
    note = (
        f"No certificate given for {settings.host}: using a self-signed one ({cert}). "
        "Browsers will warn; pass --tls-cert/--tls-key for a trusted certificate."
    )
    settings = replace(settings, tls_cert=cert, tls_key=key)
    return settings, tls.server_context(cert, key), note


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    settings, ssl_context, tls_note = _tls(settings)
    ctx = await open_context(settings)
    try:
        sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
        hub = MediaHub(host_addresses=media_addresses(settings))
        server = tornado.httpserver.HTTPServer(
            make_app(ctx, hub), ssl_options=ssl_context, max_body_size=MAX_BODY_BYTES
        )
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        scheme = "https" if ssl_context else "http"
        shown_host = "localhost" if is_loopback(settings.host) else settings.host
        url = settings.public_url or f"{scheme}://{shown_host}:{port}/"
        print(f"LiveLens is running at {url}", flush=True)
        if tls_note:
            print(tls_note, flush=True)
        if not await ctx.store.list_tenant_ids():
            print(first_run_hint(settings), flush=True)
        else:
            print("Sign in with the e-mail and password of an administrator or agent.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
        print("LiveLens is shutting down.", flush=True)
        server.stop()
        await server.close_all_connections()
        await hub.close()
    finally:
        await ctx.store.close()


def media_addresses(settings: Settings) -> list[str] | None:
    """ICE host candidates to offer: loopback for a loopback server, else every address."""
    if is_loopback(settings.host):
        return ["127.0.0.1"]
    try:
        address = ipaddress.ip_address(settings.host)
    except ValueError:
        return None  # a host name: offer the machine's addresses
    return None if address.is_unspecified else [settings.host]


def first_run_hint(settings: Settings) -> str:
    where = f"--data-dir {settings.data_dir}"
    return (
        "This LiveLens has no account yet. Create the first one (and its administrator):\n"
        f"  livelens tenant create {where} --name 'My Company' --region {settings.region} "
        "--admin-email admin@example.com --admin-password -\n"
        "('-' reads the password from standard input.) Then sign in with that e-mail "
        "and password."
    )
