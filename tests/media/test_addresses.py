"""Where the media port is reached and answers from: IPv6 host candidates on a port bound
dual-stack (``::``), IPv4 peers of that port seen as IPv4; replies that leave from the
address the peer wrote to on a port bound to a wildcard (IP_PKTINFO); and the web port's
candidate carrying the port browsers reach (the public URL's). Real sockets on loopback:
127.0.0.2 and 127.0.0.3 are further loopback addresses, ::1 the IPv6 one."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun

from livelens._fastpath import MediaSocket, TransportNominated
from livelens.config import Settings
from livelens.media import ice
from livelens.media.addresses import advertised_addresses, public_web_port, web_candidate_addresses
from livelens.media.media_port import MediaPort
from livelens.server import open_media_port
from tests.media.clients import agent_client, binding_request, customer_client
from tests.media.test_ice_tcp import CANDIDATE, frame
from tests.media.test_media_port import port_world, transport_stats

UFRAG, PWD = "srvr", "server-password-0123456789"
USERNAME = f"{UFRAG}:brws"


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1)")


@pytest.fixture
def media_socket(request: pytest.FixtureRequest) -> Iterator[MediaSocket]:
    """A media socket bound to the wildcard of the test's parameter, with one transport."""
    sock = MediaSocket(request.param, 0)
    sock.add_transport(1, 1, UFRAG, PWD)
    try:
        yield sock
    finally:
        sock.close()


