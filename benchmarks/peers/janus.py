"""Janus (Debian's ``janus`` package, VideoRoom plugin) for the side-by-side bench.

The bench starts Janus itself with a generated configuration in a temp dir: only the
VideoRoom plugin and the plain-HTTP transport, warnings-only logging, ICE-lite, NACK
on (Janus always answers NACKs; the VideoRoom rooms are created VP8-only). Janus
skips every interface flagged ``IFF_LOOPBACK`` when it gathers host candidates (a hard
check in ``janus_ice_setup_local``, before ``ice_enforce_list`` is consulted), so on its
own it never offers 127.0.0.1. The bench defeats that check with a small
``LD_PRELOAD`` shim that clears ``IFF_LOOPBACK`` in what ``getifaddrs`` returns, and sets
``ice_enforce_list = "127.0.0.1"`` and ``interface = "127.0.0.1"`` so that loopback is the
only candidate and the address in the SDP. The client side is a hand-written Janus HTTP
API client (plain JSON over HTTP with a long poll for asynchronous events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import tornado.httpclient

from benchmarks.loadgen import _free_port
from benchmarks.peers.process import PeerProcess

PLUGINS = Path("/usr/lib/x86_64-linux-gnu/janus/plugins")
TRANSPORTS = Path("/usr/lib/x86_64-linux-gnu/janus/transports")
SHIM_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "livelens-bench"

# getifaddrs() with IFF_LOOPBACK cleared, so Janus gathers a candidate on 127.0.0.1.
SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
int getifaddrs(struct ifaddrs **ifap) {
    static int (*real)(struct ifaddrs **);
    if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real(ifap);
    if (rc == 0)
        for (struct ifaddrs *i = *ifap; i; i = i->ifa_next) i->ifa_flags &= ~IFF_LOOPBACK;
    return rc;
}
"""


def loopback_shim() -> Path:
    """Compile the LD_PRELOAD shim once into a cache outside the tree."""
    target = SHIM_CACHE / "janus-loopback-shim.so"
    if not target.exists():
        SHIM_CACHE.mkdir(parents=True, exist_ok=True)
        source = SHIM_CACHE / "janus-loopback-shim.c"
        source.write_text(SHIM_C)
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-O2", "-o", str(target), str(source), "-ldl"], check=True
        )
    return target


def settings(port: int, event_loops: int) -> dict[str, dict[str, str]]:
    """What goes into janus.jcfg (also printed with the results)."""
    others = sorted(p.name for p in PLUGINS.glob("*.so") if p.name != "libjanus_videoroom.so")
    transports = sorted(p.name for p in TRANSPORTS.glob("*.so") if p.name != "libjanus_http.so")
    general = {
        "configs_folder": "{dir}",
        "plugins_folder": str(PLUGINS),
        "transports_folder": str(TRANSPORTS),
        "debug_level": "3",  # warnings and errors only
        "interface": "127.0.0.1",
    }
    if event_loops:
        general["event_loops"] = str(event_loops)
    return {
        "general": general,
        "media": {"min_nack_queue": "500"},
        "nat": {"ice_lite": "true", "ice_enforce_list": "127.0.0.1", "nice_debug": "false"},
        "plugins": {"disable": ",".join(others)},
        "transports": {"disable": ",".join(transports)},
        "events": {"broadcast": "false"},
        "http": {"port": str(port), "ip": "127.0.0.1"},
    }


def _jcfg(sections: dict[str, dict[str, str]]) -> str:
    def value(v: str) -> str:
        return v if v in ("true", "false") or v.isdigit() else json.dumps(v)

    return "\n".join(
        f"{name}: {{\n" + "".join(f"\t{k} = {value(v)}\n" for k, v in items.items()) + "}\n"
        for name, items in sections.items()
    )


