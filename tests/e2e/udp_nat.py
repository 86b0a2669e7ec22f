"""A NAT-like UDP forwarder for browser tests: browsers send media to its public
address; it forwards each browser's datagrams from a socket of its own to the server,
and the answers back. ``cut()`` drops everything both ways (the media path is lost
while the signalling WebSocket, over TCP, stays up); ``restore()`` ends that.
"""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType

Address = tuple[str, int]


class UdpNat:
    def __init__(self, public_ip: str) -> None:
        # The server's media port will use the same number on another address: take one
        # that is free on every address.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("0.0.0.0", 0))
            self.port: int = probe.getsockname()[1]
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind((public_ip, self.port))
        self.server: Address | None = None
        self.dropped = 0
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.front, selectors.EVENT_READ, None)
        self._back: dict[Address, socket.socket] = {}  # browser address -> our socket
        self._thread = threading.Thread(target=self._run, name="udp-nat", daemon=True)

    def forward_to(self, server: Address) -> None:
        self.server = server

    def cut(self) -> None:
        self._cut.set()

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
        for sock in [self.front, *self._back.values()]:
            sock.close()
        self._selector.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data, source = sock.recvfrom(4096)
                except OSError:
                    continue
                if self._cut.is_set() or self.server is None:
                    self.dropped += 1
                elif key.data is None:  # from a browser
                    self._mapping(source).sendto(data, self.server)
                else:  # from the server, for the browser this socket stands for
                    self.front.sendto(data, key.data)

    def _mapping(self, browser: Address) -> socket.socket:
        back = self._back.get(browser)
        if back is None:
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", 0))
            self._back[browser] = back
            self._selector.register(back, selectors.EVENT_READ, browser)
        return back
