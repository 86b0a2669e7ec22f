"""A recorded session end to end: the agent chooses to record it (the account leaves it
to them), the customer's consent screen says so before *Allow*, both sides show the
recording indicator the whole time, and the recording is there afterwards, playable;
a customer who refuses the recording still gets a live session, with no indicator.

Chromium's fake camera and microphone feed real media through ``livelens serve``'s
media port, which records from the relayed packets.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import LocatorAssertions, Page, expect

from tests.e2e.conftest import Account, ApiClient, LiveServer, NewPage
from tests.e2e.console import screenshot, sign_in
from tests.e2e.test_live_session import (
    MEDIA_TIMEOUT,
    end_for_everyone,
    phone,
    status_of,
    wait_for_frames,
)
from tests.media.recordings import decode_errors, ffprobe, video_frames

pytestmark = pytest.mark.e2e

LIVE_SECONDS = 12  # how long the recorded session stays live
# How far a track's frame count may be from its rate times its media time. The fake
# cameras send a steady rate (20 or 30 frames/s) and Opus 50 packets/s, but the encoder
# skips frames when this 2-core machine is busy, and the first key frame comes a few
# hundred milliseconds into the file (10 % of 12 s is 1.2 s of frames).
FRAME_SLACK = 0.10
OPUS_FRAME_S = 0.020  # the browsers' Opus packet time (the WebM's blocks are packets)
PAUSE_S = 1.0  # a longer time between two video frames is a gap (no media came)


def policy_account(server: LiveServer, label: str, policy: str) -> tuple[Account, Account]:
    """A new account with this recording policy: its administrator and an agent."""
    admin = server.new_account(label)
    ApiClient(server.base_url).login(admin).request(
        "PATCH", "/api/account/policy", {"recording": policy}
    )
    return admin, server.create_user(f"{label}agent", admin=admin)


@pytest.fixture(scope="module")
def recording_account(live_server: LiveServer) -> tuple[Account, Account]:
    """An account whose policy leaves recording to the agent: its administrator and an
    agent."""
    return policy_account(live_server, "recorder", "agent")


def recorded_session(
    new_page: NewPage, account: Account, *, init_script: str | None = None
) -> tuple[Page, Page]:
    """The agent signs in, turns "Record this session" on and starts; the customer opens
    the link on a phone (with `init_script`, as ``phone``) and is asked about the
    recording. The two pages."""
    agent = new_page()
    sign_in(agent, account)
    record = agent.get_by_test_id("new-session-record")
    expect(record).to_be_visible()
    expect(record).not_to_be_checked()  # the agent's choice, never the default
    record.check()
    agent.get_by_test_id("new-session").click()
    status_of(agent).to_have_attribute("data-state", "waiting")
    expect(agent.get_by_test_id("recording-state")).to_have_attribute("data-state", "asked")
    customer = phone(new_page, init_script=init_script)
    customer.goto(agent.get_by_test_id("join-link").input_value().strip())
    expect(customer.get_by_test_id("consent-recording")).to_contain_text(
        "would like to record this session"
    )
    expect(customer.get_by_test_id("consent-record")).not_to_be_checked()  # theirs to tick
    return agent, customer


def indicator(page: Page) -> LocatorAssertions:
    return expect(page.get_by_test_id("recording-indicator"))


def test_the_customer_allows_the_recording_and_both_sides_see_it_until_the_end(
    new_page: NewPage, live_server: LiveServer, recording_account: tuple[Account, Account],
    artifacts: Path, tmp_path: Path,
) -> None:  # fmt: skip
    admin, agent_account = recording_account
    agent, customer = recorded_session(new_page, agent_account)
    customer.get_by_test_id("consent-record").check()
    screenshot(customer, artifacts, "recording-consent-phone")
    customer.get_by_test_id("consent-accept").click()
    status_of(agent).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    wait_for_frames(agent, "remote-video", 10)

    # Both sides: a red dot and "Recording", announced politely.
    for page in (agent, customer):
        indicator(page).to_have_attribute("data-state", "on", timeout=MEDIA_TIMEOUT)
        indicator(page).to_have_text("Recording")
        indicator(page).to_have_attribute("aria-live", "polite")
    expect(agent.get_by_test_id("recording-state")).to_have_attribute("data-state", "on")
    screenshot(agent, artifacts, "recording-agent-live-desktop")
    screenshot(customer, artifacts, "recording-customer-live-phone")
    time.sleep(LIVE_SECONDS)  # real media time to record: nothing to wait for instead
    for page in (agent, customer):  # still on, the whole time
        indicator(page).to_have_attribute("data-state", "on")
    session_id = agent.get_by_test_id("session-view").get_attribute("data-session-id")
    assert session_id
    end_for_everyone(agent)
    status_of(agent).to_have_attribute("data-state", "ended")
    indicator(agent).to_have_attribute("data-state", "off")

    # The recording is listed with the session, and its download plays.
    session, webm = the_recording(live_server, admin, session_id, tmp_path)
    assert session["recording"] == "asked" and "recording" in session["consent_scopes"]
    check_recording(webm, session["duration"])


def test_a_customer_who_refuses_the_recording_gets_help_without_it(
    new_page: NewPage, live_server: LiveServer, recording_account: tuple[Account, Account],
) -> None:  # fmt: skip
    agent, customer = recorded_session(new_page, recording_account[1])
    customer.get_by_test_id("consent-accept").click()  # "Yes, record" left unticked
    status_of(agent).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    wait_for_frames(agent, "remote-video", 10)
    expect(agent.get_by_test_id("recording-state")).to_have_attribute("data-state", "declined")
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    for page in (agent, customer):
        indicator(page).to_have_attribute("data-state", "off")
        indicator(page).to_have_text("")
    end_for_everyone(agent)
    status_of(agent).to_have_attribute("data-state", "ended")


def the_recording(
    server: LiveServer, admin: Account, session_id: str, directory: Path
) -> tuple[dict[str, Any], Path]:
    """An ended session (as the API shows it to `admin`) and its one recording,
    downloaded into `directory`."""
    client = ApiClient(server.base_url).login(admin)
    session: dict[str, Any] = client.request("GET", f"/api/sessions/{session_id}")["session"]
    # Closed as the session ended, before either side was told.
    recordings = client.request("GET", f"/api/sessions/{session_id}/recordings")["recordings"]
    assert len(recordings) == 1, recordings
    webm = directory / "recording.webm"
    webm.write_bytes(download(client, f"/api/sessions/{session_id}/recordings/"
                                      f"{recordings[0]['id']}/download"))  # fmt: skip
    return session, webm


def download(client: ApiClient, path: str) -> bytes:
    request = urllib.request.Request(client.base_url + path)  # noqa: S310
    with client.opener.open(request, timeout=60) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"] == "video/webm"
        return bytes(answer.read())


def tracks(probed: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The video and the audio stream of an ffprobe answer (exactly one of each)."""
    kinds = sorted(s["codec_type"] for s in probed["streams"])
    assert kinds == ["audio", "video"], probed["streams"]
    video, audio = sorted(probed["streams"], key=lambda s: s["codec_type"] != "video")
    return video, audio


