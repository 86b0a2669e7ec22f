"""The administrator's pages for day-to-day work: a locked user shown as such and
unlocked, the security log and the audit log in words, on a desktop and on a phone.

Each test uses an account of its own, so that its logs hold only what it did.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Account, ApiClient, LiveServer, NewPage
from tests.e2e.console import sign_in

pytestmark = pytest.mark.e2e


def lock_out(live_server: LiveServer, user: Account) -> None:
    """Five wrong passwords in a row lock the address; then the right one is refused."""
    client = ApiClient(live_server.base_url)
    for attempt in range(5):
        body = {"email": user.email, "password": f"Wrong-password-{attempt}"}
        client.request("POST", "/api/auth/login", body, expect=(401, 423))
    body = {"email": user.email, "password": user.password}
    client.request("POST", "/api/auth/login", body, expect=(423,))


def expect_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for wrap in page.locator(".table-wrap").all():
        assert wrap.evaluate("(el) => el.scrollWidth <= el.clientWidth"), "a table scrolls sideways"


def test_a_locked_user_is_unlocked_and_the_security_log_says_why(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("unlock")
    user = live_server.create_user("lockedout", admin=admin_account)
    lock_out(live_server, user)

    admin = new_page()
    sign_in(admin, admin_account)
    admin.get_by_test_id("nav-users").click()
    locked = admin.get_by_test_id(f"user-locked-{user.email}")
    expect(locked).to_contain_text(re.compile(r"Locked\s+for \d+ (minutes?|seconds?)"))
    expect(admin.get_by_test_id(f"user-unlock-{admin_account.email}")).to_have_count(0)
    admin.get_by_test_id(f"user-unlock-{user.email}").click()
    expect(admin.get_by_test_id("toast").last).to_have_text(f"{user.email} can sign in again.")
    expect(locked).to_have_count(0)
    expect(admin.get_by_test_id(f"user-unlock-{user.email}")).to_have_count(0)
    sign_in(new_page(), user)

    # The security log lists the failed sign-ins and the lockout, in words.
    admin.get_by_test_id("nav-security-log").click()
    rows = admin.get_by_test_id("security-log").get_by_test_id("security-row")
    failed = rows.and_(admin.locator('[data-kind="auth.login_failed"]'))
    expect(failed.first).to_contain_text("Failed sign-in")
    expect(failed.first).to_contain_text(re.compile(r"Failed attempts:\s*\d"))
    expect(rows.and_(admin.locator('[data-kind="auth.locked"]'))).to_contain_text(
        "Address locked after failed sign-ins"
    )
    admin.get_by_test_id("security-group").select_option("join")
    expect(rows).to_have_count(0)
    expect(admin.get_by_test_id("security-empty")).to_be_visible()
    admin.get_by_test_id("security-group").select_option("auth")
    expect(failed.first).to_be_visible()
    expect(admin.get_by_test_id("security-pager")).to_contain_text("Showing all")
    expect_no_sideways_scroll(admin)

    # The audit log says who unlocked whom, by name; filters narrow what is loaded.
    admin.get_by_test_id("nav-audit").click()
    rows = admin.get_by_test_id("audit-log").get_by_test_id("audit-row")
    unlocked = rows.and_(admin.locator('[data-action="auth.unlocked"]'))
    expect(unlocked).to_contain_text("Sign-in unlocked")
    expect(unlocked.get_by_test_id("audit-target")).to_contain_text(user.email)
    admin.get_by_test_id("audit-group").select_option("user")
    expect(rows.first).to_be_visible()
    assert all(a.startswith("user.") for a in action_codes(admin))
    admin.get_by_test_id("audit-group").select_option("")
    admin.get_by_test_id("audit-user").select_option(user.email)
    expect(rows.first).to_be_visible()
    for row in rows.all():
        expect(row).to_contain_text(user.email)
    expect_no_sideways_scroll(admin)

    # On a phone, neither log scrolls sideways.
    phone = new_page(390, 844, mobile=True)
    sign_in(phone, admin_account)
    for section, table in (("security-log", "security-log"), ("audit", "audit-log")):
        phone.goto(f"/#{section}")
        expect(phone.get_by_test_id(table).locator("tbody tr").first).to_be_visible()
        expect_no_sideways_scroll(phone)


def action_codes(page: Page) -> list[str]:
    return [
        code or ""
        for code in page.get_by_test_id("audit-row").evaluate_all(
            "(rows) => rows.map((r) => r.dataset.action)"
        )
    ]
