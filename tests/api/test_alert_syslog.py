"""Security events reach syslog (``--syslog``) as RFC 5424 messages: a real local syslog
socket, over UDP and as a unix datagram socket, receives a lockout."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from livelens.services import alert_syslog
from tests.api.alerting import lock_out
from tests.api.governance import account
from tests.api.harness import PASSWORD, Server


@contextmanager
def listening(
    family: socket.AddressFamily, address: str | tuple[str, int]
) -> Iterator[socket.socket]:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
        sock.setblocking(False)
        yield sock
    finally:
        sock.close()


async def received_until(sock: socket.socket, needle: bytes) -> list[bytes]:
    """Messages from ``sock`` up to the first containing ``needle``."""
    loop = asyncio.get_running_loop()
    messages: list[bytes] = []
    while not any(needle in m for m in messages):
        messages.append(await asyncio.wait_for(loop.sock_recv(sock, 65535), 10))
    return messages


async def lockout_to_syslog(server: Server, sock: socket.socket, target: str) -> tuple[str, str]:
    """The tenant id, and the syslog message of a lockout sent to ``target``."""
    sink = alert_syslog.install(target)
    assert sink is not None
    try:
        tenant_id, _ = await account(server)
        await lock_out(server, "ann@acme.test")
        messages = await received_until(sock, b" auth.locked ")
    finally:
        sink.stop()
    everything = b"".join(messages)
    assert b"ann@acme.test" not in everything
    assert b"wrong-pass-1" not in everything and PASSWORD.encode() not in everything
    return tenant_id, messages[-1].decode()


async def test_a_lockout_reaches_syslog_over_udp(server: Server) -> None:
    with listening(socket.AF_INET, ("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
        tenant_id, message = await lockout_to_syslog(server, sock, f"udp://127.0.0.1:{port}")
    # <PRI> = facility auth (4) * 8 + severity warning (4); the time is the event's.
    assert message.startswith("<36>1 2027-01-15T08:00:00.000Z ")
    pattern = (
        r"<36>1 \S+ \S+ livelens \d+ auth\.locked "
        rf'\[livelens@32473 kind="auth\.locked" ip="127\.0\.0\.1" account="{tenant_id}"\] '
        rf"security event auth\.locked from 127\.0\.0\.1 \(account {tenant_id}\)"
    )
    assert re.fullmatch(pattern, message), message


async def test_a_lockout_reaches_a_unix_syslog_socket(server: Server, tmp_path: Path) -> None:
    path = str(tmp_path / "log")
    with listening(socket.AF_UNIX, path) as sock:
        _, message = await lockout_to_syslog(server, sock, path)
    assert message.startswith("<36>1 ")
    assert " auth.locked [livelens@32473 " in message
