"""Recordings of sessions that do not go smoothly, and of a customer on Firefox.

- The customer's camera is switched mid-session, then the media path drops and comes
  back on a new connection in the same session: the recording plays through, with the
  other camera's picture after the switch and the outage as a gap in real time (the
  recorder re-anchors a track on its arrival time after a stream change or a jump:
  rust_fastpath/src/record/timeline.rs), so the file lasts as long as the session.
- The customer is on Firefox (its own VP8 packetisation, fake devices): the recording
  is as valid as Chromium's.

Chromium's fake device has one camera (a second, with ``device-count=2``, delivers Y16,
which the WebRTC encoder does not take: see test_tools.py), so the phone here gets one by
an init script: the page lists one more video input, and opening it opens the fake
camera at 320x240 (4:3; the first camera's picture is 16:9). The page's own switch runs
as on a phone: a new track from getUserMedia put on the same sender (replaceTrack).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Account, LiveServer, NattedServer, NewPage
from tests.e2e.console import sign_in
from tests.e2e.test_firefox import (  # noqa: F401 (fixtures)
    NewFirefox,
    firefox_server,
    geckodriver,
    new_agent_page,
    new_firefox,
)
from tests.e2e.test_live_session import (
    COUNT_MEDIA_REQUESTS,
    COUNT_PEER_CONNECTIONS,
    MEDIA_TIMEOUT,
    accept_and_go_live,
    end_for_everyone,
    status_of,
    wait_for_frames,
)
from tests.e2e.test_recording_consent import (
    LIVE_SECONDS,
    check_recording,
    indicator,
    policy_account,
    recorded_session,
    the_recording,
)

pytestmark = pytest.mark.e2e

# The phone's second camera: listed by enumerateDevices, opened as the fake camera at
# another size and shape.
SECOND_CAMERA = """
(() => {
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const BACK = 'livelens-test-back-camera';
  const enumerate = devices.enumerateDevices.bind(devices);
  const open = devices.getUserMedia.bind(devices);
  devices.enumerateDevices = async () => {
    const found = await enumerate();
    const back = { deviceId: BACK, groupId: BACK, kind: 'videoinput', label: 'Back camera' };
    return found.some((d) => d.kind === 'videoinput') ? [...found, back] : found;
  };
  devices.getUserMedia = (constraints) => {
    const video = constraints && constraints.video;
    if (video && video.deviceId && video.deviceId.exact === BACK) {
      return open({ video: { width: { exact: 320 }, height: { exact: 240 } } });
    }
    return open(constraints);
  };
})();
"""
# The agent's picture of the customer is 4:3: the second camera's frames got through.
SHOWS_SECOND_CAMERA = """() => {
  const v = document.querySelector('[data-testid="remote-video"]');
  return !!v && v.videoWidth > 0 && v.videoWidth * 3 === v.videoHeight * 4;
}"""
STEADY_SECONDS = 3  # media recorded between the steps: nothing to wait for instead


@pytest.fixture(scope="module")
def natted_recording_account(natted_server: NattedServer) -> tuple[Account, Account]:
    return policy_account(natted_server.server, "natrec", "agent")


def switch_camera(agent: Page, customer: Page) -> None:
    """The agent switches the customer's camera; the agent then sees the other one."""
    switch = agent.get_by_test_id("switch-camera")
    expect(switch).to_have_attribute("data-available", "true", timeout=MEDIA_TIMEOUT)
    switch.click()
    expect(customer.get_by_test_id("camera-notice")).to_contain_text("switched your camera")
    agent.wait_for_function(SHOWS_SECOND_CAMERA, timeout=MEDIA_TIMEOUT)


