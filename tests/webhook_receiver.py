"""A webhook receiver in a thread of its own, for tests that run LiveLens as a process
(the CLI's, the browser's): an HTTP server on 127.0.0.1 that puts every POST it gets
in a queue and answers 204."""

from __future__ import annotations

import http.server
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message


@dataclass(frozen=True)
class Posted:
    path: str
    headers: Message  # names in any case
    body: bytes


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, queue.Queue[Posted]]]:
    """The receiver's base URL (``http://127.0.0.1:<port>``) and what it receives."""
    received: queue.Queue[Posted] = queue.Queue()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put(Posted(self.path, self.headers, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
