"""Browser tests in a private network namespace whose nftables rules drop UDP.

The outer test makes the namespace (``unshare --net --mount``, as root) and runs pytest
again inside it on an inner test, which uses the usual fixtures (a ``livelens serve``
process, Chromium): both start inside, under the namespace's rules. Besides its
loopback the namespace has a veth pair with an address and a default route: Chromium
gathers no candidates at all on a machine with loopback only.

Also here: the steps of a live session that the ICE-TCP tests share, what they read
back (a page's selected ICE candidate pair, an nftables counter), and a cgroup v2 group
for rules that apply to one browser only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import REPO, LiveServer, NewPage
from tests.e2e.test_live_session import (
    COUNT_MEDIA_REQUESTS,
    MEDIA_TIMEOUT,
    accept_and_go_live,
    phone,
    start_session,
    status_of,
    wait_for_frames,
    wait_for_stat,
)

# Set (to "1") for the run inside the namespace.
INSIDE = "LIVELENS_E2E_IN_NETNS"
outside_only = pytest.mark.skipif(
    os.environ.get(INSIDE) == "1", reason="the inner run is the test itself"
)
inside_only = pytest.mark.skipif(
    os.environ.get(INSIDE) != "1", reason="runs inside a private network namespace"
)

# Every UDP datagram leaving any socket of the namespace is dropped (and counted).
NO_UDP = """
table inet livelens_no_udp {
  chain output {
    type filter hook output priority 0; policy accept;
    meta l4proto udp counter drop
  }
}
"""
# Run in the new namespace before anything else (then nft loads the rules).
NAMESPACE_SETUP = (
    "ip link set lo up"
    " && ip link add llv0 type veth peer name llv1"
    " && ip addr add 10.200.0.1/24 dev llv0"
    " && ip link set llv0 up && ip link set llv1 up"
    " && ip route add default dev llv0"
)
# Where nft looks for the groups that `socket cgroupv2` rules name.
NFT_CGROUP2 = Path("/sys/fs/cgroup")

# Test-side instrumentation: keep the page's peer connections, to read their ICE state.
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

# The candidate pair the page's newest connection uses now, as
# "<local protocol>:<local TCP type>:<remote protocol>:<remote port>", or null.
SELECTED_PAIR = """
() => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const withTransport = pc && [...pc.getSenders(), ...pc.getReceivers()].find((t) => t.transport);
  const pair = withTransport && withTransport.transport.iceTransport.getSelectedCandidatePair();
  if (!pair) return null;
  const { local, remote } = pair;
  return `${local.protocol}:${local.tcpType || ''}:${remote.protocol}:${remote.port}`;
}
"""


@dataclass(frozen=True)
class SelectedPair:
    protocols: str  # "udp::udp", or "tcp:active:tcp" to a passive ICE-TCP candidate
    remote_port: int


def selected_pair(page: Page) -> SelectedPair:
    """The candidate pair the page's newest peer connection uses now."""
    shown = page.evaluate(SELECTED_PAIR)
    assert shown, "the peer connection has no selected candidate pair"
    protocols, port = str(shown).rsplit(":", 1)
    return SelectedPair(protocols, int(port))


def wait_for_selected_protocols(page: Page, protocols: str) -> SelectedPair:
    """Wait until the page's newest peer connection uses a pair of ``protocols``."""
    page.wait_for_function(
        f"(wanted) => (({SELECTED_PAIR})() || '').startsWith(wanted + ':')",
        arg=protocols,
        timeout=2 * MEDIA_TIMEOUT,
    )
    return selected_pair(page)


def go_live(
    agent_pages: NewPage, customer_pages: NewPage, server: LiveServer, label: str
) -> tuple[Page, Page]:
    """An agent (a page from ``agent_pages``) starts a session, a customer on a phone
    (from ``customer_pages``) joins it, until the agent decodes the customer's video.
    Both pages keep their peer connections, for :func:`selected_pair`."""
    agent = agent_pages()
    agent.context.add_init_script(KEEP_PEER_CONNECTIONS)
    invitation = start_session(agent, server, label)
    customer = phone(customer_pages, init_script=COUNT_MEDIA_REQUESTS + KEEP_PEER_CONNECTIONS)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    return agent, customer