def test_a_recording_with_a_camera_switch_and_a_network_drop_plays_through(
    new_natted_page: NewPage, natted_server: NattedServer,
    natted_recording_account: tuple[Account, Account], tmp_path: Path,
) -> None:  # fmt: skip
    server, nat = natted_server.server, natted_server.nat
    admin, agent_account = natted_recording_account
    agent, customer = recorded_session(
        new_natted_page, agent_account,
        init_script=COUNT_MEDIA_REQUESTS + COUNT_PEER_CONNECTIONS + SECOND_CAMERA,
    )  # fmt: skip
    customer.get_by_test_id("consent-record").check()
    accept_and_go_live(agent, customer)
    indicator(agent).to_have_attribute("data-state", "on", timeout=MEDIA_TIMEOUT)
    session_id = agent.get_by_test_id("session-view").get_attribute("data-session-id")
    assert session_id
    time.sleep(STEADY_SECONDS)
    switch_camera(agent, customer)
    time.sleep(STEADY_SECONDS)

    # The media path drops (both ways, the signalling socket stays up) until the phone
    # has offered a new connection; then it comes back.
    peers = int(customer.evaluate("window.__peerConnections"))
    frames = wait_for_frames(agent, "remote-video", 0)
    nat.cut()
    cut_at = time.monotonic()
    try:
        customer.wait_for_function(
            "(n) => window.__peerConnections > n", arg=peers, timeout=2 * MEDIA_TIMEOUT
        )
    finally:
        nat.restore()
    cut_s = time.monotonic() - cut_at
    expect(customer.get_by_test_id("live-status")).to_have_attribute(
        "data-state", "live", timeout=MEDIA_TIMEOUT
    )
    wait_for_frames(agent, "remote-video", frames + 10)  # new frames, through the new path
    outage_s = time.monotonic() - cut_at
    agent.wait_for_function(SHOWS_SECOND_CAMERA)  # still the second camera
    indicator(agent).to_have_attribute("data-state", "on")  # recording the whole time
    indicator(customer).to_have_attribute("data-state", "on")
    time.sleep(STEADY_SECONDS)
    end_for_everyone(agent)
    status_of(agent).to_have_attribute("data-state", "ended")

    session, webm = the_recording(server, admin, session_id, tmp_path)
    # It plays through: the decoder reports nothing, both tracks last the session, and
    # the frame counts agree with the rates over the time with media; the video pauses
    # once. Real time is kept: the pause is no shorter than the cut, and no longer than
    # the time until the agent saw new frames (with a second for the key frame asked).
    recorded = check_recording(webm, session["duration"], gaps=1)
    [(before, gap)] = recorded.gaps
    assert cut_s - 0.5 <= gap <= outage_s + 1.0, (gap, cut_s, outage_s)
    shown = recorded.frames
    assert shown[0][0] < 1.0 and shown[-1][0] > recorded.duration - 1.0, (shown, recorded)
    # Both cameras are in the file: 16:9 first, the second camera's 4:3 from the switch
    # on, before the gap and across it to the end.
    assert shown[0][1] * 9 == shown[0][2] * 16, shown[0]
    switched = next(i for i, (_, w, h) in enumerate(shown) if w * 3 == h * 4)
    assert shown[switched][0] < before, (shown[switched], before)
    assert all(w * 3 == h * 4 for _, w, h in shown[switched:]), "the first camera came back"


def test_a_customer_on_firefox_is_recorded(
    new_agent_page: NewPage, new_firefox: NewFirefox, firefox_server: LiveServer,  # noqa: F811
    tmp_path: Path,
) -> None:  # fmt: skip
    # An account that records every session: the recording is part of the consent.
    admin, agent_account = policy_account(firefox_server, "ffrec", "always")
    agent = new_agent_page()
    sign_in(agent, agent_account)
    expect(agent.get_by_test_id("new-session-record")).to_be_checked()
    agent.get_by_test_id("new-session").click()
    status_of(agent).to_have_attribute("data-state", "waiting")
    session_id = agent.get_by_test_id("session-view").get_attribute("data-session-id")
    assert session_id

    customer = new_firefox(390, 844, mobile=True)
    customer.goto(agent.get_by_test_id("join-link").input_value().strip())
    assert "will be recorded" in customer.visible("consent-recording").text
    customer.click("consent-accept")
    status_of(agent).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    wait_for_frames(agent, "remote-video", 10)
    indicator(agent).to_have_attribute("data-state", "on", timeout=MEDIA_TIMEOUT)
    customer.attribute_becomes("recording-indicator", "data-state", "on")
    time.sleep(LIVE_SECONDS)  # real media time to record: nothing to wait for instead
    end_for_everyone(agent)
    status_of(agent).to_have_attribute("data-state", "ended")

    session, webm = the_recording(firefox_server, admin, session_id, tmp_path)
    assert session["recording"] == "always"
    check_recording(webm, session["duration"])
