"""What ends a live session, and what does not, end to end: an agent and an invited
expert in the console, a customer on a phone, through ``livelens serve`` started with a
short rejoin grace (conftest.REJOIN_GRACE).

Where the point is that nothing happens for a while (a session that must not end),
the test waits that while: there is no event to wait for.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import REJOIN_GRACE, Account, LiveServer, NewPage
from tests.e2e.console import expect_sign_in_form, sign_in
from tests.e2e.test_live_session import (
    accept_and_go_live,
    end_for_everyone,
    phone,
    start_session,
    status_of,
    wait_for_frames,
)

pytestmark = pytest.mark.e2e

BEYOND_THE_GRACE = 2 * REJOIN_GRACE + 1  # seconds


def invite_expert(agent: Page, new_page: NewPage, expert: Account) -> Page:
    """The agent invites `expert`, who opens the session from their list and sees it."""
    agent.get_by_test_id("invite-expert").click()
    agent.get_by_test_id("expert-email").fill(expert.email)
    agent.get_by_test_id("expert-submit").click()
    expect(agent.get_by_test_id("toast").last).to_contain_text("can now join")
    page = new_page(1280, 900)
    sign_in(page, expert)
    page.get_by_test_id("session-list").get_by_test_id("session-open").first.click()
    wait_for_frames(page, "remote-video", 10)
    return page


def ended_by(page: Page) -> str:
    """The console's summary line "Ended by" of the session it shows."""
    cell = page.get_by_test_id("summary-ended-by")
    expect(cell).to_be_visible()
    return cell.inner_text()


def view_ended_session(page: Page) -> None:
    """From the console's session list, open the newest session (ended) with *View*."""
    page.get_by_test_id("sessions-refresh").click()
    row = page.get_by_test_id("session-list").get_by_test_id("session-row").first
    expect(row).to_have_attribute("data-status", "ended")
    row.get_by_test_id("session-view-content").click()


def test_an_expert_leaves_and_the_session_stays_live(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page(1360, 1000)
    invitation = start_session(agent, live_server, "lead")
    customer = phone(new_page)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    expert = invite_expert(agent, new_page, live_server.create_user("helper"))
    people = customer.get_by_test_id("participants")
    expect(people).to_have_attribute("data-count", "2")

    # The owner ends for everyone; an expert leaves (the owner is here).
    expect(agent.get_by_test_id("end-session")).to_have_text("End for everyone")
    expect(agent.get_by_test_id("leave-session")).to_be_hidden()
    expect(expert.get_by_test_id("end-session")).to_be_hidden()
    expert.get_by_test_id("leave-session").click()
    expect(expert.get_by_test_id("session-left")).to_be_visible()
    expect(people).to_have_attribute("data-count", "1")
    expect(agent.get_by_test_id("session-people")).not_to_contain_text("Helper")

    frames = wait_for_frames(agent, "remote-video", 0)
    time.sleep(BEYOND_THE_GRACE)
    status_of(agent).to_have_attribute("data-state", "live")
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    wait_for_frames(agent, "remote-video", frames + 30)  # the camera still comes through

    end_for_everyone(agent)
    expect(customer.get_by_test_id("session-ended-message")).to_contain_text(
        "Lead ended the session"
    )
    status_of(agent).to_have_attribute("data-outcome", "completed")
    assert ended_by(agent) == "You"
    # The expert who had left looks at it afterwards: the lead agent, by name.
    expert.get_by_test_id("session-done").click()
    view_ended_session(expert)
    assert ended_by(expert) == "Lead"


def test_the_owner_leaves_the_expert_ends_and_everyone_is_told_who(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page(1360, 1000)
    invitation = start_session(agent, live_server, "owner")
    customer = phone(new_page)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    expert = invite_expert(agent, new_page, live_server.create_user("specialist"))
    expect(expert.get_by_test_id("end-session")).to_be_hidden()

    # The owner goes back to the list (their console leaves the session): it goes on.
    agent.get_by_test_id("back-to-sessions").click()
    expect(customer.get_by_test_id("participants")).to_have_attribute("data-count", "1")
    frames = wait_for_frames(expert, "remote-video", 0)
    time.sleep(BEYOND_THE_GRACE)
    status_of(expert).to_have_attribute("data-state", "live")
    expect(customer.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    wait_for_frames(expert, "remote-video", frames + 30)

    # With the owner away, the expert may end it for everyone.
    end_for_everyone(expert)
    expect(customer.get_by_test_id("session-ended-message")).to_contain_text(
        "Specialist ended the session"
    )
    status_of(expert).to_have_attribute("data-state", "ended")
    assert ended_by(expert) == "You"
    view_ended_session(agent)
    assert ended_by(agent) == "Specialist"


def test_the_agent_reloads_while_waiting_and_the_customer_still_joins(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page()
    invitation = start_session(agent, live_server, "reloader")
    agent.reload()  # the session view comes back at its address (without the link)
    status_of(agent).to_have_attribute("data-state", "waiting")
    agent.get_by_test_id("back-to-sessions").click()  # and the agent leaves it for a while
    expect(agent.get_by_test_id("nav-sessions")).to_have_attribute("aria-current", "page")
    time.sleep(BEYOND_THE_GRACE)

    agent.get_by_test_id("sessions-refresh").click()
    row = agent.get_by_test_id("session-list").get_by_test_id("session-row").first
    expect(row).to_have_attribute("data-status", "waiting")
    row.get_by_test_id("session-open").click()
    status_of(agent).to_have_attribute("data-state", "waiting")

    customer = phone(new_page)
    customer.goto(invitation.link)
    expect(customer.get_by_test_id("consent-notice")).to_be_visible()
    status_of(agent).to_have_attribute("data-state", "joined")
    accept_and_go_live(agent, customer)


@pytest.mark.parametrize(
    ("ended", "text"),
    [
        ({"by": "agent", "by_id": "me", "by_name": "Ann"}, "You"),
        ({"by": "agent", "by_id": "someone-else", "by_name": "Bob"}, "Bob"),
        ({"by": "agent", "by_id": None, "by_name": None}, "An agent"),  # older records
        ({"by": "customer", "by_id": None, "by_name": None}, "The customer"),
        ({"by": "system", "outcome": "expired"}, "LiveLens (the link expired)"),
        ({"by": "system", "outcome": "dropped"}, "LiveLens (the connection was lost)"),
    ],
)
def test_who_ended_it_as_the_console_says_it(new_page: NewPage, ended: dict[str, object],
                                             text: str) -> None:  # fmt: skip
    """The console's rule (livelens/web/views/session.js endedByText), run in Chromium."""
    page = new_page()
    page.goto("/")
    expect_sign_in_form(page)  # drawn once the console's texts (catalogues) are loaded
    shown = page.evaluate(
        """async ([ended, me]) => (await import('/static/views/session.js'))
            .endedByText(ended, me)""",
        [ended, "me"],
    )
    assert shown == text
