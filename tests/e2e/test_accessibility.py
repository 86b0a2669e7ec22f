"""Accessibility: axe-core (from npm, pinned in tests/e2e/a11y/, installed by
``scripts/setup.sh --test``) runs in the e2e Chromium on the sign-in page, every
section of the console, a live session and the customer's phone page, and no serious
or critical violation may be left.

The user guide's pictures of the console at 1366 x 768 and the phone at 390 x 844
(docs/screenshots/guide-*.png) are taken here too, from the live session checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, Account, ApiClient, LiveServer, NewPage
from tests.e2e.console import sign_in, submit_login
from tests.e2e.test_live_session import accept_and_go_live, phone
from tests.e2e.test_tools import drag, marks_on

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CONSOLE_SIZE = (1366, 768)
SERIOUS = ("serious", "critical")

# Runs axe on the whole document; returns the serious and critical violations.
RUN_AXE = """
async (impacts) => {
  const result = await window.axe.run(document, { resultTypes: ['violations'] });
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
}
"""

# Colours measured mid-transition (after a change of colour scheme) would be wrong.
TRANSITIONS_DONE = """
() => document.getAnimations()
  .filter((a) => a instanceof CSSTransition)
  .every((a) => a.playState === 'finished')
"""


class Audit:
    """Collects the violations of every page looked at, so that one run lists them all."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, page: Page, where: str) -> None:
        """The page as it is now, in the light and the dark colour scheme."""
        if not AXE.is_file():
            pytest.fail(f"{AXE} is missing: run scripts/setup.sh --test (installs axe-core)")
        if not page.evaluate("typeof window.axe === 'object'"):
            # Evaluated by the browser's devtools protocol: the page's CSP allows no
            # inline <script> (add_script_tag), and must not be loosened for the test.
            page.evaluate(AXE.read_text())
        for scheme in ("dark", "light"):  # light last: what the other steps expect
            page.emulate_media(color_scheme=scheme)
            page.wait_for_function(TRANSITIONS_DONE)
            violations: list[dict[str, Any]] = page.evaluate(RUN_AXE, list(SERIOUS))
            for v in violations:
                nodes = "\n".join(f"      {node}" for node in v["nodes"])
                self.found.append(
                    f"{where}, {scheme}: [{v['impact']}] {v['id']}: {v['help']}\n{nodes}"
                )

    def assert_clean(self) -> None:
        assert not self.found, "axe-core found serious or critical violations:\n" + "\n".join(
            self.found
        )


@pytest.fixture
def audit() -> Audit:
    return Audit()


def settled(page: Page, section: str) -> None:
    """Wait until a console section has been drawn."""
    page.get_by_test_id(f"nav-{section}").click()
    shown = page.get_by_test_id(f"section-{section}")
    expect(shown).to_be_visible()
    expect(shown).not_to_have_attribute("aria-busy", "true")


def guide_shot(page: Page, name: str) -> None:
    """A user-guide picture of the viewport, one image pixel per CSS pixel."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(DOCS / f"{name}.png"), scale="css", animations="disabled", caret="hide"
    )


def test_sign_in_page(new_page: NewPage, live_server: LiveServer, audit: Audit) -> None:
    pages = {"desktop": new_page(*CONSOLE_SIZE), "phone": phone(new_page)}
    for where, page in pages.items():
        page.goto("/")
        expect(page.get_by_test_id("login-email")).to_be_visible()
        audit.check(page, f"sign-in ({where})")
        submit_login(page, live_server.agent.email, "not the password")
        expect(page.get_by_role("alert")).to_be_visible()
        audit.check(page, f"sign-in with an error ({where})")
    audit.assert_clean()


# At least these; sections added later are checked too (every tab of the menu is).
ADMIN_SECTIONS = {"sessions", "reports", "users", "policy", "audit", "security-log", "api-keys"}


def test_console_sections(new_page: NewPage, live_server: LiveServer, audit: Audit) -> None:
    admin_account = live_server.new_account("a11y")
    live_server.create_user("a11yagent", admin=admin_account)
    ApiClient(live_server.base_url).login(admin_account).request(
        "POST", "/api/api-keys", {"name": "Reporting"}
    )
    pages = {"desktop": new_page(*CONSOLE_SIZE), "phone": phone(new_page)}
    for where, page in pages.items():
        sign_in(page, admin_account)
        tabs = page.get_by_test_id("nav").locator("a.tab")
        sections = [str(tab.get_attribute("href")).removeprefix("#") for tab in tabs.all()]
        assert set(sections) >= ADMIN_SECTIONS, sections
        for section in sections:
            settled(page, section)
            audit.check(page, f"{section} ({where})")
    audit.assert_clean()


def guide_agent(live_server: LiveServer) -> Account:
    """The agent of the user guide's pictures: the same name and address on every run."""
    agent = Account("sam.taylor@acme.test", PASSWORD, "agent")
    ApiClient(live_server.base_url).login(live_server.admin).request(
        "POST",
        "/api/users",
        {"email": agent.email, "role": "agent", "password": PASSWORD, "display_name": "Sam Taylor"},
    )
    return agent


