"""The customer's phone page: in the customer's language, the picture kept clear of
everything else, and a clear message (to the customer and to the agent) when the video
cannot work.

Phones are Chromium contexts of 390 x 844 CSS pixels with the locale a test needs (the
locale sets both navigator.languages and the Accept-Language header).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ApiClient, LiveServer, PageWatch
from tests.e2e.console import screenshot, sign_in
from tests.e2e.test_live_session import (
    COUNT_MEDIA_REQUESTS,
    COUNT_PEER_CONNECTIONS,
    MEDIA_TIMEOUT,
    accept_and_go_live,
    end_for_everyone,
    start_session,
    status_of,
)

pytestmark = pytest.mark.e2e

# Test-side instrumentation: the browser has no WebRTC (too old, or turned off, as with
# Firefox's media.peerconnection.enabled = false).
NO_WEBRTC = """
delete window.RTCPeerConnection;
delete window.webkitRTCPeerConnection;
"""

# Test-side instrumentation: every answer fails to apply, so no peer connection ever
# connects (as on a network that lets no video through).
ANSWERS_FAIL = """
RTCPeerConnection.prototype.setRemoteDescription = function () {
  return Promise.reject(new DOMException('refused by the test', 'OperationError'));
};
"""

# Test-side instrumentation: keep every signalling message the page receives.
RECORD_SIGNALS = """
(() => {
  window.__signals = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        try { window.__signals.push(JSON.parse(event.data)); } catch { /* not JSON */ }
      });
    }
  };
})();
"""

# The share of the camera picture (on screen) that no other element's box overlaps.
UNCOVERED = """
() => {
  const video = document.querySelector('[data-testid="local-video"]');
  const own = new Set(['local-video', 'frozen-frame', 'annotation-layer']);
  const v = video.getBoundingClientRect();
  const left = Math.max(0, v.left), top = Math.max(0, v.top);
  const right = Math.min(innerWidth, v.right), bottom = Math.min(innerHeight, v.bottom);
  const boxes = [];
  for (const el of document.querySelectorAll('[data-testid="live-screen"] *')) {
    if (el.contains(video) || own.has(el.dataset.testid)) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 1 && r.height > 1) boxes.push(r);
  }
  let total = 0, covered = 0;
  for (let y = top + 1; y < bottom; y += 3) {
    for (let x = left + 1; x < right; x += 3) {
      total += 1;
      if (boxes.some((b) => x >= b.left && x < b.right && y >= b.top && y < b.bottom)) covered += 1;
    }
  }
  return total ? 1 - covered / total : 0;
}
"""

NewContextPage = Callable[..., Page]


@pytest.fixture
def open_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewContextPage]:
    """open_page(phone=True, locale='en-GB', init_script=None): a page in a fresh context
    (another device), watched for errors like conftest's pages."""
    watch = PageWatch()
    request.node.page_watch = watch
    contexts = []

    def factory(*, phone: bool = True, locale: str = "en-GB", init_script: str = "") -> Page:
        size = {"width": 390, "height": 844} if phone else {"width": 1360, "height": 1000}
        context = browser.new_context(
            base_url=live_server.base_url, viewport=size, is_mobile=phone, has_touch=phone,
            device_scale_factor=2 if phone else 1, locale=locale, timezone_id="Europe/Amsterdam",
        )  # fmt: skip
        context.set_default_timeout(10_000)
        watch.watch(context)
        if phone:
            context.grant_permissions(["camera", "microphone"])
            context.add_init_script(COUNT_MEDIA_REQUESTS + init_script)
        else:
            context.add_init_script(RECORD_SIGNALS + init_script)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()
    watch.check()


def agent_told(agent: Page, reason: str) -> None:
    """The agent's console received a state saying why the customer's camera cannot
    reach it (the console's own signalling socket)."""
    told = "(why) => window.__signals.some((m) => m.type === 'state' && m.media_problem === why)"
    agent.wait_for_function(told, arg=reason)