class JanusServer(PeerProcess):
    """``janus`` in a subprocess with its own generated configuration."""

    def __init__(self, workdir: Path, event_loops: int = 0) -> None:
        super().__init__("janus", workdir)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/janus"
        self.config = settings(self.port, event_loops)

    def start(self) -> None:
        binary = shutil.which("janus")
        if binary is None:
            raise SystemExit("janus is not installed (scripts/bench.sh installs it)")
        main = {k: v for k, v in self.config.items() if k != "http"}
        main["general"] = {k: v.format(dir=self.workdir) for k, v in main["general"].items()}
        (self.workdir / "janus.jcfg").write_text(_jcfg(main))
        http = {
            "general": {
                "json": "plain",
                "base_path": "/janus",
                "http": "true",
                "https": "false",
                **self.config["http"],
            },
            "admin": {"admin_http": "false"},
        }
        (self.workdir / "janus.transport.http.jcfg").write_text(_jcfg(http))
        (self.workdir / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
        env = {**os.environ, "LD_PRELOAD": str(loopback_shim())}
        self.launch(
            [binary, "-C", str(self.workdir / "janus.jcfg"), "-F", str(self.workdir), "-o"], env
        )

    async def wait_ready(self) -> None:
        await self.wait_answering(self.base_url + "/info")

    def describe(self) -> str:
        version = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "janus"], capture_output=True, text=True
        ).stdout
        general = self.config["general"]
        loops = general.get("event_loops", "one per handle (default)")
        return (
            f"Janus {version} (Debian), VideoRoom + HTTP transport only, debug_level 3"
            " (warnings), ICE-lite, ice_enforce_list 127.0.0.1 with the LD_PRELOAD"
            f" loopback shim, event_loops {loops}, min_nack_queue 500 ms, rooms VP8 only"
        )


class JanusSession:
    """One Janus API session: requests, plus a long poll that routes async events."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # A client of its own: the long poll holds one of its connections all the time,
        # and the process-wide client's 10 would be all long polls from the 10th session
        # on, queueing every other request until it timed out (HTTP 599).
        self.http = tornado.httpclient.AsyncHTTPClient(force_instance=True)
        self.session_id = 0
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(8)}
        answer = await self.http.fetch(
            self.base_url + path, method="POST", body=json.dumps(body), request_timeout=30
        )
        reply: dict[str, Any] = json.loads(answer.body)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus: {reply['error']}")
        return reply

    async def create(self) -> None:
        self.session_id = int((await self._post("", {"janus": "create"}))["data"]["id"])
        self.poller = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        url = f"{self.base_url}/{self.session_id}?maxev=10"
        while True:
            try:
                answer = await self.http.fetch(url, request_timeout=70)
            except tornado.httpclient.HTTPClientError as error:
                if error.code == 404:  # the session is gone
                    return
                await asyncio.sleep(0.1)
                continue
            except OSError:
                await asyncio.sleep(0.1)
                continue
            events = json.loads(answer.body)
            for event in events if isinstance(events, list) else [events]:
                future = self.pending.pop(event.get("transaction", ""), None)
                if future is not None and not future.done() and event.get("janus") == "event":
                    future.set_result(event)

    async def attach(self) -> int:
        reply = await self._post(
            f"/{self.session_id}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        return int(reply["data"]["id"])

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (e.g. create a room): the answer is in the reply."""
        reply = await self._post(f"/{self.session_id}/{handle}", {"janus": "message", "body": body})
        data: dict[str, Any] = reply["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"videoroom: {data['error']}")
        return data

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An asynchronous plugin request: waits for its event (plugindata + jsep)."""
        transaction = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[transaction] = future
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        await self._post(f"/{self.session_id}/{handle}", message)
        async with asyncio.timeout(20):
            event = await future
        if "error" in event["plugindata"]["data"]:
            raise RuntimeError(f"videoroom: {event['plugindata']['data']['error']}")
        return event

    async def destroy(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, tornado.httpclient.HTTPClientError):
            await self._post(f"/{self.session_id}", {"janus": "destroy"})
        if self.poller is not None:  # ends on the 404 of the destroyed session
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.poller, 5)
        self.http.close()
