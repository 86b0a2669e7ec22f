"""The console in the agent's language: a browser set to Dutch gets the console in Dutch
(sign-in, navigation, the session view), and the language menu switches it to German at
once, remembered on the next visit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.test_live_session import (
    accept_and_go_live,
    phone,
    start_session,
    status_of,
    wait_for_frames,
)

pytestmark = pytest.mark.e2e

LOCALES = Path(__file__).resolve().parents[2] / "livelens" / "web" / "locales" / "console"


def texts(part: str, code: str) -> dict[str, str]:
    data = json.loads((LOCALES / part / f"{code}.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_a_dutch_browser_gets_a_dutch_console_and_can_switch_to_german(
    new_page: NewPage, live_server: LiveServer
) -> None:
    account = live_server.create_user("taal")
    page = new_page(locale="nl-NL")
    page.goto("/")

    # Sign-in, in Dutch from the first screen.
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_test_id("login-submit")).to_have_text("Aanmelden")
    page.get_by_test_id("login-email").fill(account.email)
    page.get_by_test_id("login-password").fill(account.password)
    page.get_by_test_id("login-submit").click()

    # Navigation, the user's role and the Sessions page.
    expect(page.get_by_test_id("current-user")).to_have_text(f"{account.email} (medewerker)")
    expect(page.get_by_test_id("nav-sessions")).to_have_text("Sessies")
    expect(page.get_by_test_id("nav-reports")).to_have_text("Rapporten")
    expect(page.get_by_test_id("nav-security")).to_have_text("Beveiliging")
    expect(page.get_by_test_id("logout")).to_have_text("Afmelden")
    expect(page.get_by_test_id("language-select")).to_have_value("nl")
    expect(page).to_have_title("Sessies · LiveLens")

    # The session view speaks Dutch too (the live session's own catalogue).
    page.get_by_test_id("new-session").click()
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-state", "waiting")
    dutch, german = texts("live", "nl"), texts("live", "de")
    english = texts("live", "en")
    mute = "live.session.mute"
    assert dutch[mute] != english[mute] and german[mute] != dutch[mute]
    expect(page.get_by_test_id("mute-mic")).to_have_text(dutch[mute])

    # German from the menu: the header, the tabs and the session on screen, at once.
    session_url = page.url
    page.get_by_test_id("language-select").select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_test_id("nav-sessions")).to_have_text("Sitzungen")
    expect(page.get_by_test_id("logout")).to_have_text("Abmelden")
    expect(page.get_by_test_id("current-user")).to_have_text(f"{account.email} (Agent)")
    expect(page.get_by_test_id("mute-mic")).to_have_text(german[mute])
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-state", "waiting")
    assert page.url == session_url
    expect(page.get_by_test_id("language-select")).to_be_focused()

    # Remembered on this device: a reload comes back in German, to the same session.
    page.reload()
    expect(page.get_by_test_id("nav-sessions")).to_have_text("Sitzungen")
    expect(page.get_by_test_id("mute-mic")).to_have_text(german[mute])
    page.get_by_test_id("nav-sessions").click()
    expect(page.get_by_test_id("new-session")).to_have_text("Neue Sitzung")


def test_a_language_switch_during_a_call_keeps_the_call(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "taalcall")
    customer = phone(new_page)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    video = agent.get_by_test_id("remote-video").element_handle()

    agent.get_by_test_id("language-select").select_option("de")
    expect(agent.get_by_test_id("nav-sessions")).to_have_text(
        texts("admin", "de")["console.nav.sessions"]
    )
    # The session view was left as it is: the same picture, still live, still decoding.
    assert video.evaluate("v => v.isConnected")
    status_of(agent).to_have_attribute("data-state", "live")
    frames = wait_for_frames(agent, "remote-video", 0)
    wait_for_frames(agent, "remote-video", frames)
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
