"""A live support session end to end: an agent in the console, a customer on a phone.

Two browser contexts stand for two devices. Chromium's fake camera and microphone
feed real media through the server's relay; the tests check what each side decodes
(video frames, audio packets), not just that an element says "playing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import LocatorAssertions, Page, expect

from tests.e2e.conftest import LiveServer, NattedServer, NewPage
from tests.e2e.console import screenshot, sign_in

pytestmark = pytest.mark.e2e

MEDIA_TIMEOUT = 20_000  # ms: ICE + DTLS + the first keyframe on a busy 2-core machine

# Test-side instrumentation: count camera/microphone requests made by the page.
COUNT_MEDIA_REQUESTS = """
(() => {
  window.__mediaRequests = 0;
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (...args) => {
    window.__mediaRequests += 1;
    return original(...args);
  };
})();
"""

# Test-side instrumentation: the customer refuses the browser's permission prompt.
REFUSE_MEDIA = """
(() => {
  window.__mediaRequests = 0;
  navigator.mediaDevices.getUserMedia = () => {
    window.__mediaRequests += 1;
    return Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  };
})();
"""


# Test-side instrumentation: count the peer connections the page makes.
COUNT_PEER_CONNECTIONS = """
(() => {
  window.__peerConnections = 0;
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      window.__peerConnections += 1;
    }
  };
})();
"""


@dataclass(frozen=True)
class Invitation:
    link: str
    pin: str


def start_session(page: Page, live_server: LiveServer, label: str) -> Invitation:
    """Sign a new agent in and start a session; returns what the customer gets."""
    sign_in(page, live_server.create_user(label))
    expect(page.get_by_test_id("nav-sessions")).to_have_attribute("aria-current", "page")
    page.get_by_test_id("new-session").click()
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-state", "waiting")
    link = page.get_by_test_id("join-link").input_value().strip()
    pin = re.sub(r"\s", "", page.get_by_test_id("session-pin").inner_text())
    assert re.fullmatch(re.escape(live_server.base_url) + r"/join#[A-Za-z0-9_-]{20,}", link), link
    assert re.fullmatch(r"\d{6}", pin), pin
    return Invitation(link, pin)


def phone(new_page: NewPage, *, init_script: str | None = None) -> Page:
    """A phone-sized browser context (another device) with camera and microphone allowed."""
    page = new_page(390, 844, mobile=True)
    page.context.grant_permissions(["camera", "microphone"])
    page.context.add_init_script(init_script or COUNT_MEDIA_REQUESTS)
    return page


def status_of(page: Page) -> LocatorAssertions:
    return expect(page.get_by_test_id("session-status"))


def wait_for_frames(page: Page, testid: str, more_than: int) -> int:
    """Wait until the <video> has decoded more than `more_than` frames; returns the count."""
    handle = page.wait_for_function(
        """([selector, n]) => {
            const video = document.querySelector(selector);
            if (!video || !video.srcObject) return false;
            const frames = video.getVideoPlaybackQuality().totalVideoFrames;
            return frames > n && video.videoWidth > 0 ? frames : false;
        }""",
        arg=[f'[data-testid="{testid}"]', more_than],
        timeout=MEDIA_TIMEOUT,
    )
    return int(handle.json_value())


def wait_for_stat(page: Page, attribute: str, more_than: float) -> float:
    """Wait until the connection indicator's `data-<attribute>` (from RTCPeerConnection
    stats) exceeds `more_than`; returns the value."""
    handle = page.wait_for_function(
        """([attribute, n]) => {
            const el = document.querySelector('[data-testid="connection-quality"]');
            const value = el ? Number(el.getAttribute('data-' + attribute)) : NaN;
            return value > n ? value : false;
        }""",
        arg=[attribute, more_than],
        timeout=MEDIA_TIMEOUT,
    )
    return float(handle.json_value())


def end_for_everyone(agent: Page) -> None:
    """The console's *End for everyone*, confirmed in its dialog."""
    agent.get_by_test_id("end-session").click()
    expect(agent.get_by_test_id("dialog")).to_contain_text("End the session for everyone?")
    agent.get_by_test_id("confirm-ok").click()


def accept_and_go_live(agent: Page, customer: Page) -> None:
    customer.get_by_test_id("consent-accept").click()
    local = customer.get_by_test_id("local-video")
    expect(local).to_be_visible()
    wait_for_frames(customer, "local-video", 0)
    status_of(agent).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    wait_for_frames(agent, "remote-video", 10)


