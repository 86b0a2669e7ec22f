"""The web port shared with media: the media port owns its listener, keeps connections
whose first bytes are framed STUN (ICE-TCP) and hands TLS/HTTP ones to Tornado with the
peer's real address. Real sockets; the raw ICE-TCP client of test_ice_tcp.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tornado.web
from aioice import stun
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from livelens.http import tls
from livelens.http.connections import LimitedHTTPServer
from livelens.media.ice_lite import tcp_local_preference
from livelens.media.media_port import MediaPort
from tests.media.clients import agent_client, customer_client
from tests.media.test_ice_tcp import CANDIDATE, check_in, hung_up, read_frame, tcp_connect
from tests.media.test_media_port import PortWorld, client_ufrag, port_world

OTHER_CLIENT = "127.0.0.2"  # a second loopback address: the address the server must see


class RemoteIp(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write(self.request.remote_ip or "")


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[PortWorld]:
    """A media port sharing its web port with an HTTPS server that says who called."""
    cert, key = tls.ensure_self_signed(tmp_path, "127.0.0.1")
    port = MediaPort("127.0.0.1", 0, host_addresses=["127.0.0.1"], web_hosts=["127.0.0.1"])
    server = LimitedHTTPServer(
        tornado.web.Application([("/ip", RemoteIp)]), ssl_options=tls.server_context(cert, key)
    )
    port.on_web_connection(server.adopt)
    try:
        async with port_world(port) as world:
            yield world
    finally:
        server.stop()
        await server.close_all_connections()


async def who_am_i(port: int) -> str:
    request = HTTPRequest(
        f"https://127.0.0.1:{port}/ip", network_interface=OTHER_CLIENT, validate_cert=False
    )
    response = await AsyncHTTPClient().fetch(request, raise_error=True)
    return response.body.decode()


async def test_an_ice_tcp_leg_and_https_share_the_web_port(shared: PortWorld) -> None:
    world = shared
    web_port = world.port.web_port
    assert web_port is not None and web_port != world.port.port
    customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
    await world.join("s1", "cust", customer)
    await world.join("s1", "agent", agent)
    await world.connected("s1", "cust", "agent")
    # The answer offers the web port too, as passive TCP under the TCP twin.
    found = {(m[0], m[3]): int(m[1]) for m in CANDIDATE.findall(world.answers["cust"])}
    twin, web = found[("tcp", str(world.port.port))], found[("tcp", str(web_port))]
    assert web < twin < found[("udp", str(world.port.port))]
    assert (web >> 8) & 0xFFFF == tcp_local_preference(4095)

    # The customer's browser moves to the web port over TCP; HTTPS goes on beside it.
    cust = world.peer("s1", "cust")
    assert cust.ice is not None
    sock = await tcp_connect(web_port)
    try:
        username = f"{cust.ice.local_username}:{client_ufrag(customer)}"
        response = await check_in(sock, username, cust.ice.local_password)
        assert response.message_class == stun.Class.RESPONSE
        await world.probe.until(lambda: cust.ice is not None and cust.ice.moves == 1, "moved")
        assert await who_am_i(web_port) == OTHER_CLIENT  # the real peer, not the port's
        async with asyncio.timeout(10):
            frames = [await read_frame(sock) for _ in range(20)]
        assert sum(0x80 <= f[0] <= 0xBF for f in frames) >= 15  # the agent's SRTP
        assert await who_am_i(web_port) == OTHER_CLIENT
        transport = world.port.stats()["transports"][cust.transport_id]
        assert (transport["protocol"], transport["nominated"]) == ("tcp", sock.getsockname())
    finally:
        sock.close()
    counts = world.port.socket.web_port_stats()
    assert counts["ice_tcp"] == 1
    assert counts["web"] >= 1
    assert "garbage" not in counts


async def test_garbage_on_the_web_port_is_reset_and_counted(shared: PortWorld) -> None:
    assert shared.port.web_port is not None
    sock = await tcp_connect(shared.port.web_port)
    try:
        await asyncio.get_running_loop().sock_sendall(sock, b"\x00\x05hello")
        assert await hung_up(sock, within=5.0)
    finally:
        sock.close()
    assert shared.port.socket.web_port_stats() == {"accepted": 1, "garbage": 1}