def media_goes_on(agent: Page, customer: Page) -> None:
    """The agent decodes new frames of the customer's camera, both decode new sound,
    and both pages say the session is live."""
    frames = wait_for_frames(agent, "remote-video", 0)
    wait_for_frames(agent, "remote-video", frames + 30)
    for page in (agent, customer):
        wait_for_stat(page, "audio-energy", wait_for_stat(page, "audio-energy", 0))
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    status_of(agent).to_have_attribute("data-state", "live")


def customer_ends(agent: Page, customer: Page) -> None:
    customer.get_by_test_id("customer-end").click()
    status_of(agent).to_have_attribute("data-outcome", "completed")


def why_no_namespace(ruleset: str = NO_UDP, setup: str = "") -> str | None:
    """Why the namespace cannot be made here, or None."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "unshare -n and nftables need root (CI runs as root)"
    for tool in ("unshare", "nft", "ip"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (scripts/setup.sh --test installs nftables)"
    probe = _unshare(_setup(setup, "true"), ruleset, timeout=30)
    if probe.returncode != 0:
        return f"cannot make the network namespace: {probe.stderr.strip()}"
    return None


def run_inside(module: str, test: str, ruleset: str = NO_UDP, *, setup: str = "",
               env: dict[str, str] | None = None) -> None:  # fmt: skip
    """Run the inner ``test`` of the test file ``module`` in a new namespace with the
    nftables ``ruleset``, after the shell commands ``setup``, with ``env`` added to the
    environment; fail with its output if it does not pass, skip if no namespace can be
    made here."""
    reason = why_no_namespace(ruleset, setup)
    if reason is not None:
        pytest.skip(reason)
    inner = f"{Path(module).resolve().relative_to(REPO)}::{test}"
    pytest_run = f"exec {sys.executable} -m pytest -q -p no:cacheprovider {inner}"
    done = _unshare(_setup(setup, pytest_run), ruleset, timeout=600,
                    env={**os.environ, **(env or {}), INSIDE: "1"})  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"the run inside the namespace failed:\n{output}"
    assert re.search(r"\b1 passed\b", output), output


def _setup(setup: str, then: str) -> str:
    return " && ".join(part for part in (NAMESPACE_SETUP, setup, "nft -f -", then) if part)


def _unshare(
    script: str, ruleset: str, *, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "--net", "--mount", "--", "sh", "-c", script],
        input=ruleset, capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env=env, check=False,
    )  # fmt: skip


def dropped(table: str, chain: str) -> int:
    """Packets the first counter of ``chain`` in the inet ``table`` counted so far."""
    listing = subprocess.run(
        ["nft", "list", "chain", "inet", table, chain],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"counter packets (\d+)", listing)
    assert match is not None, listing
    return int(match.group(1))


@dataclass(frozen=True)
class Cgroup:
    """A cgroup v2 group: ``path`` below the hierarchy's root, ``level`` its depth."""

    path: str
    level: int
    mount: Path  # where the hierarchy is mounted outside the namespace

    @property
    def setup(self) -> str:
        """Shell commands that make ``/sys/fs/cgroup`` the hierarchy in the namespace's
        own mounts, where nft resolves the group's name (and the group's processes file,
        :attr:`procs`, is found)."""
        return "" if self.mount == NFT_CGROUP2 else f"mount --bind {self.mount} {NFT_CGROUP2}"

    @property
    def procs(self) -> Path:
        """Its processes file, as seen in the namespace."""
        return NFT_CGROUP2 / self.path / "cgroup.procs"


@contextlib.contextmanager
def new_cgroup(name: str) -> Iterator[Cgroup | None]:
    """A new empty group below this process's, removed afterwards; None without a
    writable cgroup v2 hierarchy (the caller skips)."""
    mount = next(
        (Path(line.split()[1]) for line in Path("/proc/self/mounts").read_text().splitlines()
         if line.split()[2] == "cgroup2"),
        None,
    )  # fmt: skip
    own = next(
        (line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
         if line.startswith("0::")),
        None,
    )  # fmt: skip
    if mount is None or own is None:
        yield None
        return
    path = "/".join(part for part in [*own.split("/"), f"{name}-{os.getpid()}"] if part)
    directory = mount / path
    try:
        directory.mkdir()
    except OSError:
        yield None
        return
    try:
        yield Cgroup(path, path.count("/") + 1, mount)
    finally:
        with contextlib.suppress(OSError):
            directory.rmdir()  # its processes (the browser) have ended