def test_customer_joins_by_link_and_both_sides_hear_and_see(
    new_page: NewPage, live_server: LiveServer, artifacts: Path
) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "liveagent")
    qr = agent.get_by_test_id("join-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0, "the QR code did not render"
    expect(agent.get_by_test_id("remote-video")).to_be_attached()
    screenshot(agent, artifacts, "session-agent-waiting-desktop")

    customer = phone(new_page)
    customer.goto(invitation.link)
    notice = customer.get_by_test_id("consent-notice")
    expect(notice).to_be_visible()
    for words in ("identity documents", "payment cards", "health information"):
        expect(notice).to_contain_text(words)
    expect(customer.get_by_test_id("join-company")).to_have_text(live_server.tenant)
    expect(customer.get_by_test_id("consent-agent")).to_have_text("Liveagent")  # not an address
    scopes = customer.get_by_test_id("consent-scopes")
    expect(scopes).to_contain_text("camera")
    expect(scopes).to_contain_text("microphone")
    expect(scopes).to_contain_text("this session only")
    # The token is gone from the address bar (and from the history entry).
    assert customer.evaluate("location.hash") == ""
    assert customer.evaluate("window.__mediaRequests") == 0
    status_of(agent).to_have_attribute("data-state", "joined")
    status_of(agent).to_contain_text("joined")
    screenshot(customer, artifacts, "session-customer-consent-phone")

    accept_and_go_live(agent, customer)
    assert customer.evaluate("window.__mediaRequests") == 1
    status_of(agent).to_contain_text("Live")
    # Both directions of audio arrive: the customer's microphone at the agent, and the
    # agent's microphone at the customer (inbound-rtp stats of each peer connection).
    wait_for_stat(agent, "audio-packets-received", 0)
    wait_for_stat(customer, "audio-packets-received", 0)
    wait_for_stat(agent, "audio-energy", 0)  # decoded sound, not just packets
    wait_for_stat(customer, "audio-energy", 0)
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    expect(agent.get_by_test_id("join-link")).to_be_hidden()  # the invitation is used up
    screenshot(agent, artifacts, "session-agent-live-desktop")
    screenshot(customer, artifacts, "session-customer-live-phone")

    # Mute and pause are shown to the other side.
    customer.get_by_test_id("customer-mute").click()
    expect(customer.get_by_test_id("customer-mute")).to_have_attribute("aria-pressed", "true")
    expect(agent.get_by_test_id("customer-muted")).to_be_visible()
    customer.get_by_test_id("customer-pause-video").click()
    expect(customer.get_by_test_id("video-paused-note")).to_be_visible()
    expect(agent.get_by_test_id("stage-overlay")).to_contain_text("paused their video")
    customer.get_by_test_id("customer-pause-video").click()
    customer.get_by_test_id("customer-mute").click()
    expect(agent.get_by_test_id("customer-muted")).to_be_hidden()
    expect(agent.get_by_test_id("stage-overlay")).to_be_hidden()
    agent.get_by_test_id("mute-mic").click()
    expect(agent.get_by_test_id("mute-mic")).to_have_attribute("aria-pressed", "true")
    expect(customer.get_by_test_id("agent-muted")).to_be_visible()

    customer.get_by_test_id("customer-end").click()
    expect(customer.get_by_test_id("session-ended")).to_be_visible()
    expect(customer.get_by_test_id("session-ended-message")).to_contain_text(
        "You ended the session"
    )
    status_of(agent).to_have_attribute("data-state", "ended")
    status_of(agent).to_have_attribute("data-outcome", "completed")
    expect(agent.get_by_test_id("summary-ended-by")).to_have_text("The customer")
    # The camera is off on the phone once the session is over.
    assert customer.evaluate("() => !document.querySelector('[data-testid=\"local-video\"]')"), (
        "the preview is still on screen"
    )
    agent.get_by_test_id("session-done").click()
    row = agent.get_by_test_id("session-list").get_by_test_id("session-row").first
    expect(row).to_have_attribute("data-outcome", "completed")
    expect(row.get_by_test_id("session-duration")).to_have_text(re.compile(r"\d+ s"))


def test_customer_declines_and_nothing_is_requested(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "declined")
    customer = phone(new_page)
    customer.goto(invitation.link)
    expect(customer.get_by_test_id("consent-notice")).to_be_visible()
    customer.get_by_test_id("consent-decline").click()
    ended = customer.get_by_test_id("session-ended")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("Nothing was shared")
    status_of(agent).to_have_attribute("data-state", "ended")
    status_of(agent).to_have_attribute("data-outcome", "declined")
    expect(agent.get_by_test_id("session-outcome")).to_contain_text("declined")
    assert customer.evaluate("window.__mediaRequests") == 0, "the camera was requested"


def test_customer_joins_with_the_pin(new_page: NewPage, live_server: LiveServer) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "pinagent")
    customer = phone(new_page)
    customer.goto("/join")
    pin_input = customer.get_by_test_id("pin-input")
    expect(pin_input).to_be_visible()
    wrong = "000000" if invitation.pin != "000000" else "111111"
    pin_input.fill(wrong)
    customer.get_by_test_id("pin-submit").click()
    expect(customer.get_by_test_id("join-error")).to_contain_text("PIN is not valid")
    pin_input.fill(f"{invitation.pin[:3]} {invitation.pin[3:]}")
    customer.get_by_test_id("pin-submit").click()
    expect(customer.get_by_test_id("consent-notice")).to_be_visible()
    expect(customer.get_by_test_id("consent-accept")).to_be_enabled()
    status_of(agent).to_have_attribute("data-state", "joined")
    assert customer.evaluate("window.__mediaRequests") == 0


