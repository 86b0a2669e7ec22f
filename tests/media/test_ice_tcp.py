"""ICE-TCP on the media port's TCP twin (RFC 6544, RFC 4571 framing), with real sockets:
the answer's passive candidate, a client that moves from UDP to TCP and gets its media
framed, and the connections the port cuts (a reader that stopped, garbage, silence).

aioice has no ICE-TCP, so the TCP side here is a raw socket speaking framed STUN; the
browser end to end over TCP only is tests/e2e/test_ice_tcp.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import socket
import struct
from collections.abc import AsyncIterator, Iterator

import pytest
from aioice import stun

from livelens._fastpath import MediaSocket
from livelens.media.ice_lite import tcp_local_preference
from tests.media.clients import agent_client, binding_request, customer_client
from tests.media.test_media_port import PortWorld, client_ufrag, port_world

CANDIDATE = re.compile(r"a=candidate:\S+ 1 (udp|tcp) (\d+) (\S+) (\d+) typ host(.*)")


def frame(payload: bytes) -> bytes:
    return struct.pack("!H", len(payload)) + payload


async def read_frame(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()

    async def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = await loop.sock_recv(sock, n - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data

    (length,) = struct.unpack("!H", await exactly(2))
    return await exactly(length)


async def tcp_connect(port: int, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def check_in(sock: socket.socket, username: str, password: str) -> stun.Message:
    """A nominating check over the connection; the server's framed answer."""
    request = binding_request(os.urandom(12), username, password, use_candidate=True)
    await asyncio.get_running_loop().sock_sendall(sock, frame(request))
    async with asyncio.timeout(5):
        return stun.parse_message(await read_frame(sock))


def _hung_up(sock: socket.socket, within: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLRDHUP | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(int(within * 1000)))


async def hung_up(sock: socket.socket, within: float = 5.0) -> bool:
    """Whether the server closed (reset) the connection within ``within`` seconds; the
    client reads nothing meanwhile."""
    return await asyncio.to_thread(_hung_up, sock, within)


@pytest.fixture
async def world() -> AsyncIterator[PortWorld]:
    async with port_world() as w:
        yield w


async def test_the_answer_offers_passive_tcp_below_udp_and_udp_still_wins(
    world: PortWorld,
) -> None:
    assert world.port.tcp_port == world.port.port  # the TCP twin: the same number
    customer = customer_client(world.probe)
    await world.join("s1", "cust", customer)
    found = {(m[0], m[2], m[3], m[4].strip()): int(m[1]) for m in CANDIDATE.findall(
        world.answers["cust"])}  # fmt: skip
    port = str(world.port.port)
    udp = found[("udp", "127.0.0.1", port, "")]
    tcp = found[("tcp", "127.0.0.1", port, "tcptype passive")]
    assert tcp < udp
    assert (tcp >> 8) & 0xFFFF == tcp_local_preference()  # RFC 6544: direction-pref 4
    await world.connected("s1", "cust")
    stats = world.port.stats()
    peer = world.peer("s1", "cust")
    assert stats["transports"][peer.transport_id]["protocol"] == "udp"
    assert stats["tcp"] == {"connections": 0, "accepted": 0, "closed": {}}


async def test_a_client_that_moves_to_tcp_gets_its_media_framed_there(world: PortWorld) -> None:
    customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
    await world.join("s1", "cust", customer)
    await world.join("s1", "agent", agent)
    await world.connected("s1", "cust", "agent")
    cust = world.peer("s1", "cust")
    assert cust.ice is not None and world.port.tcp_port is not None
    # The customer's UDP is gone; its browser checks in over TCP and nominates that.
    sock = await tcp_connect(world.port.tcp_port)
    try:
        username = f"{cust.ice.local_username}:{client_ufrag(customer)}"
        response = await check_in(sock, username, cust.ice.local_password)
        assert response.message_class == stun.Class.RESPONSE
        assert response.attributes["XOR-MAPPED-ADDRESS"] == sock.getsockname()
        await world.probe.until(lambda: cust.ice is not None and cust.ice.moves == 1, "moved")
        assert cust.ice.selected_address == sock.getsockname()
        # The agent's voice now comes down the connection, one SRTP packet per frame.
        async with asyncio.timeout(10):
            frames = [await read_frame(sock) for _ in range(20)]
        srtp = [f for f in frames if 0x80 <= f[0] <= 0xBF]
        assert len(srtp) >= 15
        stats = world.port.stats()
        transport = stats["transports"][cust.transport_id]
        assert transport["protocol"] == "tcp"
        assert transport["nominated"] == sock.getsockname()
        assert stats["tcp"]["connections"] == 1
    finally:
        sock.close()


@pytest.fixture
def media_socket() -> Iterator[MediaSocket]:
    media = MediaSocket(
        "127.0.0.1", 0, tcp_stall_timeout=0.5, tcp_ice_timeout=0.5, tcp_queue_bytes=4096
    )
    try:
        yield media
    finally:
        media.close()


async def test_a_tcp_reader_that_stops_is_cut_and_counted(media_socket: MediaSocket) -> None:
    tcp_address = media_socket.tcp_address
    assert tcp_address is not None
    transport = media_socket.add_transport(1, 1, "srvufrag", "server-password-0123456789")
    sock = await tcp_connect(tcp_address[1], receive_buffer=4096)
    try:
        response = await check_in(sock, "srvufrag:client", "server-password-0123456789")
        assert response.message_class == stun.Class.RESPONSE
        # The client reads nothing more while a ~480 kB/s stream comes its way: the
        # kernel's buffers fill, then the queue, then the rest is dropped; with no
        # progress for 0.5 s the port resets the connection.
        record = b"\x17\xfe\xfd" + bytes(1200)
        refused = 0

        async def stream() -> None:
            nonlocal refused
            while True:
                refused += sum(not media_socket.send(transport, record) for _ in range(4))
                await asyncio.sleep(0.01)  # the stream's pace, not a wait for an event

        sending = asyncio.create_task(stream())
        try:
            assert await hung_up(sock, within=15.0), "the stalled connection was cut"
        finally:
            sending.cancel()
        assert refused == 0, "queued or dropped, never refused: the path stays nominated"
    finally:
        sock.close()
    stats = media_socket.stats()
    assert stats["tcp"]["closed"] == {"tcp_stalled": 1}
    assert stats["tcp"]["connections"] == 0
    drops = stats["transports"][transport]["drops"]
    assert drops["tcp_control_dropped"] > 0


async def test_garbage_and_silence_are_closed_quickly(media_socket: MediaSocket) -> None:
    tcp_address = media_socket.tcp_address
    assert tcp_address is not None
    loop = asyncio.get_running_loop()
    talker = await tcp_connect(tcp_address[1])
    silent = await tcp_connect(tcp_address[1])
    try:
        await loop.sock_sendall(talker, b"GET / HTTP/1.1\r\nHost: media\r\n\r\n")
        assert await hung_up(talker, within=2.0), "garbage: reset at once"
        assert await hung_up(silent, within=5.0), "no ICE check in time: reset"
    finally:
        talker.close()
        silent.close()
    stats = media_socket.stats()
    assert stats["tcp"]["closed"] == {"tcp_garbage": 1, "tcp_ice_timeout": 1}
    assert stats["tcp"]["accepted"] == 2


def test_a_port_without_tcp_offers_none() -> None:
    media = MediaSocket("127.0.0.1", 0, tcp=False)
    try:
        assert media.tcp_address is None
        assert media.stats()["tcp"]["accepted"] == 0
    finally:
        media.close()