@dataclass(frozen=True)
class Recorded:
    """What a checked recording holds."""

    duration: float  # seconds
    frames: list[tuple[float, int, int]]  # each video frame: (time, width, height)
    gaps: list[tuple[float, float]]  # pauses in the video: (last frame's time, length)


def check_recording(
    webm: Path, session_s: float, *, within: float = 0.05, gaps: int = 0
) -> Recorded:
    """The recording plays through (ffmpeg decodes all of it without an error), has VP8
    and Opus, lasts the session's `session_s` within `within`, its video pauses `gaps`
    times (the media path lost), and each track's frame count agrees with its rate over
    the time it has media (its duration less the pauses).

    The video's rate is the camera's, from the frames' own times (the median interval):
    ffprobe's ``r_frame_rate`` is a guess that a jittery camera (a late frame, then one
    on time) turns into 60/1."""
    assert decode_errors(webm) == ""
    probed = ffprobe(webm)
    video, audio = tracks(probed)
    assert (video["codec_name"], audio["codec_name"]) == ("vp8", "opus")
    duration = float(probed["format"]["duration"])
    assert abs(duration - session_s) <= within * session_s, (duration, session_s)
    frames = video_frames(webm)
    assert len(frames) == int(video["nb_read_frames"]) > 1
    times = [t for t, _, _ in frames]
    pauses = [(a, b - a) for a, b in pairwise(times) if b - a > PAUSE_S]
    assert len(pauses) == gaps, pauses
    media_s = duration - sum(length for _, length in pauses)
    interval = statistics.median(b - a for a, b in pairwise(times))
    for kind, count, expected in (
        ("video", len(frames), media_s / interval),
        ("audio", int(audio["nb_read_frames"]), media_s / OPUS_FRAME_S),
    ):
        assert abs(count - expected) <= FRAME_SLACK * expected, (kind, count, expected)
    return Recorded(duration, frames, pauses)