def udp_client(ip: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    client = socket.socket(family, socket.SOCK_DGRAM)
    client.bind((ip, 0))
    client.settimeout(5)
    return client


def nominations(sock: MediaSocket) -> list[tuple[str, int]]:
    return [e.address for e in sock.poll_events() if isinstance(e, TransportNominated)]


# ---------------------------------------------------------------- replies (IP_PKTINFO)


@pytest.mark.parametrize("media_socket", ["0.0.0.0", "::"], indirect=True)
def test_replies_leave_from_the_address_the_peer_wrote_to(media_socket: MediaSocket) -> None:
    port = media_socket.local_address[1]
    client = udp_client("127.0.0.2")
    with client:
        # 127.0.0.1 is what the kernel would choose for 127.0.0.2; the peer wrote to .3.
        client.sendto(binding_request(os.urandom(12), USERNAME, PWD, use_candidate=True),
                      ("127.0.0.3", port))  # fmt: skip
        data, source = client.recvfrom(2048)
        assert source == ("127.0.0.3", port)
        response = stun.parse_message(data)
        assert response.attributes["XOR-MAPPED-ADDRESS"] == client.getsockname()  # IPv4
        assert nominations(media_socket) == [client.getsockname()]
        # What Python sends later (DTLS) takes the same way back.
        assert media_socket.send(1, b"\x16\xfe\xfd" + bytes(20))
        data, source = client.recvfrom(2048)
        assert (data[:3], source) == (b"\x16\xfe\xfd", ("127.0.0.3", port))


# ---------------------------------------------------------------- IPv6


@needs_ipv6
@pytest.mark.parametrize("media_socket", ["::"], indirect=True)
def test_a_dual_stack_port_answers_ipv6_checks_over_udp_and_tcp(media_socket: MediaSocket) -> None:
    port = media_socket.local_address[1]
    assert media_socket.tcp_address == ("::", port)
    with udp_client("::1") as client:
        client.sendto(binding_request(os.urandom(12), USERNAME, PWD), ("::1", port))
        data, source = client.recvfrom(2048)
        assert source[:2] == ("::1", port)
        assert stun.parse_message(data).attributes["XOR-MAPPED-ADDRESS"] == client.getsockname()[:2]
    for ip, family in (("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET)):
        with socket.create_connection((ip, port), timeout=5) as tcp:
            assert tcp.family == family
            request = binding_request(os.urandom(12), USERNAME, PWD, use_candidate=True)
            tcp.sendall(frame(request))
            (length,) = struct.unpack("!H", tcp.recv(2, socket.MSG_WAITALL))
            response = stun.parse_message(tcp.recv(length, socket.MSG_WAITALL))
            # An IPv4 peer of `::` is seen as IPv4, not as ::ffff:127.0.0.1.
            assert response.attributes["XOR-MAPPED-ADDRESS"] == tcp.getsockname()[:2]
            assert nominations(media_socket)[-1:] == [tcp.getsockname()[:2]]


@needs_ipv6
async def test_a_browser_over_ipv6_and_one_over_ipv4_share_a_session() -> None:
    port = MediaPort("::", 0, host_addresses=["127.0.0.1", "::1"])
    async with port_world(port) as world:
        customer, agent = customer_client(world.probe), agent_client("agent", world.probe)
        customer.addresses = ["::1"]
        await world.join("s1", "cust", customer)
        await world.join("s1", "agent", agent)
        found = {(m[0], m[2]): int(m[1]) for m in CANDIDATE.findall(world.answers["cust"])}
        # IPv6 candidates come after IPv4's, UDP and TCP alike.
        assert found[("udp", "::1")] < found[("udp", "127.0.0.1")]
        assert found[("tcp", "::1")] < found[("tcp", "127.0.0.1")] < found[("udp", "::1")]
        await world.connected("s1", "cust", "agent")
        world.hub.set_media_allowed("s1", True)  # the customer's consent
        await world.probe.until(lambda: len(agent.frames["video"]) >= 3, "the agent decodes")
        await world.probe.until(lambda: len(customer.frames["audio"]) >= 3, "the customer hears")
        cust, ag = world.peer("s1", "cust"), world.peer("s1", "agent")
        assert transport_stats(world, cust)["nominated"][0] == "::1"
        assert transport_stats(world, ag)["nominated"][0] == "127.0.0.1"


def test_a_dual_stack_port_offers_ipv6_addresses_after_ipv4_ones() -> None:
    with ice.host_addresses(["192.0.2.2", "2001:db8::2"]):
        assert advertised_addresses("::", None) == ["192.0.2.2", "2001:db8::2"]
        assert advertised_addresses("0.0.0.0", None) == ["192.0.2.2"]
    assert advertised_addresses("::1", None) == ["::1"]
    assert advertised_addresses("::", ["203.0.113.9"]) == ["203.0.113.9"]


def test_the_web_port_is_offered_only_on_addresses_it_listens_on() -> None:
    both = ["192.0.2.2", "2001:db8::2"]
    # A web port on 0.0.0.0 takes no IPv6: an IPv6 candidate there would be dead.
    assert web_candidate_addresses(both, ["0.0.0.0"], announced=False) == ["192.0.2.2"]
    assert web_candidate_addresses(both, ["::"], announced=False) == both
    assert web_candidate_addresses(both, ["2001:db8::2"], announced=False) == ["2001:db8::2"]
    # Announced (public) addresses forward, whatever listens here.
    assert web_candidate_addresses(["203.0.113.9"], ["0.0.0.0"], announced=True) == ["203.0.113.9"]


# ---------------------------------------------------------------- the web port's port


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("https://support.example.com/", 443),
        ("https://support.example.com:8443/x", 8443),
        ("http://support.example.com", 80),
        ("HTTPS://[2001:db8::1]/", 443),
        ("https://support.example.com:99999/", None),
        (None, None),
        ("", None),
    ],
)
def test_the_public_url_names_the_port_browsers_reach(url: str | None, port: int | None) -> None:
    assert public_web_port(url) == port


async def test_the_web_port_candidate_carries_the_public_port(tmp_path: Path) -> None:
    """Behind a port-forward (443 to the port bound here), the answer offers 443 for the
    shared web port, and the TCP twin's candidate keeps its own port."""
    settings = Settings(
        data_dir=tmp_path,
        store_url=f"sqlite:///{tmp_path / 'db'}",
        port=0,
        media_port=0,
        public_url="https://support.example.com/",
    )
    port = open_media_port(settings, web_hosts=["127.0.0.1"])
    async with port_world(port) as world:
        assert port.web_port not in (None, 443)
        assert port.web_candidate_port == 443
        customer = customer_client(world.probe)
        await world.join("s1", "cust", customer)
        candidates = CANDIDATE.findall(world.answers["cust"])
        tcp_ports = {int(m[3]) for m in candidates if m[0] == "tcp"}
        assert tcp_ports == {port.port, 443}
        await world.connected("s1", "cust")


async def test_without_a_public_url_the_bound_web_port_is_offered() -> None:
    port = MediaPort("127.0.0.1", 0, web_hosts=["127.0.0.1"])
    try:
        assert port.web_port is not None and port.web_candidate_port == port.web_port
    finally:
        port.close()
