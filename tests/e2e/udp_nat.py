"""A NAT-like UDP forwarder for browser tests: browsers send media to its public
address; it forwards each browser's datagrams from a socket of its own to the server,
and the answers back. ``cut()`` drops every datagram both ways (the UDP media path is
lost while the signalling WebSocket, over TCP, stays up); ``restore()`` ends that.

With ``tcp=True`` it also relays TCP connections to its public address and port to the
server's same port (the media port's ICE-TCP twin), which ``cut()`` leaves alone: a
network that loses UDP but still lets TCP through. ``block_tcp()`` breaks those too, and
``allow_tcp()`` lets new ones through again.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

Address = tuple[str, int]

_LISTENER = "listener"  # selector data of the TCP listening socket


class _Pipe:
    """Selector data of one side of a relayed TCP connection: where its bytes go."""

    def __init__(self, to: socket.socket) -> None:
        self.to = to


class UdpNat:
    def __init__(self, public_ip: str, *, tcp: bool = False) -> None:
        # The server's media port will use the same number on another address: take one
        # that is free on every address (for TCP too, for its ICE-TCP twin).
        self.port = _free_udp_and_tcp_port()
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind((public_ip, self.port))
        self.server: Address | None = None
        self.dropped = 0
        self.connections = 0  # TCP connections relayed so far
        self._cut = threading.Event()
        self._tcp_blocked = threading.Event()
        self._close_pipes = threading.Event()
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.front, selectors.EVENT_READ, None)
        self._back: dict[Address, socket.socket] = {}  # browser address -> our socket
        self._pipes: set[socket.socket] = set()  # both sides of relayed TCP connections
        if tcp:
            listener = socket.create_server((public_ip, self.port))
            self._selector.register(listener, selectors.EVENT_READ, _LISTENER)
        self._thread = threading.Thread(target=self._run, name="udp-nat", daemon=True)

    def forward_to(self, server: Address) -> None:
        self.server = server

    def cut(self) -> None:
        """Drop every datagram, both ways, until :meth:`restore`."""
        self._cut.set()

    def block_tcp(self) -> None:
        """Close the TCP connections relayed so far and refuse new ones (closed as soon
        as accepted) until :meth:`allow_tcp`."""
        self._tcp_blocked.set()
        self._close_pipes.set()

    def allow_tcp(self) -> None:
        self._tcp_blocked.clear()

    def restore(self) -> None:
        self._cut.clear()

    def __enter__(self) -> UdpNat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            if isinstance(key.fileobj, socket.socket):
                key.fileobj.close()
        self._selector.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._close_pipes.is_set():
                self._close_pipes.clear()
                self._close(*self._pipes)
            for key, _ in self._selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data == _LISTENER:
                    self._accept(sock)
                elif isinstance(key.data, _Pipe):
                    self._pump(sock, key.data.to)
                else:
                    self._datagram(sock, key.data)

    def _datagram(self, sock: socket.socket, browser: Address | None) -> None:
        try:
            data, source = sock.recvfrom(4096)
        except OSError:
            return
        if self._cut.is_set() or self.server is None:
            self.dropped += 1
        elif browser is None:  # from a browser
            self._mapping(source).sendto(data, self.server)
        else:  # from the server, for the browser this socket stands for
            self.front.sendto(data, browser)

    def _mapping(self, browser: Address) -> socket.socket:
        back = self._back.get(browser)
        if back is None:
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", 0))
            self._back[browser] = back
            self._selector.register(back, selectors.EVENT_READ, browser)
        return back

    def _accept(self, listener: socket.socket) -> None:
        try:
            browser, _ = listener.accept()
        except OSError:
            return
        if self.server is None or self._tcp_blocked.is_set():
            browser.close()
            return
        try:
            server = socket.create_connection(self.server, timeout=5)
        except OSError:
            browser.close()
            return
        for sock in (browser, server):
            sock.settimeout(5)  # a stuck side fails its send instead of hanging the relay
        self.connections += 1
        self._pipes.update((browser, server))
        self._selector.register(browser, selectors.EVENT_READ, _Pipe(server))
        self._selector.register(server, selectors.EVENT_READ, _Pipe(browser))

    def _pump(self, source: socket.socket, to: socket.socket) -> None:
        try:
            data = source.recv(65536)
            if data:
                to.sendall(data)
                return
        except OSError:
            pass
        self._close(source, to)  # one side closed (or failed): close the other

    def _close(self, *socks: socket.socket) -> None:
        for sock in socks:
            self._pipes.discard(sock)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()


def _free_udp_and_tcp_port() -> int:
    """A port number free for UDP and for TCP on every address."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("0.0.0.0", 0))
            port: int = probe.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as twin:
                try:
                    twin.bind(("0.0.0.0", port))
                except OSError:
                    continue
            return port
