"""Choose which local IP addresses aioice offers as ICE host candidates.

aioice has no per-connection setting for this: ``Connection.gather_candidates``
calls the module function ``aioice.ice.get_host_addresses``. We replace that
function once with a dispatcher that consults a context variable, and
:func:`host_addresses` sets the variable around a gathering call. Code outside such
a block (including other PeerConnections in the same process) sees aioice's own
behaviour, and concurrent blocks with different addresses do not interfere,
because asyncio tasks copy the context they were created in.

Production on a LAN passes the LAN address; tests pass ``["127.0.0.1"]`` so nothing
leaves the machine (aioice itself never offers loopback).
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import aioice.ice

_override: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "livelens_ice_host_addresses", default=None
)
_aioice_default: Callable[[bool, bool], list[str]] | None = None


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _override.get()
    if chosen is None:
        assert _aioice_default is not None
        return _aioice_default(use_ipv4, use_ipv6)
    return [
        a
        for a in chosen
        if (use_ipv4 and ipaddress.ip_address(a).version == 4)
        or (use_ipv6 and ipaddress.ip_address(a).version == 6)
    ]


def install() -> None:
    """Put the dispatcher in place (idempotent). Without an active block it changes nothing."""
    global _aioice_default
    if aioice.ice.get_host_addresses is not _get_host_addresses:
        _aioice_default = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = _get_host_addresses


def validate(addresses: Sequence[str]) -> tuple[str, ...]:
    """Normalised IP literals; ``ValueError`` for anything that is not one."""
    return tuple(str(ipaddress.ip_address(a)) for a in addresses)


@contextmanager
def host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Within this block, ICE gathering offers exactly ``addresses`` (None: aioice's choice).

    Wrap the call that gathers: ``RTCPeerConnection.setLocalDescription``.
    """
    install()
    token = _override.set(validate(addresses) if addresses is not None else None)
    try:
        yield
    finally:
        _override.reset(token)
