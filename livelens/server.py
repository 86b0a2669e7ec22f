"""Running a node: open the store and keys, serve HTTPS (or HTTP on loopback)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import shlex
import shutil
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import tornado.netutil
from aioice.ice import get_host_addresses

from livelens import private_files
from livelens.config import Settings, is_loopback
from livelens.errors import LiveLensError
from livelens.http import connections, tls
from livelens.http.app import MAX_BODY_BYTES, make_app
from livelens.media.addresses import public_web_port
from livelens.media.hub import MediaHub, MediaPath
from livelens.media.media_port import MediaPort
from livelens.services import alert_delivery, export, retention, tasks
from livelens.services.context import Context
from livelens.store import SQLITE_PREFIX, open_store, sqlite_path
from livelens.store.encryption import DecryptionError, MasterKeyring
from livelens.store.repository import Store

log = logging.getLogger("livelens")


async def open_context(settings: Settings) -> Context:
    store = await open_store(settings.store_url)
    try:
        keyring = MasterKeyring.load_or_create(settings.master_key_file, settings.master_key)
        derivation_key = await open_derivation_key(store, keyring)
    except BaseException:
        await store.close()
        raise
    return Context(store=store, keyring=keyring, settings=settings, derivation_key=derivation_key)


async def open_derivation_key(store: Store, keyring: MasterKeyring) -> bytes:
    """The instance's derivation key. The first start stores the current master key's
    bytes, which is what secrets were derived from before the key had a place of its
    own, so cookies, join links and PINs of an upgraded instance stay valid."""
    wrapped = await store.derivation_key(keyring.wrap_derivation_key(keyring.current_key()))
    try:
        return keyring.unwrap_derivation_key(wrapped)
    except DecryptionError as exc:
        why = (
            "is not in the keyring"
            if wrapped.master_key_id not in keyring.key_ids
            else "does not open it (a different key under that id?)"
        )
        raise LiveLensError(
            f"Cannot open the instance's derivation key: master key {wrapped.master_key_id}, "
            f"which sealed it, {why}. Check LIVELENS_MASTER_KEY or the key file."
        ) from exc


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


async def serve(
    settings: Settings,
    ready: asyncio.Event | None = None,
    *,
    media: Callable[[Settings], MediaPath] | None = None,
) -> None:
    """Run the node until SIGINT/SIGTERM. Its media is the Rust media port
    (:func:`open_media_port`); ``media`` makes another path instead, which only the
    benchmarks' baseline does (``benchmarks/baseline_server.py``)."""
    limits = connections.limits_for(settings, connections.raise_descriptor_limit())
    settings, ssl_context, tls_note = _tls(settings)
    ctx = await open_context(settings)
    try:
        stop_alerts = alert_delivery.start(ctx)  # webhooks and syslog (--alert-webhook...)
        for line in private_files.warnings(settings.data_dir, store_files(settings)):
            log.warning("%s", line)
        shared = media is None and shares_web_port(settings, tls=ssl_context is not None)
        if shared:  # the media port owns the web port's listeners and hands web ones over
            sockets = []
            node_media: MediaPath = open_media_port(settings, web_hosts=web_hosts(settings.host))
        else:
            sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
            node_media = (media or open_media_port)(settings)
        hub = MediaHub(node_media)
        server = connections.LimitedHTTPServer(
            make_app(ctx, hub),
            limits=limits,
            ssl_options=ssl_context,
            max_body_size=MAX_BODY_BYTES,
        )
        log.info(
            "HTTP: up to %d connections, %s per client address; %g s for a request head, "
            "%g s idle, %g s for a body",
            limits.max_connections,
            limits.per_client or "any number",
            limits.header_timeout,
            limits.idle_timeout,
            limits.body_timeout,
        )
        server.add_sockets(sockets)
        if isinstance(node_media, MediaPort) and node_media.web_port is not None:
            node_media.on_web_connection(server.adopt)
            port = node_media.web_port
        else:
            port = sockets[0].getsockname()[1]
        scheme = "https" if ssl_context else "http"
        url = settings.public_url or f"{scheme}://{shown_host(settings.host)}:{port}/"
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
        tidy = asyncio.ensure_future(export.housekeeping(ctx))  # expired exports go
        # Content past its retention goes, on one node at a time (a lease in the store).
        retention_job = retention.start(ctx)
        if ready is not None:
            ready.set()
        await stop.wait()
        await retention.stop(retention_job)
        tidy.cancel()
        print("LiveLens is shutting down.", flush=True)
        server.stop()
        await server.close_all_connections()
        await hub.close()
        node_media.close()
        await tasks.drain()  # log rows still being written need the store
        await stop_alerts()  # writes the alert counts: needs the store too
    finally:
        await ctx.store.close()


