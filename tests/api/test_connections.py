"""HTTP connection limits on real sockets: deadlines, the cap per client address, the
total cap and running out of descriptors. Limits are tiny so the tests are fast."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import tornado.web

from livelens.http.connections import LimitedHTTPServer, Limits

SHORT = 0.3  # a deadline under test
LONG = 30.0  # one that must not be what closes the connection
BOUND = 5.0  # how long a test waits for what must happen


class Ok(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok")

    def post(self) -> None:
        self.write(f"{len(self.request.body)} bytes")


class Hold(tornado.web.RequestHandler):
    """Answers once the test releases it: a request in progress (busy)."""

    async def get(self) -> None:
        held: Held = self.application.settings["held"]
        held.count += 1
        await held.release.wait()
        self.write("held")


class Held:
    def __init__(self) -> None:
        self.count = 0
        self.release = asyncio.Event()


class Flaky:
    """A listening socket whose accept() fails with EMFILE while ``failures`` lasts, as
    when the process is out of descriptors."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.failures = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def accept(self) -> tuple[socket.socket, Any]:
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return self.sock.accept()

    def close(self) -> None:
        self.sock.close()


class Served:
    def __init__(self, server: LimitedHTTPServer, port: int, held: Held, listener: Flaky):
        self.server, self.port, self.held, self.listener = server, port, held, listener
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(
        self, source: str = "127.0.0.1"
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        connection = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0))
        self.writers.append(connection[1])
        return connection


@contextlib.asynccontextmanager
async def served(limits: Limits) -> AsyncIterator[Served]:
    held = Held()
    app = tornado.web.Application([("/ok", Ok), ("/hold", Hold)], held=held)
    server = LimitedHTTPServer(app, limits=limits)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    listener = Flaky(sock)
    server.add_sockets([listener])  # type: ignore[list-item]
    s = Served(server, sock.getsockname()[1], held, listener)
    try:
        yield s
    finally:
        held.release.set()
        for writer in s.writers:
            writer.close()
        server.stop()
        await server.close_all_connections()