def test_bad_and_used_links_explain_themselves(
    new_page: NewPage, live_server: LiveServer, artifacts: Path
) -> None:
    stranger = phone(new_page)
    stranger.goto("/join#notavalidtoken0000000000000000000")
    error = stranger.get_by_test_id("join-error")
    expect(error).to_contain_text("This link is not valid")
    expect(stranger.get_by_test_id("pin-input")).to_be_visible()  # a PIN still works
    assert stranger.evaluate("location.hash") == ""
    screenshot(stranger, artifacts, "session-customer-bad-link-phone")

    agent = new_page()
    invitation = start_session(agent, live_server, "usedlink")
    first = phone(new_page)
    first.goto(invitation.link)
    expect(first.get_by_test_id("consent-notice")).to_be_visible()
    other_device = phone(new_page)
    other_device.goto(invitation.link)
    expect(other_device.get_by_test_id("join-error")).to_contain_text(
        "already been used on another device"
    )
    expect(other_device.get_by_test_id("consent-notice")).to_have_count(0)


def test_agent_ends_and_the_customer_sees_it(new_page: NewPage, live_server: LiveServer) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "agentends")
    customer = phone(new_page)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    end_for_everyone(agent)
    expect(customer.get_by_test_id("session-ended")).to_be_visible()
    expect(customer.get_by_test_id("session-ended-message")).to_contain_text(
        "Agentends ended the session"
    )
    status_of(agent).to_have_attribute("data-state", "ended")
    status_of(agent).to_have_attribute("data-outcome", "completed")
    expect(agent.get_by_test_id("summary-ended-by")).to_have_text("You")


def test_camera_refused_in_the_browser_tells_the_agent(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "refused")
    customer = phone(new_page, init_script=REFUSE_MEDIA)
    customer.goto(invitation.link)
    customer.get_by_test_id("consent-accept").click()
    expect(customer.get_by_test_id("session-ended")).to_contain_text("Camera access is blocked")
    expect(customer.get_by_test_id("media-error")).to_contain_text("allow the camera")
    status_of(agent).to_have_attribute("data-outcome", "declined")
    assert customer.evaluate("window.__mediaRequests") == 1


def test_customer_network_drop_rejoins_the_same_session(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "dropagent")
    customer = phone(new_page)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    before = wait_for_frames(agent, "remote-video", 10)

    # The phone loses its network: the signalling socket drops, the page notices.
    customer.context.set_offline(True)
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "reconnecting")
    customer.context.set_offline(False)

    # It comes back into the same session with a new peer connection; the agent's video
    # keeps decoding frames that crossed the relay after the reconnect.
    expect(customer.get_by_test_id("live-status")).to_have_attribute(
        "data-state", "live", timeout=MEDIA_TIMEOUT
    )
    status_of(agent).to_have_attribute("data-state", "live")
    expect(agent.get_by_test_id("customer-state")).to_contain_text(
        "Connected", timeout=MEDIA_TIMEOUT
    )
    wait_for_frames(agent, "remote-video", before + 30)
    customer.get_by_test_id("customer-end").click()
    status_of(agent).to_have_attribute("data-outcome", "completed")


def test_media_path_lost_alone_is_restored_in_the_same_session(
    new_natted_page: NewPage, natted_server: NattedServer
) -> None:
    # Only the media path fails (a NAT drops its mapping, the phone roams) while the
    # signalling WebSocket stays up. The server is reached through a NAT-like forwarder,
    # so this also runs --media-announce-ip with real browsers.
    server, nat = natted_server.server, natted_server.nat
    agent = new_natted_page()
    invitation = start_session(agent, server, "natagent")
    customer = phone(new_natted_page, init_script=COUNT_MEDIA_REQUESTS + COUNT_PEER_CONNECTIONS)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    peers = int(customer.evaluate("window.__peerConnections"))

    nat.cut()
    try:
        # The page notices its connection is gone and offers a new one over the socket,
        # which never dropped.
        customer.wait_for_function(
            "(n) => window.__peerConnections > n", arg=peers, timeout=2 * MEDIA_TIMEOUT
        )
        live = customer.get_by_test_id("live-status")
        expect(live).not_to_have_attribute("data-state", "reconnecting")
        assert nat.dropped > 0
    finally:
        nat.restore()

    # Media flows again in the same session, through the new connection.
    expect(live).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    status_of(agent).to_have_attribute("data-state", "live")
    frames = wait_for_frames(agent, "remote-video", 0)
    wait_for_frames(agent, "remote-video", frames + 30)
    customer.get_by_test_id("customer-end").click()
    status_of(agent).to_have_attribute("data-outcome", "completed")
