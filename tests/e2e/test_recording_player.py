"""The console's player for a recorded session: a session recorded through the real media
port (Chromium's fake camera) with a mark drawn, a chat message, a freeze and the marks
cleared at known moments; then, on the ended session's page, its recording opens in the
player: the video plays, the timeline shows each moment at its time, seeking past the
mark shows it drawn over the picture (and gone again after it was cleared), space plays
and pauses, and the download is the WebM. Only those who may see the session may see
its recording; the player works on a phone and passes axe.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Account, ApiClient, LiveServer, NewPage
from tests.e2e.console import screenshot, sign_in
from tests.e2e.test_accessibility import Audit
from tests.e2e.test_live_session import MEDIA_TIMEOUT, end_for_everyone, status_of, wait_for_frames
from tests.e2e.test_recording_consent import (
    download,
    indicator,
    recorded_session,
    recording_account,  # noqa: F401 (a fixture)
)
from tests.e2e.test_tools import alpha_at, drag, marks_on, wait_for_ink

pytestmark = pytest.mark.e2e

SLACK = 1.5  # seconds between an action in the test and its time in the recording
VIDEO = '[data-testid="player-video"]'


def seek(page: Page, seconds: float) -> None:
    """Move the position bar (as a user dragging it would) and wait for the picture."""
    page.get_by_test_id("player-seek").fill(f"{seconds:.3f}")
    page.wait_for_function(
        """([selector, t]) => { const v = document.querySelector(selector);
            return Math.abs(v.currentTime - t) < 0.05 && !v.seeking && v.readyState >= 2; }""",
        arg=[VIDEO, seconds],
    )


def video(page: Page, expression: str) -> Any:
    """`expression` about the player's <video> (`v`), evaluated in the page."""
    return page.evaluate(
        f"(s) => {{ const v = document.querySelector(s); return {expression}; }}", VIDEO
    )


def wait_for_video(page: Page, condition: str) -> None:
    page.wait_for_function(
        f"(s) => {{ const v = document.querySelector(s); return {condition}; }}",
        arg=VIDEO, timeout=MEDIA_TIMEOUT,
    )  # fmt: skip


def marker(page: Page, kind: str) -> float:
    """The time (seconds) of the one timeline marker of this kind."""
    found = page.locator(f'[data-testid="timeline-marker"][data-kind="{kind}"]')
    expect(found).to_have_count(1)
    return float(found.get_attribute("data-t") or "nan")


def recording(new_page: NewPage, account: Account) -> tuple[Page, Page]:
    """A session the agent records and the customer agreed to, live and being recorded:
    the agent's page and the customer's."""
    agent, customer = recorded_session(new_page, account)
    customer.get_by_test_id("consent-record").check()
    customer.get_by_test_id("consent-accept").click()
    status_of(agent).to_have_attribute("data-state", "live", timeout=MEDIA_TIMEOUT)
    wait_for_frames(agent, "remote-video", 10)
    indicator(agent).to_have_attribute("data-state", "on", timeout=MEDIA_TIMEOUT)
    return agent, customer


def record_moments(agent: Page, customer: Page) -> dict[str, float]:
    """While the session is recorded: a pinned arrow, a chat message, a freeze and the
    marks cleared, each at a moment noted (seconds since the indicator came on)."""
    started = time.monotonic()

    def since() -> float:
        return time.monotonic() - started

    moments: dict[str, float] = {}
    time.sleep(3)  # media before the first mark: nothing to wait for instead
    agent.get_by_test_id("mark-fade").select_option("0")  # pinned
    agent.get_by_test_id("tool-arrow").click()
    moments["mark"] = since()
    drag(agent, (0.3, 0.3), (0.7, 0.7))
    marks_on(customer).to_have_attribute("data-marks", "1")
    time.sleep(2)
    moments["chat"] = since()
    agent.get_by_test_id("chat-input").fill("Is the green light on?")
    agent.get_by_test_id("chat-input").press("Enter")
    time.sleep(1)
    moments["freeze"] = since()
    agent.get_by_test_id("freeze").click()
    expect(agent.get_by_test_id("unfreeze")).to_be_visible(timeout=MEDIA_TIMEOUT)
    time.sleep(1)
    agent.get_by_test_id("unfreeze").click()
    expect(agent.get_by_test_id("freeze")).to_be_visible()
    moments["cleared"] = since()
    agent.get_by_test_id("annot-clear").click()
    marks_on(customer).to_have_attribute("data-marks", "0")
    time.sleep(3)
    return moments


