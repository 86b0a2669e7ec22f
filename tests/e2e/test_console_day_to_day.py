"""The agent's console in day-to-day support work: the session view at its own address,
a live picture that fits a 1366 x 768 screen (and goes full screen), the tab, sound and
desktop notification that call the agent back, and what the console shows afterwards.

The browser's own APIs are watched from the test side (an init script), never stubbed
on the server: which notifications the page made, how many tones it played, whether it
asked for notification permission. "The agent looks at another tab" is the page's
visibility state set to hidden, which headless Chromium has no other way to produce.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.console import sign_in
from tests.e2e.test_live_session import (
    accept_and_go_live,
    phone,
    start_session,
    status_of,
    wait_for_frames,
)

pytestmark = pytest.mark.e2e

# Test-side instrumentation of the agent's page: records notifications, counts tones
# and permission requests, and can make the page believe it is hidden or visible.
WATCH_ALERTS = """
(() => {
  window.__notifications = [];
  window.__permissionRequests = 0;
  window.__tones = 0;
  const Original = window.Notification;
  if (Original) {
    const ask = Original.requestPermission.bind(Original);
    window.Notification = class extends Original {
      constructor(title, options = {}) {
        super(title, options);
        window.__notifications.push({ title, body: options.body || '' });
      }
      static requestPermission(...args) {
        window.__permissionRequests += 1;
        return ask(...args);
      }
    };
  }
  const Context = window.AudioContext;
  if (Context) {
    const create = Context.prototype.createOscillator;
    Context.prototype.createOscillator = function (...args) {
      window.__tones += 1;
      return create.apply(this, args);
    };
  }
  window.__setHidden = (hidden) => {
    const state = hidden ? 'hidden' : 'visible';
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event('visibilitychange'));
  };
})();
"""

TITLE = "Support session · LiveLens"


def set_hidden(page: Page, hidden: bool) -> None:
    page.evaluate("(hidden) => window.__setHidden(hidden)", hidden)


def wait_for_notification(page: Page, title: str, body: str = "") -> None:
    page.wait_for_function(
        """([title, body]) => window.__notifications.some(
            (n) => n.title.startsWith(title) && n.body.includes(body))""",
        arg=[title, body],
    )


def expect_fully_visible(page: Page, *testids: str) -> None:
    for testid in testids:
        expect(page.get_by_test_id(testid)).to_be_in_viewport(ratio=1)


def session_id(page: Page) -> str:
    view = page.get_by_test_id("session-view")
    expect(view).to_be_visible()
    value = view.get_attribute("data-session-id")
    assert value, "the session view names no session"
    return value


def test_a_live_session_fits_the_screen_and_calls_the_agent_back(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page(1366, 768)
    agent.context.add_init_script(WATCH_ALERTS)
    invitation = start_session(agent, live_server, "attentive")
    favicon = agent.locator('link[rel~="icon"]')

    # Desktop notifications: permission is asked for only when the agent clicks the
    # button (headless Chromium answers by itself); allowed in the site settings, they are on.
    notifications = agent.get_by_test_id("alert-notifications")
    expect(notifications).to_have_attribute("aria-pressed", "false")
    assert agent.evaluate("window.__permissionRequests") == 0
    notifications.click()
    agent.wait_for_function("window.__permissionRequests === 1")
    agent.context.grant_permissions(["notifications"])
    expect(notifications).to_have_attribute("aria-pressed", "true")

    # The agent looks elsewhere; the customer opens the link.
    set_hidden(agent, True)
    customer = phone(new_page)
    customer.goto(invitation.link)
    expect(agent).to_have_title(re.compile(r"^\(1\) Customer joined · "))
    expect(favicon).to_have_attribute("href", "/static/logo-alert.svg")
    wait_for_notification(agent, "Customer joined")
    assert agent.evaluate("window.__tones") > 0, "no sound was played"
    # Back at the tab: the title and icon are the page's own again.
    set_hidden(agent, False)
    expect(agent).to_have_title(TITLE)
    expect(favicon).to_have_attribute("href", "/static/logo.svg")

    accept_and_go_live(agent, customer)
    # 1366 x 768: picture, quality line, Mute and End on screen without scrolling.
    agent.evaluate("window.scrollTo(0, 0)")
    expect_fully_visible(agent, "remote-video", "connection-quality", "quality", "mute-mic",
                         "end-session", "toolbar")  # fmt: skip

    # A message from the customer while the tab is hidden; the agent's own was delivered.
    agent.get_by_test_id("chat-input").fill("Can you show me the back of the router?")
    agent.get_by_test_id("chat-send").click()
    mine = agent.get_by_test_id("chat-log").locator(".chat-mine")
    expect(mine).to_have_attribute("data-state", "delivered")
    set_hidden(agent, True)
    customer.get_by_test_id("chat-toggle").click()  # the phone's chat is a bubble until opened
    customer.get_by_test_id("chat-input").fill("Here it is")
    customer.get_by_test_id("chat-input").press("Enter")
    expect(agent).to_have_title(re.compile(r"^\(1\) New message from the customer · "))
    wait_for_notification(agent, "New message from the customer", "Here it is")
    set_hidden(agent, False)
    expect(agent).to_have_title(TITLE)

    agent.get_by_test_id("snapshot").click()
    expect(agent.get_by_test_id("snapshot-item")).to_have_count(1)

    # Full screen: the picture's container, with tools, Mute and End over the picture.
    agent.get_by_test_id("fullscreen").click()
    agent.wait_for_function("document.fullscreenElement?.dataset.testid === 'session-player'")
    expect_fully_visible(agent, "toolbar", "mute-mic", "end-session", "connection-quality")
    expect(agent.get_by_test_id("fullscreen")).to_have_text("Exit full screen")
    agent.get_by_test_id("fullscreen").click()
    agent.wait_for_function("document.fullscreenElement === null")
    wait_for_frames(agent, "remote-video", 10)

    # Over, and opened again later: the stored snapshot shows as a picture, the chat
    # says "Delivered" as it did during the session, and the outcome looks like it.
    customer.get_by_test_id("customer-end").click()
    status_of(agent).to_have_attribute("data-outcome", "completed")
    agent.reload()
    status_of(agent).to_have_attribute("data-outcome", "completed")
    agent.get_by_test_id("snapshot-thumb").scroll_into_view_if_needed()
    agent.wait_for_function(
        """() => { const img = document.querySelector('[data-testid="snapshot-thumb"]');
                   return img && img.complete && img.naturalWidth > 0; }"""
    )
    expect(agent.get_by_test_id("chat-log").locator(".chat-mine")).to_have_attribute(
        "data-state", "delivered"
    )
    expect(agent.locator(".stage-icon")).to_have_attribute("data-icon", "check")


def test_the_session_view_has_its_own_address(new_page: NewPage, live_server: LiveServer) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "addressed")
    sid = session_id(agent)
    assert agent.url.endswith(f"#sessions/{sid}"), agent.url
    # The join link in a field to copy from; tools with icons of their own.
    expect(agent.get_by_test_id("join-link")).to_have_value(invitation.link)
    expect(agent.get_by_test_id("copy-join-link")).to_be_visible()
    svg = "(el) => el.querySelector('svg').innerHTML"
    for tool, other in (("rotate-view", "switch-camera"), ("low-bandwidth", "freeze")):
        assert agent.get_by_test_id(tool).evaluate(svg) != agent.get_by_test_id(other).evaluate(svg)

    # The sound choice is remembered; a reload comes back to the same session, which
    # no longer has a link to show and so does not ask to send one.
    agent.get_by_test_id("alert-sound").click()
    expect(agent.get_by_test_id("alert-sound")).to_have_attribute("aria-pressed", "false")
    agent.reload()
    assert session_id(agent) == sid
    status_of(agent).to_have_attribute("data-state", "waiting")
    expect(agent.get_by_test_id("alert-sound")).to_have_attribute("aria-pressed", "false")
    expect(agent.get_by_test_id("invite-gone")).to_be_visible()
    expect(agent.get_by_test_id("join-link")).to_have_count(0)
    expect(agent.get_by_test_id("stage-overlay")).not_to_contain_text("Send the link")

    # Elsewhere in the console and back with the browser's back button.
    agent.get_by_test_id("nav-security").click()
    expect(agent.get_by_test_id("section-security")).to_be_visible()
    agent.go_back()
    assert session_id(agent) == sid
    status_of(agent).to_have_attribute("data-state", "waiting")

    # A second tab opens the same session; the first says it goes on there.
    second = agent.context.new_page()
    second.goto(agent.url)
    assert session_id(second) == sid
    expect(agent.get_by_test_id("session-error")).to_contain_text("another window")

    # None of that harmed the session: the customer joins; declining does not look done.
    customer = phone(new_page)
    customer.goto(invitation.link)
    status_of(second).to_have_attribute("data-state", "joined")
    customer.get_by_test_id("consent-decline").click()
    status_of(second).to_have_attribute("data-outcome", "declined")
    expect(second.locator(".stage-icon")).to_have_attribute("data-icon", "declined")
    expect(second.get_by_test_id("summary-outcome").locator(".badge")).not_to_have_class(
        re.compile("badge-success")
    )


def test_two_factor_screens_say_what_is_true(new_page: NewPage, live_server: LiveServer) -> None:
    admin = live_server.new_account("twofactor")
    agent = live_server.create_user("gated", admin=admin)  # while the API takes a password

    page = new_page(1366, 768)
    sign_in(page, admin)
    page.get_by_test_id("nav-security").click()
    page.get_by_test_id("totp-enroll").click()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.get_by_test_id("totp-code").fill(pyotp.TOTP(secret).now())
    page.get_by_test_id("totp-confirm").click()
    expect(page.get_by_test_id("recovery-panel")).to_contain_text("Two-factor authentication is on")
    expect(page.get_by_test_id("totp-status")).to_have_text("On")  # not "Off" beside it
    page.get_by_test_id("recovery-stored").check()
    page.get_by_test_id("recovery-done").click()
    page.get_by_test_id("nav-policy").click()
    page.get_by_test_id("require-totp").check()
    expect(page.get_by_test_id("policy-status")).to_contain_text("Saved")

    gated = new_page(390, 844, mobile=True)
    sign_in(gated, agent)
    gate = gated.get_by_test_id("enrollment-gate")
    expect(gate.get_by_test_id("totp-enroll")).to_be_visible()
    expect(gate).not_to_contain_text("null")
