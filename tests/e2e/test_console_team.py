"""Day-to-day support work in a team, in the console: who and what a session is for, a
new link that replaces the old one (in every console showing it), and a colleague
invited from a list that says who is at their console, told at once in theirs.

Each test uses an account of its own, so that the colleagues listed are its own.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Account, LiveServer, NewPage
from tests.e2e.console import sign_in
from tests.e2e.test_console_day_to_day import WATCH_ALERTS, session_id
from tests.e2e.test_live_session import phone, status_of

pytestmark = pytest.mark.e2e


def start(page: Page, account: Account, customer: str = "", reference: str = "") -> str:
    """Sign in, start a session for `customer` and `reference`; wait until the view is
    in the session (its own participant listed); returns the session's id."""
    sign_in(page, account)
    page.get_by_test_id("new-session-customer").fill(customer)
    page.get_by_test_id("new-session-reference").fill(reference)
    page.get_by_test_id("new-session").click()
    return in_session(page)


def in_session(page: Page) -> str:
    """The session view's id, once its signalling has said who is in it."""
    sid = session_id(page)
    expect(page.get_by_test_id("session-people").locator("li").first).to_be_visible()
    return sid


def renew(page: Page) -> str:
    """Send a new link from the session view; returns it."""
    page.get_by_test_id("renew-link").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("link-renewed")).to_be_visible()
    return page.get_by_test_id("join-link").input_value()


def expect_replaced(page: Page) -> None:
    """The view says its link was replaced elsewhere, shows none, and offers a new one."""
    expect(page.get_by_test_id("link-replaced")).to_be_visible()
    expect(page.get_by_test_id("join-link")).to_have_count(0)
    expect(page.get_by_test_id("renew-link")).to_be_visible()
    expect(page.get_by_test_id("invite")).not_to_contain_text("null")


def test_a_new_link_replaces_the_old_one(new_page: NewPage, live_server: LiveServer) -> None:
    admin_account = live_server.new_account("relink")
    owner = new_page()
    sign_in(owner, live_server.create_user("relinker", admin=admin_account))

    # A reference the server refuses is said next to its field; nothing is started.
    owner.get_by_test_id("new-session-customer").fill("Jan Peeters")
    owner.get_by_test_id("new-session-reference").fill("TCK\t4711")
    owner.get_by_test_id("new-session").click()
    expect(owner.get_by_test_id("new-session-reference-error")).to_contain_text("reference")
    expect(owner.get_by_test_id("new-session-reference")).to_have_attribute("aria-invalid", "true")
    expect(owner.get_by_test_id("new-session-customer-error")).to_be_hidden()
    owner.get_by_test_id("new-session-reference").fill("TCK-4711")
    owner.get_by_test_id("new-session").click()
    sid = in_session(owner)
    expect(owner.get_by_test_id("session-case")).to_have_text("Jan Peeters · TCK-4711")
    first_link = owner.get_by_test_id("join-link").input_value()

    # The list says whom and what it is for.
    admin = new_page()
    sign_in(admin, admin_account)
    row = admin.locator(f'[data-testid="session-row"][data-session-id="{sid}"]')
    expect(row.get_by_test_id("session-customer-name")).to_have_text("Jan Peeters")
    expect(row.get_by_test_id("session-reference")).to_have_text("TCK-4711")

    # Opened elsewhere there is no link to show: a new one is offered instead. Making
    # it tells the owner's console that the link it shows no longer works.
    row.get_by_test_id("session-open").click()
    assert in_session(admin) == sid
    expect(admin.get_by_test_id("invite-gone")).to_be_visible()
    second_link = renew(admin)
    assert second_link != first_link
    expect_replaced(owner)

    # The owner makes another; now the administrator's is the replaced one.
    third_link = renew(owner)
    assert third_link not in (first_link, second_link)
    expect_replaced(admin)

    # The customer with an old link is told it is not valid; the newest one works.
    stale = phone(new_page)
    stale.goto(first_link)
    expect(stale.get_by_test_id("join-error")).to_contain_text("not valid")
    customer = phone(new_page)
    customer.goto(third_link)
    expect(customer.get_by_test_id("consent-notice")).to_be_visible()
    status_of(owner).to_have_attribute("data-state", "joined")


def colleague(page: Page, account: Account) -> Locator:
    return page.locator(f'[data-testid="expert-option"][data-email="{account.email}"]')


def test_an_invited_expert_is_told_at_once(new_page: NewPage, live_server: LiveServer) -> None:
    admin = live_server.new_account("team")
    lead, helper, busy, away = (live_server.create_user(label, admin=admin)
                                for label in ("lead", "helper", "busy", "away"))  # fmt: skip

    # The helper is at their console (its feed connected), on the Sessions list.
    expert = new_page()
    expert.context.add_init_script(WATCH_ALERTS)
    sign_in(expert, helper)
    expect(expert.locator(".app")).to_have_attribute("data-feed", "ready")
    expect(expert.get_by_test_id("sessions-empty")).to_be_visible()
    # A colleague is in a session of their own; another has not signed in.
    start(new_page(), busy)

    agent = new_page()
    sid = start(agent, lead, "Marie Dubois")
    agent.get_by_test_id("invite-expert").click()
    for account, presence, text in ((helper, "online", "Online"),
                                    (busy, "in_session", "In a session"),
                                    (away, "offline", "Offline")):  # fmt: skip
        expect(colleague(agent, account)).to_have_attribute("data-presence", presence)
        expect(colleague(agent, account).get_by_test_id("expert-presence")).to_have_text(text)
    expect(colleague(agent, lead)).to_have_count(0)  # not yourself
    colleague(agent, helper).get_by_test_id("expert-invite").click()
    expect(agent.get_by_test_id("toast").last).to_contain_text("can now join")

    # Without a reload: a notice with a link to the session, a chime, and the list.
    notice = expert.get_by_test_id("invite-notice")
    expect(notice).to_contain_text("invited you into a support session")
    expect(notice).to_have_attribute("data-session-id", sid)
    expect(expert.get_by_test_id("session-row")).to_have_count(1)
    expect(expert.get_by_test_id("session-customer-name")).to_have_text("Marie Dubois")
    expert.wait_for_function("window.__tones > 0")
    notice.get_by_test_id("invite-notice-open").click()
    assert in_session(expert) == sid
    expect(notice).to_have_count(0)
    # An expert cannot send a new link, and is told who can.
    expect(expert.get_by_test_id("renew-link")).to_have_count(0)
    expect(expert.get_by_test_id("invite")).to_contain_text("Only the agent who started")
    expect(expert.get_by_test_id("invite")).not_to_contain_text("null")
