"""A customer who loses UDP mid-session goes on over ICE-TCP, in the same session.

The server's media port is reached through the NAT-like forwarder (``udp_nat``) with
its TCP relay on: the session goes live over UDP, then the forwarder drops every
datagram while TCP to the media port's ICE-TCP twin still passes. Chromium keeps the
TCP candidate pair checked beside the UDP one, so it moves the running connection
onto it (the server follows the move). Then the phone's TCP connections break too, and
for a moment nothing passes, as when it moves to another network that blocks UDP: the
page's media-lost recovery makes a new connection (a new offer over the signalling
socket, which never dropped), whose UDP checks fail and whose TCP pair carries media.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import NattedServer, NewPage, page_factory, serving
from tests.e2e.netns import (
    customer_ends,
    go_live,
    media_goes_on,
    selected_pair,
    wait_for_selected_protocols,
)
from tests.e2e.test_live_session import MEDIA_TIMEOUT
from tests.e2e.udp_nat import UdpNat

pytestmark = pytest.mark.e2e

PUBLIC_IP = "127.0.0.3"  # the forwarder's address (conftest's natted_server uses .2)
TCP = "tcp:active:tcp"  # the browser's active candidate to our passive one


@pytest.fixture(scope="module")
def tcp_natted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NattedServer]:
    """Like conftest's natted_server, with the forwarder relaying TCP too."""
    with UdpNat(PUBLIC_IP, tcp=True) as nat:
        data_dir = tmp_path_factory.mktemp("livelens-tcp-natted")
        with serving(data_dir, "--media-announce-ip", PUBLIC_IP, media_port=nat.port) as server:
            nat.forward_to(("127.0.0.1", nat.port))
            yield NattedServer(server, nat)


@pytest.fixture
def new_tcp_natted_page(
    browser: Browser, tcp_natted_server: NattedServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Like new_page, against the server behind the UDP and TCP forwarder."""
    with page_factory(browser, tcp_natted_server.server, request) as factory:
        yield factory


def test_udp_lost_mid_session_and_media_goes_on_over_tcp(
    new_tcp_natted_page: NewPage, tcp_natted_server: NattedServer
) -> None:
    server, nat = tcp_natted_server.server, tcp_natted_server.nat
    agent, customer = go_live(new_tcp_natted_page, new_tcp_natted_page, server, "fallback")
    assert selected_pair(customer).protocols == "udp::udp"
    assert selected_pair(agent).protocols == "udp::udp"

    # UDP is lost for good; TCP still passes: the customer's media moves to TCP.
    nat.cut()
    wait_for_selected_protocols(customer, TCP)
    media_goes_on(agent, customer)
    assert nat.dropped > 0

    # Then the phone moves to another network that blocks UDP: its TCP connections
    # break and, for a moment, nothing gets through. The page gives up on its
    # connection and makes a new one; by then TCP passes again.
    connections = nat.connections
    peers = int(customer.evaluate("window.__pcs.length"))
    nat.block_tcp()
    try:
        customer.wait_for_function(
            "(n) => window.__pcs.length > n", arg=peers, timeout=2 * MEDIA_TIMEOUT
        )
    finally:
        nat.allow_tcp()
    wait_for_selected_protocols(customer, TCP)
    media_goes_on(agent, customer)
    assert nat.connections > connections
    assert selected_pair(customer).protocols == TCP  # UDP did not come back

    customer_ends(agent, customer)
