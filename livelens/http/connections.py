"""HTTP connections under limits, so that slow or idle connections cannot hold the server.

* Deadlines (Tornado's, per request): a new connection has ``header_timeout`` to
  deliver its first request's head (TLS handshake included), a kept-alive one
  ``idle_timeout`` for the next, and a request body ``body_timeout`` in all.
* One client address holds at most ``per_client`` connections: past that, its oldest
  idle connection is closed for the new one, or with none idle the new one is refused
  (429 on plain HTTP; a TLS client just sees the connection close).
* At most ``max_connections`` in all (the descriptor limit less a reserve, see
  :func:`limits_for`): past that, the oldest idle connection anywhere is shed for the
  new one; with none idle, accepting pauses until one closes and newcomers wait in the
  kernel's backlog.
* Running out of descriptors anyway (``EMFILE``: something else took them) sheds the
  same way, or pauses, instead of spinning on a listening socket that stays readable.

Idle means waiting for a request's head: a connection that has not sent one yet, or a
kept-alive one between requests. Requests in progress and WebSockets are busy and are
never shed. Each condition is logged at most once per ``log_interval``, with how often
it occurred, never once per connection.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import logging
import resource
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
from tornado import httputil
from tornado.http1connection import HTTP1Connection
from tornado.iostream import IOStream

from livelens.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_DESCRIPTOR_RESERVE,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_PER_CLIENT,
    Settings,
)
from livelens.http.connection_table import Admission, ConnectionTable, Notices

log = logging.getLogger("livelens.http")

LOG_INTERVAL = 60.0
# Seconds before accepting is retried after running out of descriptors with nothing
# idle to close (a closing connection resumes it sooner).
RETRY_DELAY = 0.5
# Accepts per wake-up, as Tornado does, so a flood cannot starve the other tasks.
_ACCEPTS_PER_WAKEUP = 128
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
# With no hard limit, ask for this many (the soft limit cannot be "unlimited").
_UNLIMITED_TARGET = 1 << 20


def _plain_answer(status: str, text: str) -> bytes:
    body = text.encode() + b"\n"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


_TOO_MANY_FROM_CLIENT = _plain_answer(
    "429 Too Many Requests", "Too many open connections from your address."
)
_SERVER_FULL = _plain_answer("503 Service Unavailable", "Too many open connections.")


@dataclass(frozen=True)
class Limits:
    max_connections: int
    per_client: int = DEFAULT_PER_CLIENT  # 0: no cap
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    log_interval: float = LOG_INTERVAL


def descriptor_limit() -> int:
    """The soft limit on open files (descriptors) of this process."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return _UNLIMITED_TARGET if soft == resource.RLIM_INFINITY else soft


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open files to the hard one where allowed (the defaults of
    many systems are 1,024 soft and far more hard); returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _UNLIMITED_TARGET
    target = _UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # e.g. above the kernel's own ceiling
            log.info("open-file limit stays at %d (%s)", soft, exc)
    return soft