def store_files(settings: Settings) -> list[Path]:
    """The store's own files, for the permission check (none for MongoDB)."""
    url = settings.store_url
    return [Path(sqlite_path(url))] if url.startswith(SQLITE_PREFIX) else []


def shown_host(host: str) -> str:
    """The host to print in the URL: a wildcard bind is reached by the machine's LAN
    address (what a phone on the same network types), not by 0.0.0.0."""
    if is_loopback(host):
        return "localhost"
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host  # a host name
    if not unspecified:
        return f"[{host}]" if ":" in host else host
    lan = [a for a in get_host_addresses(use_ipv4=True, use_ipv6=False)
           if not ipaddress.ip_address(a).is_loopback]  # fmt: skip
    return lan[0] if lan else "localhost"


def open_media_port(settings: Settings, web_hosts: Sequence[str] = ()) -> MediaPort:
    """The Rust-owned media UDP port. It binds the one address media is offered on, or
    every address when there are several. With ``web_hosts``, it also owns the web
    port (``settings.port``) on those addresses, shared between ICE-TCP and HTTP(S)."""
    addresses = media_addresses(settings)
    # Several addresses: every one, IPv4 and IPv6 (dual-stack; IPv4 only without IPv6).
    bind = addresses[0] if addresses and len(addresses) == 1 else "::"
    try:
        port = MediaPort(
            bind,
            settings.media_port,
            host_addresses=addresses,
            announced=settings.media_announce,
            web_hosts=web_hosts,
            web_port=settings.port,
            web_public_port=public_web_port(settings.public_url),
        )
    except OSError as exc:
        raise LiveLensError(
            f"Cannot open the media port ({exc}). Choose another with --media-port "
            "(LIVELENS_MEDIA_PORT)"
            + (", or the web port (--port), or turn --media-on-web-port off." if web_hosts else ".")
        ) from exc
    web = f"; ICE-TCP also on the web port {port.web_port}" if port.web_port else ""
    if port.web_candidate_port != port.web_port:  # behind a port-forward (--public-url)
        web += f", offered as {port.web_candidate_port}"
    log.info(
        "media on UDP %s:%d (ICE-lite, SRTP in Rust)%s%s",
        ", ".join(port.addresses),
        port.port,
        f", bound to {bind}" if settings.media_announce else "",
        web,
    )
    return port


def shares_web_port(settings: Settings, *, tls: bool) -> bool:
    """Whether media takes ICE-TCP on the web port too: as asked, else (auto) when the
    port is 443 or serves TLS (where a network that blocks all but HTTPS still lets it)."""
    if settings.media_on_web_port is not None:
        return settings.media_on_web_port
    return tls or settings.port == 443  # HTTPS's port


def web_hosts(host: str) -> list[str]:
    """The IPs to listen on for ``host``, as Tornado's ``bind_sockets`` finds them."""
    infos = socket.getaddrinfo(
        host or None, 0, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )
    found = [
        str(info[4][0])
        for info in infos
        if info[0] in (socket.AF_INET, socket.AF_INET6) and "%" not in str(info[4][0])
    ]
    return list(dict.fromkeys(found))


def media_addresses(settings: Settings) -> list[str] | None:
    """ICE host candidates to offer: loopback for a loopback server, else every address."""
    if is_loopback(settings.host):
        return ["127.0.0.1"]
    try:
        address = ipaddress.ip_address(settings.host)
    except ValueError:
        return None  # a host name: offer the machine's addresses
    return None if address.is_unspecified else [settings.host]


def own_command() -> str:
    """This ``livelens`` as one can run it again from the current directory: the bare
    name when that is what PATH finds, else the path it was started by (from a checkout,
    ``.venv/bin/livelens``), or ``<python> -m livelens``."""
    started = Path(os.path.abspath(sys.argv[0]))
    if started.name == "__main__.py":
        return f"{_from_here(Path(os.path.abspath(sys.executable)))} -m livelens"
    found = shutil.which("livelens")
    if found and Path(os.path.abspath(found)) == started:
        return "livelens"
    return _from_here(started)


def _from_here(path: Path) -> str:
    # Symlinks are kept: a virtualenv's python is one, and only it has our packages.
    try:
        shown = path.relative_to(Path(os.path.abspath(os.getcwd())))
    except ValueError:
        shown = path
    return shlex.quote(str(shown))


def first_run_hint(settings: Settings) -> str:
    where = f"--data-dir {shlex.quote(str(settings.data_dir))}"
    return (
        "This LiveLens has no account yet. Create the first one (and its administrator):\n"
        f"  {own_command()} tenant create {where} --name 'My Company' "
        f"--region {settings.region} "
        "--admin-email admin@example.com --admin-password -\n"
        "('-' reads the password from standard input.) Then sign in with that e-mail "
        "and password."
    )