def test_the_consent_screen_speaks_dutch_to_a_dutch_browser(
    open_page: NewContextPage, live_server: LiveServer, artifacts: Path
) -> None:
    agent = open_page(phone=False)
    invitation = start_session(agent, live_server, "dutch")
    customer = open_page(locale="nl-NL")
    answer = customer.goto(invitation.link)
    # The server's first paint is Dutch already (the browser sent Accept-Language: nl-NL).
    assert answer is not None
    assert '<html lang="nl">' in answer.text()
    assert "Uw ondersteuningssessie wordt geopend" in answer.text()
    notice = customer.get_by_test_id("consent-notice")
    for words in ("identiteitsbewijzen", "betaalpassen", "gezondheidsgegevens"):
        expect(notice).to_contain_text(words)
    expect(customer.locator("h1")).to_have_text(
        f"{live_server.tenant} wil graag uw camerabeeld zien"
    )
    expect(customer.get_by_test_id("consent-scopes")).to_contain_text("alleen voor deze sessie")
    expect(customer.get_by_test_id("consent-accept")).to_have_text("Camera en microfoon toestaan")
    expect(customer.locator("html")).to_have_attribute("lang", "nl")
    expect(customer.get_by_test_id("language-select")).to_have_value("nl")
    assert customer.evaluate("window.__mediaRequests") == 0
    screenshot(customer, artifacts, "customer-phone-consent-nl")

    customer.get_by_test_id("consent-decline").click()
    expect(customer.get_by_test_id("session-ended-message")).to_have_text(
        "U hebt geweigerd. Er is niets gedeeld."
    )
    status_of(agent).to_have_attribute("data-outcome", "declined")


def test_the_language_switcher_changes_the_page_and_is_remembered(
    open_page: NewContextPage,
) -> None:
    customer = open_page()
    customer.goto("/join")
    heading = customer.locator("h1")
    expect(heading).to_have_text("Join a support session")
    customer.get_by_test_id("pin-input").fill("12")
    customer.get_by_test_id("pin-submit").click()  # checked on the page: no guess spent
    error = customer.get_by_test_id("join-error")
    expect(error).to_have_text("Enter the 6-digit PIN your support agent gave you.")

    switcher = customer.get_by_test_id("language-select")
    expect(switcher).to_have_accessible_name("Language")
    switcher.select_option("de")
    expect(heading).to_have_text("An einer Support-Sitzung teilnehmen")
    expect(customer.locator("html")).to_have_attribute("lang", "de")
    expect(error).to_have_text(  # what is on screen is said again in the new language
        "Geben Sie die 6-stellige PIN ein, die Sie von Ihrer Ansprechperson erhalten haben."
    )
    expect(customer.get_by_test_id("pin-submit")).to_have_text("Weiter")
    expect(switcher).to_be_focused()
    expect(switcher).to_have_accessible_name("Sprache")

    switcher.select_option("es")
    expect(heading).to_have_text("Unirse a una sesión de asistencia")
    customer.reload()  # the choice outlives the page (this device only)
    expect(heading).to_have_text("Unirse a una sesión de asistencia")
    expect(customer.locator("html")).to_have_attribute("lang", "es")
    expect(customer).to_have_title("Unirse a una sesión de asistencia · LiveLens")
    # The page's own i18n module: plural forms, numbers in the language, unknown keys shown.
    said = customer.evaluate("""async () => {
        const { t, formatNumber } = await import('/static/i18n.js');
        return [t('chat.unread', { count: 1 }), t('chat.unread', { count: 3 }),
                formatNumber(12345.5), t('no.such.key')];
    }""")
    assert said == ["1 mensaje sin leer", "3 mensajes sin leer", "12.345,5", "no.such.key"]


def test_the_picture_stays_clear_and_chat_is_a_bubble_with_unread_messages(
    open_page: NewContextPage, live_server: LiveServer, artifacts: Path
) -> None:
    agent = open_page(phone=False)
    invitation = start_session(agent, live_server, "clear")
    customer = open_page()
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)

    panel, unread = customer.get_by_test_id("chat-panel"), customer.get_by_test_id("chat-unread")
    toggle = customer.get_by_test_id("chat-toggle")
    expect(panel).to_be_hidden()
    expect(unread).to_be_hidden()
    for text in ("Hello, I can see the router.", "Can you turn it around?"):
        agent.get_by_test_id("chat-input").fill(text)
        agent.get_by_test_id("chat-send").click()
    expect(unread).to_have_text("2")
    expect(toggle).to_have_accessible_name("Chat 2 unread messages")
    expect(panel).to_be_hidden()
    uncovered = customer.evaluate(UNCOVERED)
    assert uncovered >= 0.7, f"only {uncovered:.0%} of the picture is uncovered"
    screenshot(customer, artifacts, "customer-phone-live-chat-closed")

    toggle.click()
    expect(panel).to_be_visible()
    expect(customer.get_by_test_id("chat-log")).to_contain_text("Can you turn it around?")
    expect(unread).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    # Open, the chat takes room from the picture instead of lying over it.
    assert customer.evaluate(UNCOVERED) >= 0.99
    screenshot(customer, artifacts, "customer-phone-live-chat-open")
    toggle.click()
    expect(panel).to_be_hidden()
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")