async def until(condition: Callable[[], bool], what: str) -> None:
    """A bounded wait for server-side state that no event announces."""
    for _ in range(int(BOUND / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {BOUND} s: {what}")


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(BOUND):
        return await reader.read()


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> bytes:
    """One keep-alive request; its response body."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    async with asyncio.timeout(BOUND):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
                b"content-length")
        )  # fmt: skip
        return await reader.readexactly(length)


def limits(**overrides: Any) -> Limits:
    values: dict[str, Any] = {
        "max_connections": 100, "per_client": 100, "header_timeout": LONG,
        "idle_timeout": LONG, "body_timeout": LONG,
    }  # fmt: skip
    values.update(overrides)
    return Limits(**values)


async def test_silent_and_slow_request_heads_are_cut_at_the_header_timeout() -> None:
    async with served(limits(header_timeout=SHORT)) as s:
        silent, _ = await s.connect()
        assert await closed_by_server(silent) == b""
        # A slow-loris head: a line now and then, never the blank line that ends it.
        # The deadline runs from the start of the head, so trickling does not extend it.
        reader, writer = await s.connect()
        writer.write(b"GET /ok HTTP/1.1\r\n")
        async with asyncio.timeout(BOUND):
            while not reader.at_eof():
                writer.write(b"X-Slow: 1\r\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(), SHORT / 4)
        assert s.server.stats()["open"] == 0


async def test_a_kept_alive_connection_is_closed_after_the_idle_timeout() -> None:
    async with served(limits(idle_timeout=SHORT)) as s:
        reader, writer = await s.connect()
        assert await get(reader, writer, "/ok") == b"ok"
        assert await closed_by_server(reader) == b""


async def test_a_slow_body_is_cut_at_the_body_timeout() -> None:
    async with served(limits(body_timeout=SHORT)) as s:
        reader, writer = await s.connect()
        writer.write(b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        assert await closed_by_server(reader) == b""
        # A whole body in time is answered.
        reader, writer = await s.connect()
        writer.write(b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        async with asyncio.timeout(BOUND):
            assert (await reader.readuntil(b"3 bytes")).endswith(b"3 bytes")


async def test_one_address_over_its_cap_sheds_its_own_idle_connections_or_is_refused() -> None:
    async with served(limits(per_client=2)) as s:
        busy = [await s.connect() for _ in range(2)]
        for _, writer in busy:
            writer.write(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        await until(lambda: s.held.count == 2, "both requests in progress")
        refused, _ = await s.connect()
        answer = await closed_by_server(refused)
        assert answer.startswith(b"HTTP/1.1 429 ")
        assert b"Too many open connections from your address" in answer
        # Another address is not affected.
        other = await s.connect("127.0.0.2")
        assert await get(*other, "/ok") == b"ok"
        # Once its requests are done, the address's connections are idle: a newcomer
        # closes the oldest of them instead of being refused.
        s.held.release.set()
        for r, _ in busy:
            assert b"held" in await r.readuntil(b"held")
        await until(lambda: len(s.server.table.idle()) == 3, f"three idle: {s.server.stats()}")
        reader, writer = await s.connect()
        assert await get(reader, writer, "/ok") == b"ok"
        assert await closed_by_server(busy[0][0]) == b""
        assert not busy[1][0].at_eof()
        stats = s.server.stats()
        assert stats["refused_per_client"] == 1
        assert stats["shed_idle"] == 1


async def test_at_the_total_cap_the_oldest_idle_connection_makes_room_or_newcomers_wait() -> None:
    async with served(limits(max_connections=3, per_client=0)) as s:
        idle = [await s.connect(f"127.0.0.{i}") for i in (2, 3, 4)]
        await until(lambda: s.server.stats()["open"] == 3, "three connections open")
        reader, writer = await s.connect("127.0.0.5")
        assert await get(reader, writer, "/ok") == b"ok"
        assert await closed_by_server(idle[0][0]) == b""
        # All busy: nothing to shed, so the next connection waits in the backlog ...
        for _, w in [*idle[1:], (reader, writer)]:
            w.write(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        await until(lambda: s.held.count == 3, "three requests in progress")
        waiting_reader, waiting_writer = await s.connect("127.0.0.6")
        waiting_writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        await until(lambda: s.server.stats().get("paused_full", 0) >= 1, "accepting paused")
        assert s.server.stats()["open"] == 3
        # ... and is served once one of them closes.
        idle[1][1].close()
        async with asyncio.timeout(BOUND):
            assert (await waiting_reader.readuntil(b"ok")).endswith(b"ok")


async def test_out_of_descriptors_sheds_the_oldest_idle_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with served(limits()) as s:
        idle = [await s.connect() for _ in range(3)]
        await until(lambda: s.server.stats()["open"] == 3, "three connections open")
        s.listener.failures = 2  # two accepts fail: two idle connections are closed
        with caplog.at_level(logging.WARNING, logger="livelens.http"):
            reader, writer = await s.connect()
            assert await get(reader, writer, "/ok") == b"ok"
        assert await closed_by_server(idle[0][0]) == b""
        assert await closed_by_server(idle[1][0]) == b""
        assert not idle[2][0].at_eof()
        notes = [r.getMessage() for r in caplog.records if "file descriptors" in r.getMessage()]
        assert len(notes) == 1, notes
        assert s.server.stats()["out_of_descriptors"] == 2


async def test_out_of_descriptors_with_nothing_idle_pauses_instead_of_spinning() -> None:
    async with served(limits()) as s:
        s.listener.failures = 1
        reader, writer = await s.connect()  # waits in the backlog while accept fails
        # Accepting is retried after a pause, not in a loop that floods the log.
        assert await get(reader, writer, "/ok") == b"ok"
        assert s.server.stats()["out_of_descriptors"] == 1