def test_live_session_and_customer_page(
    new_page: NewPage, live_server: LiveServer, audit: Audit
) -> None:
    agent = new_page(*CONSOLE_SIZE)
    sign_in(agent, guide_agent(live_server))
    settled(agent, "sessions")
    agent.get_by_test_id("new-session-customer").fill("Jordan Smith")
    agent.get_by_test_id("new-session-reference").fill("TCK-4711")
    agent.get_by_test_id("new-session").click()
    expect(agent.get_by_test_id("session-status")).to_have_attribute("data-state", "waiting")
    link = agent.get_by_test_id("join-link").input_value().strip()
    audit.check(agent, "session, waiting for the customer")

    by_pin = phone(new_page)
    by_pin.goto("/join")
    expect(by_pin.get_by_test_id("pin-input")).to_be_visible()
    audit.check(by_pin, "customer: PIN entry")
    customer = phone(new_page)
    customer.goto(link)
    expect(customer.get_by_test_id("consent-notice")).to_be_visible()
    audit.check(customer, "customer: consent")

    accept_and_go_live(agent, customer)
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    # Pinned marks on the picture (a circle and an arrow pointing at it), and a chat
    # message waiting on the phone.
    agent.get_by_test_id("mark-fade").select_option("0")
    agent.get_by_test_id("tool-circle").click()
    drag(agent, (0.48, 0.44), (0.61, 0.6))
    agent.get_by_test_id("tool-arrow").click()
    drag(agent, (0.34, 0.24), (0.46, 0.42))
    marks_on(customer).to_have_attribute("data-marks", "2")
    agent.get_by_test_id("chat-input").fill("Is this light blinking?")
    agent.get_by_test_id("chat-input").press("Enter")
    expect(customer.get_by_test_id("chat-unread")).to_have_text("1")
    agent.get_by_test_id("chat-input").blur()
    audit.check(agent, "session, live")
    audit.check(customer, "customer: live")
    guide_shot(agent, "guide-console-live-1366x768")
    guide_shot(customer, "guide-phone-live-390x844")

    agent.get_by_test_id("invite-expert").click()
    expect(agent.get_by_test_id("expert-option").first).to_be_visible()
    audit.check(agent, "session, choosing an expert")
    agent.get_by_test_id("invite-expert").click()
    agent.get_by_test_id("end-session").click()
    expect(agent.get_by_test_id("dialog")).to_be_visible()
    audit.check(agent, "session, asked to confirm the end")
    agent.get_by_test_id("confirm-ok").click()
    expect(customer.get_by_test_id("session-ended-message")).to_be_visible()
    audit.check(customer, "customer: ended")
    audit.check(agent, "session, ended")
    settled(agent, "sessions")
    expect(agent.get_by_test_id("session-row")).to_have_count(1)
    audit.check(agent, "sessions with an ended one")
    settled(agent, "reports")
    audit.check(agent, "reports with a session")
    audit.assert_clean()
