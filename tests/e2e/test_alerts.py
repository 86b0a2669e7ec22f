"""The "Alerts" card of the security log (administrators), against a real server whose
accounts may point webhooks at loopback (``--alert-hooks-private yes``) and a real
receiver: save a webhook and see its secret once, send a test alert, see a lockout
delivered and counted, remove it; on a phone too."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from livelens.services import alert_rules
from tests.e2e.conftest import LiveServer, NewPage, page_factory, serving
from tests.e2e.console import sign_in
from tests.e2e.test_admin_pages import expect_no_sideways_scroll, lock_out
from tests.webhook_receiver import Posted, webhook_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, queue.Queue[Posted]]]:
    with webhook_receiver() as receiving:
        yield receiving


@pytest.fixture(scope="module")
def alerting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("livelens-alerts")
    with serving(data_dir, "--alert-hooks-private", "yes") as server:
        yield server


@pytest.fixture
def new_alerting_page(
    browser: Browser, alerting_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[NewPage]:
    with page_factory(browser, alerting_server, request) as factory:
        yield factory


def next_alert(received: queue.Queue[Posted], secret: str) -> dict[str, object]:
    posted = received.get(timeout=30)
    signature = posted.headers[alert_rules.SIGNATURE_HEADER]
    assert alert_rules.verify(signature, posted.body, secret, time.time())
    alert: dict[str, object] = json.loads(posted.body)
    return alert


# Whether the account's webhook has counted ``n`` alerts delivered (the API, in the page).
COUNTED = """async (n) => {
  const answer = await fetch('/api/account/alert-hook', { credentials: 'same-origin' });
  return (await answer.json()).delivered === n;
}"""


def open_alerts(page: Page) -> None:
    page.goto("/#security-log")
    expect(page.get_by_test_id("alerts-card")).to_be_visible()


def test_an_administrator_sets_tests_and_removes_the_alert_webhook(
    new_alerting_page: NewPage,
    alerting_server: LiveServer,
    receiver: tuple[str, queue.Queue[Posted]],
) -> None:
    base, received = receiver
    admin_account = alerting_server.new_account("alerts")
    user = alerting_server.create_user("watched", admin=admin_account)
    admin = new_alerting_page()
    sign_in(admin, admin_account)
    open_alerts(admin)
    expect(admin.get_by_test_id("alert-hook-state")).to_have_text("Off")
    expect(admin.get_by_test_id("alert-hook-none")).to_be_visible()

    admin.get_by_test_id("alert-hook-url").fill(f"{base}/alerts")
    admin.get_by_test_id("alert-hook-save").click()
    expect(admin.get_by_test_id("alert-hook-secret-warning")).to_contain_text(
        "will not be shown again"
    )
    secret = admin.get_by_test_id("alert-hook-secret-value").input_value()
    assert secret.startswith(alert_rules.SECRET_PREFIX)
    expect(admin.get_by_test_id("alert-hook-state")).to_have_text("On")
    expect(admin.get_by_test_id("alert-hook-delivered")).to_have_text("0")
    admin.get_by_test_id("alert-hook-secret-done").click()
    expect(admin.get_by_test_id("alert-hook-secret")).to_be_hidden()

    admin.get_by_test_id("alert-hook-test").click()
    expect(admin.get_by_test_id("toast").last).to_have_text("The test alert was delivered.")
    expect(admin.get_by_test_id("alert-hook-delivered")).to_have_text("1")
    assert next_alert(received, secret)["kind"] == alert_rules.TEST_KIND

    # A lockout in the account, and a sign-in at the locked address, reach the webhook as
    # they happen, and are counted.
    lock_out(alerting_server, user)
    kinds = {next_alert(received, secret)["kind"] for _ in range(2)}
    assert kinds == {"auth.locked", "auth.locked_attempt"}
    admin.wait_for_function(COUNTED, arg=3, polling=100)  # written once the receiver answered
    admin.get_by_test_id("security-refresh").click()
    expect(admin.get_by_test_id("alert-hook-delivered")).to_have_text("3")
    expect(admin.get_by_test_id("alert-hook-last-error")).to_have_text("None")

    # On a phone, the card fits the screen.
    phone = new_alerting_page(390, 844, mobile=True)
    sign_in(phone, admin_account)
    open_alerts(phone)
    expect(phone.get_by_test_id("alert-hook-delivered")).to_have_text("3")
    expect_no_sideways_scroll(phone)

    # A URL that is not allowed is refused with the reason.
    admin.get_by_test_id("alert-hook-url").fill("http://192.0.2.10/alerts")
    admin.get_by_test_id("alert-hook-save").click()
    expect(admin.get_by_test_id("alert-hook-error")).to_contain_text("https://")

    admin.get_by_test_id("alert-hook-remove").click()
    admin.get_by_test_id("confirm-ok").click()
    expect(admin.get_by_test_id("alert-hook-state")).to_have_text("Off")
    expect(admin.get_by_test_id("alert-hook-test")).to_be_hidden()