def test_a_browser_without_webrtc_is_told_what_to_do_and_the_agent_why(
    open_page: NewContextPage, live_server: LiveServer, artifacts: Path
) -> None:
    agent = open_page(phone=False)
    invitation = start_session(agent, live_server, "nowebrtc")
    customer = open_page(init_script=NO_WEBRTC)
    customer.goto(invitation.link)

    problem = customer.get_by_test_id("media-problem")
    expect(problem).to_be_visible()
    expect(customer.get_by_test_id("media-problem-text")).to_have_attribute(
        "data-reason", "no_webrtc"
    )
    expect(problem.locator("h1")).to_have_text("This browser can\u2019t share video")
    tips = customer.get_by_test_id("media-problem-tips")
    expect(tips).to_contain_text("another browser")
    expect(tips).to_contain_text("new one")
    expect(customer.get_by_test_id("media-problem-told")).to_contain_text("cannot send video")
    expect(customer.get_by_test_id("consent-accept")).to_have_count(0)  # nothing to agree to
    assert customer.evaluate("window.__mediaRequests") == 0
    screenshot(customer, artifacts, "customer-phone-no-webrtc")

    agent_told(agent, "no_webrtc")
    expect(agent.get_by_test_id("customer-media-problem")).to_contain_text(
        "browser cannot send video"
    )
    status_of(agent).to_have_attribute("data-state", "joined")  # the agent decides what next
    customer.get_by_test_id("media-problem-end").click()
    expect(customer.get_by_test_id("session-ended-message")).to_contain_text("Nothing was shared")
    status_of(agent).to_have_attribute("data-outcome", "declined")


def test_a_video_that_never_connects_stops_trying_and_says_so(
    open_page: NewContextPage, live_server: LiveServer, artifacts: Path
) -> None:
    agent = open_page(phone=False)
    invitation = start_session(agent, live_server, "noconnect")
    customer = open_page(init_script=COUNT_PEER_CONNECTIONS + ANSWERS_FAIL)
    customer.goto(invitation.link)
    customer.get_by_test_id("consent-accept").click()

    # A few tries with backoff (customer/link.js MEDIA_ATTEMPTS), then the page says so.
    expect(customer.get_by_test_id("media-problem-text")).to_have_attribute(
        "data-reason", "connect_failed", timeout=MEDIA_TIMEOUT
    )
    assert customer.evaluate("window.__peerConnections") == 4
    expect(customer.get_by_test_id("media-problem-tips")).to_contain_text("Wi-Fi and mobile data")
    expect(customer.get_by_test_id("local-video")).to_have_count(0)  # the camera is off
    screenshot(customer, artifacts, "customer-phone-connect-failed")
    agent_told(agent, "connect_failed")
    status_of(agent).to_have_attribute("data-state", "consented")

    # Try again: as many tries once more, and the same answer.
    customer.get_by_test_id("media-problem-retry").click()
    customer.wait_for_function("() => window.__peerConnections > 4")
    expect(customer.get_by_test_id("media-problem-text")).to_be_visible(timeout=MEDIA_TIMEOUT)
    assert customer.evaluate("window.__peerConnections") == 8
    customer.get_by_test_id("media-problem-end").click()
    status_of(agent).to_have_attribute("data-outcome", "completed")


def test_the_customer_rates_the_session_after_it_ends_where_the_account_asks(
    open_page: NewContextPage, live_server: LiveServer
) -> None:
    admin = live_server.new_account("rating")
    ApiClient(live_server.base_url).login(admin).request(
        "PATCH", "/api/account/policy", {"customer_rating": True}
    )
    agent = open_page(phone=False)
    sign_in(agent, live_server.create_user("rater", admin=admin))
    agent.get_by_test_id("new-session").click()
    link = agent.get_by_test_id("join-link").input_value().strip()
    customer = open_page()
    customer.goto(link)
    accept_and_go_live(agent, customer)
    end_for_everyone(agent)

    form = customer.get_by_test_id("rating-form")
    expect(form).to_be_visible()
    form.get_by_label("4 stars").check()
    form.get_by_label("Anything you want to tell us? (optional)").fill("Quick and kind")
    form.get_by_role("button", name="Send rating").click()
    expect(customer.get_by_test_id("rating-thanks")).to_have_text("Thank you for your rating.")

    session_id = agent.evaluate("location.hash").rsplit("/", 1)[1]
    stored = (
        ApiClient(live_server.base_url).login(admin).request("GET", f"/api/sessions/{session_id}")
    )
    assert stored["session"]["rating"]["score"] == 4
    assert stored["session"]["rating"]["comment"] == "Quick and kind"
