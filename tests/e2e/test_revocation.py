"""An agent whose sign-in an administrator ends leaves the live session at once; the
customer stays in it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ApiClient, LiveServer, NewPage
from tests.e2e.console import expect_sign_in_form
from tests.e2e.test_live_session import accept_and_go_live, phone, start_session

pytestmark = pytest.mark.e2e


def test_a_revoked_agent_leaves_the_live_session_at_once(
    new_page: NewPage, live_server: LiveServer
) -> None:
    agent = new_page(1360, 1000)
    invitation = start_session(agent, live_server, "revokedlive")
    email = (agent.get_by_test_id("current-user").get_attribute("title") or "").split(" (")[0]
    customer = phone(new_page)
    customer.goto(invitation.link)
    accept_and_go_live(agent, customer)
    people = customer.get_by_test_id("participants")
    expect(people).to_have_attribute("data-count", "1")

    admin = ApiClient(live_server.base_url).login(live_server.admin)
    user = next(u for u in admin.request("GET", "/api/users")["users"] if u["email"] == email)
    admin.request("POST", f"/api/users/{user['id']}/sessions/revoke")

    # No click needed: the socket closes and the console goes to the sign-in form.
    expect_sign_in_form(agent)
    expect(agent.get_by_test_id("login-notice")).to_have_text(re.compile("sign-in has ended"))
    expect(people).to_have_attribute("data-count", "0")  # the agent has left,
    status = customer.get_by_test_id("live-status")
    expect(status).to_have_attribute("data-state", "waiting")  # the customer stays
    expect(status).to_have_attribute("data-session", "live")
