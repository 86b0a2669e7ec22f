"""No STUN answers to requests that fail authentication, on the aiortc media path too.

aioice answers such a request with a 400 or 401 error to the address it came from,
which anyone can forge: a bare 20-byte Binding request earns a larger answer, so a
server's ICE sockets become amplifying reflectors. The Rust media port drops these
silently (``rust_fastpath/src/net/ice_lite.rs``); :func:`install` makes aioice do the
same, counting what it dropped. Authenticated checks (and their 487 role conflicts)
are answered as before.
"""

from __future__ import annotations

from typing import Any

import aioice.ice

# aioice's codes for "not authenticated": no USERNAME/MESSAGE-INTEGRITY or a method
# other than Binding (400), wrong USERNAME or MESSAGE-INTEGRITY (401).
_UNAUTHENTICATED = (400, 401)
_dropped = 0


def install() -> None:
    """Patch aioice's ``Connection.respond_error`` once for the process (idempotent)."""
    connection: Any = aioice.ice.Connection
    original = connection.respond_error
    if getattr(original, "livelens_guard", False):
        return

    def respond_error(
        self: Any, request: Any, addr: Any, protocol: Any, error_code: tuple[int, str]
    ) -> None:
        global _dropped
        if error_code[0] in _UNAUTHENTICATED:
            _dropped += 1
            return
        original(self, request, addr, protocol, error_code)

    respond_error.livelens_guard = True  # type: ignore[attr-defined]
    connection.respond_error = respond_error


def dropped() -> int:
    """Requests dropped unanswered in this process since :func:`install`."""
    return _dropped
