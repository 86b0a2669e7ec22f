"""A recorded session end to end: the agent chooses to record it (the account leaves it
to them), the customer's consent screen says so before *Allow*, both sides show the
recording indicator the whole time, and the recording is there afterwards, playable;
a customer who refuses the recording still gets a live session, with no indicator.

Chromium's fake camera and microphone feed real media through ``livelens serve``'s
media port, which records from the relayed packets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
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

pytestmark = pytest.mark.e2e

LIVE_SECONDS = 12  # how long the recorded session stays live


@pytest.fixture(scope="module")
def recording_account(live_server: LiveServer) -> tuple[Account, Account]:
    """An account whose policy leaves recording to the agent: its administrator and an
    agent."""
    admin = live_server.new_account("recorder")
    ApiClient(live_server.base_url).login(admin).request(
        "PATCH", "/api/account/policy", {"recording": "agent"}
    )
    return admin, live_server.create_user("recagent", admin=admin)


def recorded_session(new_page: NewPage, account: Account) -> tuple[Page, Page]:
    """The agent signs in, turns "Record this session" on and starts; the customer opens
    the link on a phone and is asked about the recording. The two pages."""
    agent = new_page()
    sign_in(agent, account)
    record = agent.get_by_test_id("new-session-record")
    expect(record).to_be_visible()
    expect(record).not_to_be_checked()  # the agent's choice, never the default
    record.check()
    agent.get_by_test_id("new-session").click()
    status_of(agent).to_have_attribute("data-state", "waiting")
    expect(agent.get_by_test_id("recording-state")).to_have_attribute("data-state", "asked")
    customer = phone(new_page)
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
    client = ApiClient(live_server.base_url).login(admin)
    session = client.request("GET", f"/api/sessions/{session_id}")["session"]
    assert session["recording"] == "asked" and "recording" in session["consent_scopes"]
    # Closed as the session ended, before either side was told.
    recordings = client.request("GET", f"/api/sessions/{session_id}/recordings")["recordings"]
    assert len(recordings) == 1, recordings
    webm = tmp_path / "recording.webm"
    webm.write_bytes(download(client, f"/api/sessions/{session_id}/recordings/"
                                      f"{recordings[0]['id']}/download"))  # fmt: skip
    probed = ffprobe(webm)
    kinds = sorted(s["codec_type"] for s in probed["streams"])
    assert kinds == ["audio", "video"], probed["streams"]
    duration = float(probed["format"]["duration"])
    assert abs(duration - session["duration"]) <= 0.05 * session["duration"], (
        duration, session["duration"])  # fmt: skip


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


def download(client: ApiClient, path: str) -> bytes:
    request = urllib.request.Request(client.base_url + path)  # noqa: S310
    with client.opener.open(request, timeout=60) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"] == "video/webm"
        return bytes(answer.read())


def ffprobe(path: Path) -> dict[str, Any]:
    tool = shutil.which("ffprobe")
    assert tool, "ffprobe (Debian's ffmpeg) is needed to check recordings"
    done = subprocess.run([tool, "-v", "error", "-show_streams", "-show_format", "-of", "json",
                           str(path)], capture_output=True, text=True, check=True)  # fmt: skip
    return dict(json.loads(done.stdout))
