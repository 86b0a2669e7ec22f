"""A live session when every UDP datagram is dropped: media goes over ICE-TCP.

The server and Chromium run inside a private network namespace (``unshare -n``) whose
nftables ruleset drops all UDP, so neither browser can reach the media port's UDP
socket; the answer's passive TCP candidate is the only way. Besides its loopback the
namespace has a veth pair with an address and a default route: Chromium gathers no
candidates at all on a machine with loopback only. The
outer test makes the namespace and runs pytest again inside it on the inner test, which
uses the usual fixtures (a ``livelens serve`` process, Chromium): both start inside.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import REPO, LiveServer, NewPage
from tests.e2e.test_live_session import (
    COUNT_MEDIA_REQUESTS,
    accept_and_go_live,
    phone,
    start_session,
    status_of,
    wait_for_frames,
    wait_for_stat,
)

pytestmark = pytest.mark.e2e

INSIDE = "LIVELENS_E2E_NO_UDP"
# Every UDP datagram leaving any socket of the namespace is dropped (and counted).
NO_UDP = """
table inet livelens_no_udp {
  chain output {
    type filter hook output priority 0; policy accept;
    meta l4proto udp counter drop
  }
}
"""
# Run in the new namespace before anything else (the rules come on standard input).
NAMESPACE_SETUP = (
    "ip link set lo up"
    " && ip link add llv0 type veth peer name llv1"
    " && ip addr add 10.200.0.1/24 dev llv0"
    " && ip link set llv0 up && ip link set llv1 up"
    " && ip route add default dev llv0"
    " && nft -f -"
)

# Test-side instrumentation: keep the page's peer connections, to read their stats.
KEEP_PEER_CONNECTIONS = """
(() => {
  window.__pcs = [];
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
})();
"""

# The candidate pair the page's last connection selected: local protocol and TCP type,
# remote protocol.
SELECTED_PROTOCOL = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const stats = await pc.getStats();
  for (const s of stats.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = stats.get(s.selectedCandidatePairId);
      const local = stats.get(pair.localCandidateId);
      const remote = stats.get(pair.remoteCandidateId);
      return `${local.protocol}:${local.tcpType || ''}:${remote.protocol}`;
    }
  }
  return null;
}
"""


def _why_no_namespace() -> str | None:
    """Why the namespace cannot be made here, or None."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "unshare -n and nftables need root (CI runs as root)"
    for tool in ("unshare", "nft", "ip"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (scripts/setup.sh --test installs nftables)"
    probe = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", NAMESPACE_SETUP],
        input=NO_UDP, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        return f"cannot make a UDP-less network namespace: {probe.stderr.strip()}"
    return None


@pytest.mark.skipif(os.environ.get(INSIDE) == "1", reason="the inner run is the test itself")
def test_a_session_works_with_every_udp_datagram_dropped() -> None:
    reason = _why_no_namespace()
    if reason is not None:
        pytest.skip(reason)
    inner = f"{Path(__file__).relative_to(REPO)}::test_inside_the_namespace_media_goes_over_tcp"
    script = f"{NAMESPACE_SETUP} && exec {sys.executable} -m pytest -q -p no:cacheprovider {inner}"
    done = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", script],
        input=NO_UDP,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, INSIDE: "1"},
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"the run inside the namespace failed:\n{output}"
    assert re.search(r"\b1 passed\b", output), output


def _udp_dropped() -> int:
    """Datagrams the namespace's rule dropped so far."""
    listing = subprocess.run(
        ["nft", "list", "chain", "inet", "livelens_no_udp", "output"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"counter packets (\d+)", listing)
    assert match is not None, listing
    return int(match.group(1))


def _selected_protocol(page: Page) -> str:
    return str(page.evaluate(SELECTED_PROTOCOL))


@pytest.mark.skipif(os.environ.get(INSIDE) != "1", reason="runs inside the UDP-less namespace")
def test_inside_the_namespace_media_goes_over_tcp(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page()
    agent.context.add_init_script(KEEP_PEER_CONNECTIONS)
    invitation = start_session(agent, live_server, "tcponly")
    customer = phone(new_page, init_script=COUNT_MEDIA_REQUESTS + KEEP_PEER_CONNECTIONS)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)  # the agent decodes the customer's video
    status_of(agent).to_contain_text("Live")
    # Both hear each other: decoded sound on each side.
    wait_for_stat(agent, "audio-energy", 0)
    wait_for_stat(customer, "audio-energy", 0)
    frames = wait_for_frames(agent, "remote-video", 10)
    wait_for_frames(agent, "remote-video", frames + 30)
    # Over TCP: both browsers' selected pairs are TCP to our passive candidate, and the
    # browsers did try UDP (the rule dropped their datagrams).
    assert _selected_protocol(customer) == "tcp:active:tcp"
    assert _selected_protocol(agent) == "tcp:active:tcp"
    assert _udp_dropped() > 0
    customer.get_by_test_id("customer-end").click()
    status_of(agent).to_have_attribute("data-outcome", "completed")
