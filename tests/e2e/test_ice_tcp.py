"""A live session when every UDP datagram is dropped: media goes over ICE-TCP.

The server and Chromium run inside a private network namespace (``unshare -n``) whose
nftables ruleset drops all UDP, so neither browser can reach the media port's UDP
socket; the answer's passive TCP candidate is the only way (see ``netns``: the outer
test runs pytest again inside the namespace on the inner test).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.netns import (
    customer_ends,
    dropped,
    go_live,
    inside_only,
    media_goes_on,
    outside_only,
    run_inside,
    selected_pair,
)

pytestmark = pytest.mark.e2e


@outside_only
def test_a_session_works_with_every_udp_datagram_dropped() -> None:
    run_inside(__file__, "test_inside_the_namespace_media_goes_over_tcp")


@inside_only
def test_inside_the_namespace_media_goes_over_tcp(
    new_page: NewPage, live_server: LiveServer
) -> None:
    # The agent decodes the customer's video, and both hear each other.
    agent, customer = go_live(new_page, new_page, live_server, "tcponly")
    media_goes_on(agent, customer)
    # Over TCP: both browsers' selected pairs are TCP to our passive candidate, and the
    # browsers did try UDP (the rule dropped their datagrams).
    assert selected_pair(customer).protocols == "tcp:active:tcp"
    assert selected_pair(agent).protocols == "tcp:active:tcp"
    assert dropped("livelens_no_udp", "output") > 0
    customer_ends(agent, customer)
