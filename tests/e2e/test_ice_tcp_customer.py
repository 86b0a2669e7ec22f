"""A live session when only the customer's side loses UDP: the customer's browser
reaches the media port over ICE-TCP while the agent's stays on UDP.

Per browser: the customer's Chromium is a second browser whose executable is a wrapper
that moves itself into a cgroup v2 group of its own, then runs Chromium (Playwright
talks to it over inherited pipes, so the wrapper is transparent). In a private network
namespace (see ``netns``), an nftables ``socket cgroupv2`` rule drops every UDP
datagram that a socket of that group sends or would receive; the server and the
agent's Chromium, outside the group, keep UDP. (``--force-webrtc-ip-handling-policy``
does not stop UDP on loopback, and a uid match would need a profile directory the
other user may write.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, NewPage, page_factory
from tests.e2e.netns import (
    customer_ends,
    dropped,
    go_live,
    inside_only,
    media_goes_on,
    new_cgroup,
    outside_only,
    run_inside,
    selected_pair,
)

pytestmark = pytest.mark.e2e

# The customer's browser's group, below the hierarchy's root (set for the inner run).
CUSTOMER_CGROUP = "LIVELENS_E2E_CUSTOMER_CGROUP"
TABLE = "livelens_customer_no_udp"
# Every UDP datagram a socket of the customer's group sends, or is sent, is dropped.
CUSTOMER_NO_UDP = """
table inet {table} {{
  chain output {{
    type filter hook output priority 0; policy accept;
    socket cgroupv2 level {level} "{path}" meta l4proto udp counter drop
  }}
  chain input {{
    type filter hook input priority 0; policy accept;
    socket cgroupv2 level {level} "{path}" meta l4proto udp counter drop
  }}
}}
"""


@outside_only
def test_a_session_works_when_only_the_customer_has_no_udp() -> None:
    with new_cgroup("livelens-customer") as group:
        if group is None:
            pytest.skip("no writable cgroup v2 hierarchy for the customer's browser")
        ruleset = CUSTOMER_NO_UDP.format(table=TABLE, level=group.level, path=group.path)
        run_inside(
            __file__,
            "test_inside_the_customer_goes_over_tcp_and_the_agent_over_udp",
            ruleset,
            setup=group.setup,
            env={CUSTOMER_CGROUP: str(group.procs)},
        )


@pytest.fixture
def customer_browser(browser: Browser, tmp_path: Path) -> Iterator[Browser]:
    """Chromium in the customer's group (its processes file is in CUSTOMER_CGROUP)."""
    wrapper = tmp_path / "chromium-in-customer-group"
    wrapper.write_text(f'#!/bin/sh\necho $$ > {os.environ[CUSTOMER_CGROUP]} || exit 1\n'
                       f'exec {CHROMIUM} "$@"\n')  # fmt: skip
    wrapper.chmod(0o755)
    chromium = browser.browser_type.launch(
        executable_path=wrapper, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def new_customer_page(
    customer_browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    """Like new_page, in the customer's Chromium."""
    with page_factory(customer_browser, live_server, request) as factory:
        yield factory


@inside_only
def test_inside_the_customer_goes_over_tcp_and_the_agent_over_udp(
    new_page: NewPage, new_customer_page: NewPage, live_server: LiveServer
) -> None:
    # The agent decodes the customer's video, and both hear each other.
    agent, customer = go_live(new_page, new_customer_page, live_server, "udpagent")
    media_goes_on(agent, customer)
    # The customer's browser tried UDP (the rule dropped it) and went over TCP to our
    # passive candidate; the agent's stayed on UDP.
    assert selected_pair(customer).protocols == "tcp:active:tcp"
    assert selected_pair(agent).protocols == "udp::udp"
    assert dropped(TABLE, "output") > 0
    customer_ends(agent, customer)
