"""Governance in the console: the account's policy switched and followed by sessions,
reports with a CSV download, API keys shown once and revoked, the session history
searched, and no new session after the subscription.

Each test uses an account of its own, so that what it changes touches nothing else.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import REJOIN_GRACE, Account, ApiClient, LiveServer, NewPage, _cli
from tests.e2e.console import sign_in
from tests.e2e.test_live_session import accept_and_go_live, phone, wait_for_stat

pytestmark = pytest.mark.e2e

# Opens the agent's own socket to a session, asks to chat and answers the error code.
CHAT_REFUSAL = """async (sid) => await new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/ws/agent/${sid}`);
  ws.onopen = () => ws.send(JSON.stringify({ v: 1, type: 'chat', text: 'hello', ref: 'c1' }));
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'error' || message.type === 'chat') {
      ws.close();
      resolve(message.type === 'error' ? message.code : 'sent');
    }
  };
  ws.onclose = (event) => resolve(`closed ${event.code}`);
})"""


# Posts a snapshot as the agent's console would, and answers the status and error code.
SNAPSHOT_REFUSAL = """async (sid) => {
  const xsrf = document.cookie.split('; ').find((c) => c.startsWith('_xsrf='));
  const png = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 0]);
  const answer = await fetch(`/api/sessions/${sid}/snapshots`, {
    method: 'POST', body: png,
    headers: { 'Content-Type': 'image/png', 'X-XSRFToken': decodeURIComponent(xsrf.slice(6)) },
  });
  return [answer.status, (await answer.json()).error];
}"""


def client_of(live_server: LiveServer, account: Account) -> ApiClient:
    return ApiClient(live_server.base_url).login(account)


def session_id(page: Page) -> str:
    view = page.get_by_test_id("session-view")
    expect(view).to_have_attribute("data-session-id", re.compile(r"^[0-9a-f]{32}$"))
    return view.get_attribute("data-session-id") or ""


def test_a_policy_switched_off_is_saved_and_sessions_follow_it(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("policy")
    agent_account = live_server.create_user("policyagent", admin=admin_account)
    admin = new_page()
    sign_in(admin, admin_account)
    admin.get_by_test_id("nav-policy").click()
    expect(admin.get_by_test_id("policy-seats")).to_contain_text("used")
    expect(admin.get_by_test_id("policy-subscription")).to_have_text("Does not end")

    for name in ("chat", "snapshots", "pin_joining", "two_way_audio"):
        switch = admin.get_by_test_id(f"policy-{name}")
        expect(switch).to_be_checked()
        switch.click()
        expect(switch).not_to_be_checked()
        expect(switch).to_be_enabled()  # the answer is in

    # A number out of bounds is named at its field; a good one is saved.
    minutes = admin.get_by_test_id("policy-join_link_minutes")
    minutes.fill("2000")
    admin.get_by_test_id("policy-save").click()
    expect(admin.get_by_test_id("policy-join_link_minutes-error")).to_contain_text("1 to 1440")
    expect(minutes).to_have_attribute("aria-invalid", "true")
    minutes.fill("30")
    admin.get_by_test_id("policy-recording").select_option("agent")
    admin.get_by_test_id("policy-save").click()
    expect(admin.get_by_test_id("policy-save-status")).to_contain_text("Saved")
    expect(admin.get_by_test_id("policy-join_link_minutes-error")).to_be_hidden()
    tenant = client_of(live_server, admin_account).request("GET", "/api/account")["tenant"]
    assert (tenant["chat"], tenant["snapshots"], tenant["pin_joining"]) == (False, False, False)
    assert (tenant["join_link_minutes"], tenant["recording"]) == (30, "agent")
    assert tenant["two_way_audio"] is False and tenant["customer_rating"] is False

    # The agent's new session has no chat box and no PIN, and says why.
    agent = new_page()
    sign_in(agent, agent_account)
    agent.get_by_test_id("new-session").click()
    expect(agent.get_by_test_id("join-link")).to_be_visible()
    expect(agent.get_by_test_id("no-pin")).to_be_visible()
    expect(agent.get_by_test_id("session-pin")).to_have_count(0)
    expect(agent.get_by_test_id("chat-off")).to_be_visible()
    expect(agent.get_by_test_id("chat-input")).to_have_count(0)
    expect(agent.get_by_test_id("snapshots-off")).to_be_visible()
    expect(agent.get_by_test_id("snapshot")).to_be_hidden()
    expect(agent.get_by_test_id("one-way-audio")).to_contain_text("cannot hear you")
    expect(agent.get_by_test_id("agent-mic-state")).to_have_text("Off (account policy)")

    # Live with the customer: their voice reaches the agent, the agent's never reaches
    # them, and a snapshot sent anyway is refused by the server.
    customer = phone(new_page)
    customer.goto(agent.get_by_test_id("join-link").input_value().strip())
    accept_and_go_live(agent, customer)
    wait_for_stat(agent, "audio-packets-received", 50)
    heard = customer.get_by_test_id("connection-quality").get_attribute(
        "data-audio-packets-received"
    )
    assert not float(heard or 0) > 0, heard
    assert agent.evaluate(SNAPSHOT_REFUSAL, session_id(agent)) == [403, "disabled_by_policy"]
    # Not only hidden: the server refuses the chat too.
    assert agent.evaluate(CHAT_REFUSAL, session_id(agent)) == "disabled_by_policy"


def test_reports_show_the_count_and_download_the_csv(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("reports")
    agent_account = live_server.create_user("reportagent", admin=admin_account)
    agent_api = client_of(live_server, agent_account)
    for reference in ("TCK-1001", "TCK-1002"):
        agent_api.request("POST", "/api/sessions", {"reference": reference})

    admin = new_page()
    sign_in(admin, admin_account)
    admin.get_by_test_id("nav-reports").click()
    expect(admin.get_by_test_id("report-sessions-value")).to_have_text("2")
    bars = admin.get_by_test_id("report-chart").locator("rect.chart-bar")
    expect(bars).to_have_count(30)  # the last 30 days, one bar a day
    expect(admin.get_by_test_id("report-chart")).to_have_attribute("role", "img")
    expect(admin.get_by_test_id("report-agent-row")).to_contain_text(agent_account.email)
    picker = admin.get_by_test_id("report-agent")
    agent_id = picker.locator("option", has_text=agent_account.email).get_attribute("value")
    picker.select_option(agent_id or "")
    expect(admin.get_by_test_id("report-csv")).to_have_attribute(
        "href", re.compile(r"agent=[0-9a-f]{32}.*format=csv")
    )
    admin.get_by_test_id("report-outcome").select_option("completed")
    expect(admin.get_by_test_id("report-sessions-value")).to_have_text("0")
    admin.get_by_test_id("report-outcome").select_option("")
    expect(admin.get_by_test_id("report-sessions-value")).to_have_text("2")

    with admin.expect_download() as info:
        admin.get_by_test_id("report-csv").click()
    lines = Path(info.value.path()).read_text("utf-8").splitlines()
    assert "session_id" in lines[0].split(","), lines[0]
    assert len(lines) == 3 and all("TCK-100" in line for line in lines[1:]), lines

    # An agent sees their own, without an agent picker.
    agent = new_page()
    sign_in(agent, agent_account)
    agent.get_by_test_id("nav-reports").click()
    expect(agent.get_by_test_id("report-sessions-value")).to_have_text("2")
    expect(agent.get_by_test_id("report-agent")).to_have_count(0)


def test_an_api_key_is_shown_once_and_revoked(new_page: NewPage, live_server: LiveServer) -> None:
    admin_account = live_server.new_account("apikeys")
    admin = new_page()
    sign_in(admin, admin_account)
    admin.get_by_test_id("nav-api-keys").click()
    expect(admin.get_by_test_id("api-keys-empty")).to_be_visible()
    admin.get_by_test_id("api-key-name-input").fill("Monthly report")
    admin.get_by_test_id("api-key-create-submit").click()
    expect(admin.get_by_test_id("api-key-warning")).to_contain_text("will not be shown again")
    key = admin.get_by_test_id("api-key-value").input_value()
    assert len(key) >= 20, key
    row = admin.get_by_test_id("api-key-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("api-key-name")).to_have_text("Monthly report")
    expect(row.get_by_test_id("api-key-creator")).to_have_text(admin_account.email)
    assert read_summary(live_server, key) == 200

    # Shown once: back on the page, the key is listed but not shown.
    admin.reload()
    expect(admin.get_by_test_id("api-key-row")).to_have_count(1)
    expect(admin.get_by_test_id("api-key-value")).to_have_count(0)

    # Revoking asks first; cancelled, nothing changes.
    admin.get_by_test_id("api-key-revoke").click()
    admin.get_by_test_id("confirm-cancel").click()
    expect(admin.get_by_test_id("api-key-row")).to_have_count(1)
    admin.get_by_test_id("api-key-revoke").click()
    admin.get_by_test_id("confirm-ok").click()
    expect(admin.get_by_test_id("api-key-row")).to_have_count(0)
    expect(admin.get_by_test_id("api-keys-empty")).to_be_visible()
    assert read_summary(live_server, key) == 401


def read_summary(live_server: LiveServer, key: str) -> int:
    request = urllib.request.Request(  # noqa: S310
        f"{live_server.base_url}/api/reports/summary?from=2026-01-01&to=2026-01-31",
        headers={"Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_history_is_searched_and_no_session_starts_after_the_subscription(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("history")
    admin_api = client_of(live_server, admin_account)
    references = [f"BULK-{n}" for n in range(49)] + ["TCK-4711", "INC-2002", "TCK-4712"]
    for reference in references:
        admin_api.request("POST", "/api/sessions", {"reference": reference})

    # A page at a time, newest first; "Load more" brings the rest.
    admin = new_page()
    sign_in(admin, admin_account)
    rows = admin.get_by_test_id("session-row")
    expect(rows).to_have_count(50)
    expect(rows.first.get_by_test_id("session-reference")).to_have_text("TCK-4712")
    admin.get_by_test_id("sessions-more").click()
    expect(rows).to_have_count(52)
    expect(admin.get_by_test_id("sessions-more")).to_be_hidden()
    expect(admin.get_by_test_id("sessions-count")).to_have_text("52 sessions")
    admin.get_by_test_id("sessions-search").fill("tck-47")
    admin.get_by_test_id("sessions-search").press("Enter")
    expect(rows).to_have_count(2)
    expect(rows.get_by_test_id("session-reference")).to_have_text(["TCK-4712", "TCK-4711"])
    admin.get_by_test_id("sessions-outcome").select_option("completed")
    expect(admin.get_by_test_id("sessions-empty")).to_contain_text("No session matches")
    expect(admin.get_by_test_id("sessions-more")).to_be_hidden()

    # The subscription ended yesterday: the console says so instead of starting one.
    name = admin_api.request("GET", "/api/account")["tenant"]["name"]
    assert live_server.data_dir is not None
    _cli(live_server.data_dir, "tenant", "set", "--name", name, "--subscription-ends", "2020-01-01")
    admin.reload()
    expect(admin.get_by_test_id("new-session")).to_be_disabled()
    expect(admin.get_by_test_id("new-session-disabled")).to_contain_text("subscription has ended")
    expect(rows).to_have_count(50)


def test_an_ended_session_shows_the_customers_rating(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("rating")
    admin_api = client_of(live_server, admin_account)
    admin_api.request("PATCH", "/api/account/policy", {"customer_rating": True})
    created = admin_api.request("POST", "/api/sessions", {"reference": "TCK-9"})
    customer = ApiClient(live_server.base_url)
    customer.request("POST", "/api/join", {"token": created["join_url"].split("#", 1)[1]})

    admin = new_page()
    sign_in(admin, admin_account)
    admin.goto(f"/#sessions/{created['session']['id']}")
    # The customer joined without a page, so never connects: the session ends as dropped
    # once the rejoin grace is over (ending it from the page raced with that).
    summary = admin.get_by_test_id("session-summary")
    expect(summary).to_be_visible(timeout=(REJOIN_GRACE + 20) * 1000)
    expect(admin.get_by_test_id("summary-customer-rating")).to_have_count(0)
    body = {"rating": 4, "comment": "Quick and friendly"}
    customer.request("POST", "/api/join/rating", body, expect=(201,))
    admin.reload()
    rating = admin.get_by_test_id("summary-customer-rating")
    expect(rating).to_contain_text("★★★★☆")
    expect(rating.get_by_test_id("rating-score")).to_have_text("4 of 5")
    expect(rating.get_by_test_id("rating-comment")).to_have_text("Quick and friendly")
