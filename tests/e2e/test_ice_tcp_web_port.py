"""HTTPS and a live session's media share the web port: while both browsers' media runs
over ICE-TCP on the port HTTPS uses, a third page loads the console over HTTPS and a
second user signs in through that same port, and the media keeps flowing.

Inside a private network namespace (see ``netns``) every UDP datagram is dropped and
TCP to the media port's own TCP twin is refused, so the web port's passive candidate
is the browsers' only way. The server runs with a self-signed certificate (media on
the web port is on by default with TLS); the test trusts it (``SSL_CERT_FILE`` for the
set-up through the API, ``--ignore-certificate-errors`` for Chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect

from livelens.http import tls
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, NewPage, serving
from tests.e2e.console import sign_in
from tests.e2e.netns import (
    NO_UDP,
    SelectedPair,
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

TWIN = 15000  # the media port (its UDP and its TCP twin): any number is free inside
NO_TWIN = f"""
table inet livelens_no_twin {{
  chain output {{
    type filter hook output priority 0; policy accept;
    tcp dport {TWIN} counter reject with tcp reset
  }}
}}
"""


@outside_only
def test_https_and_a_sign_in_work_on_the_port_a_tcp_media_leg_uses() -> None:
    run_inside(__file__, "test_inside_https_and_media_share_the_web_port", NO_UDP + NO_TWIN)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The server over HTTPS, with media on its web port; its certificate trusted."""
    cert, key = tls.ensure_self_signed(tmp_path_factory.mktemp("certs"), "127.0.0.1")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SSL_CERT_FILE", str(cert))
        data_dir = tmp_path_factory.mktemp("livelens-tls")
        with serving(data_dir, "--tls-cert", str(cert), "--tls-key", str(key),
                     media_port=TWIN) as server:  # fmt: skip
            yield server


@pytest.fixture(scope="module")
def browser(browser: Browser) -> Iterator[Browser]:
    """Chromium that takes the server's self-signed certificate."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"],
    )
    yield chromium
    chromium.close()


@inside_only
def test_inside_https_and_media_share_the_web_port(
    new_page: NewPage, live_server: LiveServer
) -> None:
    assert live_server.base_url.startswith("https://")
    on_web_port = SelectedPair("tcp:active:tcp", urlsplit(live_server.base_url).port or 443)
    agent, customer = go_live(new_page, new_page, live_server, "webport")
    # Both browsers' media runs over TCP on the web port: they tried UDP and the
    # media port's TCP twin first (the rules dropped and refused them).
    assert selected_pair(customer) == on_web_port
    assert selected_pair(agent) == on_web_port
    assert dropped("livelens_no_udp", "output") > 0
    assert dropped("livelens_no_twin", "output") > 0

    # Meanwhile a third page loads the console over HTTPS and another user signs in,
    # through the same port.
    colleague = new_page()
    sign_in(colleague, live_server.create_user("colleague"))
    assert colleague.url.startswith(live_server.base_url)
    expect(colleague.get_by_test_id("nav-sessions")).to_have_attribute("aria-current", "page")

    # The media legs went on: the same connections on the same pairs, new frames and
    # sound both ways.
    media_goes_on(agent, customer)
    for page in (agent, customer):
        assert page.evaluate("window.__pcs.length") == 1
        assert selected_pair(page) == on_web_port
    customer_ends(agent, customer)