def test_the_player_replays_the_marks_chat_and_freezes_over_the_recorded_picture(
    new_page: NewPage, live_server: LiveServer, recording_account: tuple[Account, Account],  # noqa: F811
    artifacts: Path,
) -> None:  # fmt: skip
    admin, agent_account = recording_account
    agent, customer = recording(new_page, agent_account)
    moments = record_moments(agent, customer)
    session_id = agent.get_by_test_id("session-view").get_attribute("data-session-id")
    assert session_id
    end_for_everyone(agent)
    status_of(agent).to_have_attribute("data-state", "ended")

    # The ended session lists its recording; Play opens the player at its own address.
    item = agent.get_by_test_id("recording-item")
    expect(item).to_have_count(1)
    recording_id = item.get_attribute("data-recording-id")
    screenshot(agent, artifacts, "recording-list-ended-session")
    item.get_by_test_id("recording-play").click()
    expect(agent).to_have_url(re.compile(rf"#sessions/{session_id}/recordings/{recording_id}$"))
    player = agent.get_by_test_id("player")
    expect(player).to_be_visible()

    # The timeline: each moment where it happened, as a labelled button.
    client = ApiClient(live_server.base_url).login(admin)
    base = f"/api/sessions/{session_id}/recordings/{recording_id}"
    events = client.request("GET", f"{base}/events")["events"]
    started = next(
        e["t"] for e in events if e["kind"] == "mark" and e["data"]["type"] == "mark_start"
    )
    cleared = next(e["t"] for e in events if e["kind"] == "marks_cleared")
    assert marker(agent, "mark") == pytest.approx(started)
    for kind in ("mark", "chat", "freeze"):
        assert marker(agent, kind) == pytest.approx(moments[kind], abs=SLACK), kind
    assert cleared == pytest.approx(moments["cleared"], abs=SLACK)
    expect(agent.locator('[data-kind="mark"][data-testid="timeline-marker"]')).to_have_attribute(
        "aria-label", re.compile(r"^Mark \(Arrow\) at 0:0\d$"))  # fmt: skip
    expect(agent.locator('[data-kind="chat"][data-testid="timeline-marker"]')).to_have_attribute(
        "aria-label", re.compile(r"Is the green light on\?"))  # fmt: skip

    # It plays: frames decoded, time moving; space pauses it.
    agent.get_by_test_id("player-play").click()
    expect(player).to_have_attribute("data-playing", "true")
    wait_for_video(agent, "v.currentTime > 1 && v.getVideoPlaybackQuality().totalVideoFrames > 10")
    agent.get_by_test_id("player-stage").focus()
    agent.keyboard.press(" ")
    expect(player).to_have_attribute("data-playing", "false")
    assert video(agent, "v.getVideoPlaybackQuality().totalVideoFrames") > 10

    # Before the mark: nothing drawn. Its marker seeks to it; a moment later the whole
    # arrow is over the picture, where it was drawn; after the clear it is gone.
    seek(agent, max(0.0, started - 1))
    marks_on(agent).to_have_attribute("data-marks", "0")
    agent.locator('[data-kind="mark"][data-testid="timeline-marker"]').click()
    marks_on(agent).to_have_attribute("data-marks", "1")
    seek(agent, started + 1)
    marks_on(agent).to_have_attribute("data-marks", "1")
    wait_for_ink(agent, 0.5, 0.5)  # the middle of the shaft
    wait_for_ink(agent, 0.7, 0.7)  # its head
    assert alpha_at(agent, 0.3, 0.7) == 0  # nowhere near it
    screenshot(agent, artifacts, "recording-player-desktop")
    seek(agent, cleared + 0.5)
    marks_on(agent).to_have_attribute("data-marks", "0")
    seek(agent, started + 1)  # back in time: drawn again
    wait_for_ink(agent, 0.5, 0.5)

    # The download: the decrypted WebM.
    href = agent.get_by_test_id("player-download").get_attribute("href")
    assert href == f"{base}/download"
    webm = download(client, href)
    assert webm[:4] == b"\x1a\x45\xdf\xa3"  # EBML

    # On a phone, for the account's administrator: it fits the screen and passes axe.
    audit = Audit()
    audit.check(agent, "recording player")
    small = new_page(390, 844, mobile=True)
    sign_in(small, admin)
    small.goto(f"/#sessions/{session_id}/recordings/{recording_id}")
    expect(small.get_by_test_id("player")).to_be_visible()
    expect(small.get_by_test_id("timeline-marker")).to_have_count(4)  # with the clear
    wait_for_video(small, "v.readyState >= 1")
    assert small.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(small, artifacts, "recording-player-phone")
    audit.check(small, "recording player, phone")
    audit.assert_clean()


def test_only_those_who_may_see_the_session_see_its_recording(
    new_page: NewPage, live_server: LiveServer, recording_account: tuple[Account, Account],  # noqa: F811
) -> None:  # fmt: skip
    admin, agent_account = recording_account
    agent, _ = recording(new_page, agent_account)
    time.sleep(2)  # some media to record
    session_id = agent.get_by_test_id("session-view").get_attribute("data-session-id")
    end_for_everyone(agent)
    expect(agent.get_by_test_id("recording-item")).to_have_count(1)
    recording_id = agent.get_by_test_id("recording-item").get_attribute("data-recording-id")

    # Another agent of the account, neither its owner nor invited: a clear refusal.
    other = new_page()
    sign_in(other, live_server.create_user("recother", admin=admin))
    other.goto(f"/#sessions/{session_id}/recordings/{recording_id}")
    expect(other.get_by_test_id("player-problem")).to_contain_text("may not see it")
    expect(other.get_by_test_id("player")).to_have_count(0)
    # A recording that is not there, for someone who may see the session.
    agent.goto(f"/#sessions/{session_id}/recordings/{'0' * 32}")
    expect(agent.get_by_test_id("player-problem")).to_contain_text("does not exist")
    expect(agent.get_by_test_id("player-back")).to_have_attribute("href", f"#sessions/{session_id}")