def max_connections_for(descriptor_limit: int, reserve: int) -> int:
    """Connections to allow with ``descriptor_limit`` descriptors, keeping ``reserve`` for
    the store, the media port, logs and the rest (at least half go to connections)."""
    return max(descriptor_limit - reserve, descriptor_limit // 2, 1)


class _Watched(httputil.HTTPMessageDelegate):
    """Passes everything on, and says when a request's head has arrived."""

    def __init__(self, delegate: httputil.HTTPMessageDelegate, on_head: Callable[[], None]) -> None:
        self._delegate = delegate
        self._on_head = on_head

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        self._on_head()
        return self._delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self._delegate.data_received(chunk)

    def finish(self) -> None:
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._delegate.on_connection_close()


def _client(address: Any) -> str:
    return str(address[0]) if isinstance(address, tuple) and address else ""


class LimitedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTP server with the limits above. Takes HTTPServer's arguments plus
    ``limits``; its timeouts replace ``idle_connection_timeout`` and ``body_timeout``."""

    def initialize(self, *args: Any, limits: Limits | None = None, **kwargs: Any) -> None:
        self.limits = limits or Limits(
            max_connections_for(descriptor_limit(), DEFAULT_DESCRIPTOR_RESERVE)
        )
        kwargs["idle_connection_timeout"] = self.limits.header_timeout
        kwargs["body_timeout"] = self.limits.body_timeout
        super().initialize(*args, **kwargs)
        self._first_params = self.conn_params
        self._next_params = copy.copy(self.conn_params)
        self._next_params.header_timeout = self.limits.idle_timeout
        self.table = ConnectionTable(self.limits.max_connections, self.limits.per_client)
        self.counters: Counter[str] = Counter()
        self._notice = Notices(self.limits.log_interval)
        self._keys: dict[IOStream, int] = {}
        self._streams: dict[int, IOStream] = {}
        self._listeners: list[socket.socket] = []
        self._accepting = False
        self._closed = False
        self._retry: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ accepting

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        self._listeners.extend(sockets)
        if self._accepting:
            loop = asyncio.get_running_loop()
            for sock in sockets:
                loop.add_reader(sock, self._on_readable, sock)
        self._resume()

    def stop(self) -> None:
        self._pause()
        self._closed = True
        for sock in self._listeners:
            sock.close()
        self._listeners.clear()
        super().stop()

    def _resume(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._accepting or self._closed:
            return
        self._accepting = True
        loop = asyncio.get_running_loop()
        for sock in self._listeners:
            loop.add_reader(sock, self._on_readable, sock)

    def _pause(self, retry: float | None = None) -> None:
        if self._accepting:
            self._accepting = False
            loop = asyncio.get_running_loop()
            for sock in self._listeners:
                loop.remove_reader(sock)
        if retry is not None and self._retry is None and not self._closed:
            self._retry = asyncio.get_running_loop().call_later(retry, self._resume)

    def _on_readable(self, sock: socket.socket) -> None:
        for _ in range(_ACCEPTS_PER_WAKEUP):
            if not self._accepting:
                return
            if not self.table.can_accept():
                # Nothing idle to shed: leave newcomers in the backlog until one closes.
                self.counters["paused_full"] += 1
                self._notice("full", self._full_message())
                self._pause()
                return
            try:
                connection, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self._accept_failed(exc)
                return
            self._admit(connection, address)

    def _accept_failed(self, exc: OSError) -> None:
        if exc.errno not in _OUT_OF_DESCRIPTORS:
            self.counters["accept_failed"] += 1
            self._notice("accept", f"Accepting HTTP connections failed: {exc}")
            self._pause(RETRY_DELAY)  # whatever it is, do not spin on it
            return
        self.counters["out_of_descriptors"] += 1
        self._notice(
            "descriptors",
            f"Out of file descriptors ({exc.strerror}) with {len(self.table)} HTTP "
            "connections open: closing the oldest idle ones to make room. Raise the "
            "open-file limit (ulimit -n) or lower --max-connections.",
        )
        victim = self.table.oldest_idle()
        if victim is None:
            self._pause(RETRY_DELAY)
        else:
            self._shed(victim)  # the listener stays readable: the next wake-up accepts

    def adopt(self, connection: socket.socket, address: tuple[str, int]) -> None:
        """A connection accepted elsewhere: on the web port shared with media, whose
        listener the media port owns and which handed this one over by its first bytes
        (nothing read). Admitted under the same limits as our own accepts."""
        if self._closed:
            connection.close()
            return
        self._admit(connection, address)

    def _admit(self, connection: socket.socket, address: Any) -> None:
        decision = self.table.admit(_client(address))
        if decision.admission is Admission.REFUSE:
            self._refuse(connection, address, decision.reason)
            return
        if decision.victim is not None:
            self._shed(decision.victim)
            if decision.reason == "full":
                self._notice("full", self._full_message())
            else:
                self._notice("per_client", self._per_client_message(address))
        try:
            # Tornado's own hand-over: TLS wrapping, the stream, then handle_stream.
            self._handle_connection(connection, address)
        except OSError as exc:  # a TLS wrap failing on a connection already gone
            connection.close()
            self._notice("handover", f"Dropped a new HTTP connection: {exc}")

    def _full_message(self) -> str:
        return (
            f"{self.limits.max_connections} HTTP connections open, the limit: closing the "
            "oldest idle ones for new ones, or holding new ones back while none is idle "
            "(--max-connections)."
        )

    def _per_client_message(self, address: Any) -> str:
        return (
            f"{_client(address)} has {self.limits.per_client} HTTP connections open, the "
            "limit per address: closing its oldest idle ones for new ones, or refusing new "
            "ones while none is idle (--max-connections-per-client)."
        )

    def _refuse(self, connection: socket.socket, address: Any, reason: str) -> None:
        self.counters[f"refused_{reason}"] += 1
        if reason == "per_client":
            self._notice("per_client", self._per_client_message(address))
        answer = _TOO_MANY_FROM_CLIENT if reason == "per_client" else _SERVER_FULL
        try:
            if self.ssl_options is None:  # under TLS there is no plain answer to give
                connection.setblocking(False)
                connection.send(answer)
        except OSError:
            pass
        finally:
            connection.close()

    def _shed(self, key: int) -> None:
        self.counters["shed_idle"] += 1
        stream = self._streams.get(key)
        if stream is not None:
            stream.close()
        self.table.close(key)  # in case the stream was already gone

    # ------------------------------------------------------------------ streams

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        key = self.table.open(_client(address))
        self._keys[stream] = key
        self._streams[key] = stream
        close_fd = stream.close_fd

        def close_and_count() -> None:
            # Every way a stream ends (either side closing, a deadline, a WebSocket
            # ending) goes through close_fd exactly once.
            try:
                close_fd()
            finally:
                self._stream_closed(stream)

        setattr(stream, "close_fd", close_and_count)  # noqa: B010 - an instance's method
        super().handle_stream(stream, address)

    def _stream_closed(self, stream: IOStream) -> None:
        key = self._keys.pop(stream, None)
        if key is None:
            return
        self._streams.pop(key, None)
        self.table.close(key)
        if not self._accepting and self.table.can_accept():
            self._resume()

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        stream = getattr(server_conn, "stream", None)
        key = self._keys.get(stream) if isinstance(stream, IOStream) else None
        if key is None:
            return delegate
        first = self.table.waiting(key)
        if isinstance(request_conn, HTTP1Connection):
            # Tornado reads a request's head under one deadline from when it starts
            # waiting: a new connection gets header_timeout, a kept-alive one idle_timeout.
            request_conn.params = self._first_params if first else self._next_params
        return _Watched(delegate, lambda: self.table.busy(key))

    def stats(self) -> dict[str, int]:
        """Open and idle connections now, and counts of what the limits did."""
        return {"open": len(self.table), "idle": len(self.table.idle()), **self.counters}


def limits_for(settings: Settings, descriptor_limit: int) -> Limits:
    """The limits ``settings`` ask for in a process with ``descriptor_limit`` descriptors."""
    return Limits(
        max_connections=settings.max_connections
        or max_connections_for(descriptor_limit, settings.descriptor_reserve),
        per_client=settings.max_connections_per_client,
        header_timeout=settings.header_timeout,
        idle_timeout=settings.idle_timeout,
        body_timeout=settings.body_timeout,
    )
