"""Host-candidate addresses are chosen per call, not for the whole process; aioice
answers no STUN request that fails authentication."""

from __future__ import annotations

import asyncio
import os
import socket

import aioice.ice
import pytest
from aioice import stun

from livelens.media import ice, stun_guard
from tests.media.clients import binding_request


def test_addresses_apply_only_inside_the_block() -> None:
    ice.install()
    ice.install()  # idempotent
    outside = aioice.ice.get_host_addresses(True, True)
    assert "127.0.0.1" not in outside  # aioice's own choice never offers loopback
    with ice.host_addresses(["127.0.0.1", "::1"]):
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == ["::1"]
        with ice.host_addresses(None):
            assert aioice.ice.get_host_addresses(True, True) == outside
    assert aioice.ice.get_host_addresses(True, True) == outside


async def test_concurrent_blocks_do_not_see_each_other() -> None:
    seen: dict[str, list[str]] = {}

    async def gather(name: str, address: str) -> None:
        with ice.host_addresses([address]):
            await asyncio.sleep(0)  # let the other task run inside its own block
            seen[name] = aioice.ice.get_host_addresses(True, True)

    await asyncio.gather(gather("a", "10.0.0.1"), gather("b", "192.168.1.7"))
    assert seen == {"a": ["10.0.0.1"], "b": ["192.168.1.7"]}


def test_only_ip_literals_are_accepted() -> None:
    assert ice.validate(["10.0.0.1", "0:0::0001"]) == ("10.0.0.1", "::1")
    with pytest.raises(ValueError, match="does not appear"):
        ice.validate(["lan.example"])


async def test_aioice_drops_requests_that_fail_authentication_unanswered() -> None:
    # On the aiortc media path aioice owns the sockets; an error answer to a forged
    # source would reflect (and amplify) like the Rust port's used to.
    stun_guard.install()
    stun_guard.install()  # idempotent
    connection = aioice.ice.Connection(ice_controlling=False)
    connection.remote_username = "remote"
    with ice.host_addresses(["127.0.0.1"]):
        await connection.gather_candidates()
    target = (connection.local_candidates[0].host, connection.local_candidates[0].port)
    username = f"{connection.local_username}:remote"
    loop = asyncio.get_running_loop()
    before = stun_guard.dropped()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            bare = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, os.urandom(12))
            for request in (
                bytes(bare),  # 20 bytes, no credentials at all
                binding_request(os.urandom(12), username, "not-the-password-at-all"),
                binding_request(os.urandom(12), "nobody:remote", connection.local_password),
            ):
                await loop.sock_sendto(sock, request, target)
            # Datagrams are handled in order: the answer to a valid check sent last comes
            # first only if none of the others was answered.
            tid = os.urandom(12)
            valid = binding_request(tid, username, connection.local_password)
            await loop.sock_sendto(sock, valid, target)
            async with asyncio.timeout(5):
                answer = stun.parse_message(await loop.sock_recv(sock, 2048))
    finally:
        await connection.close()
    assert answer.transaction_id == tid
    assert answer.message_class == stun.Class.RESPONSE
    assert stun_guard.dropped() - before == 3
