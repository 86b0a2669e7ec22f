"""The administrator's sections: users, account policy, audit log; and what agents see."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.console import (
    enrol_totp,
    expect_sign_in_form,
    expect_signed_in,
    next_code,
    screenshot,
    sign_in,
    sign_out,
    submit_login,
)

pytestmark = pytest.mark.e2e

ADMIN_SECTIONS = ("nav-users", "nav-policy", "nav-audit")


def test_agents_do_not_see_admin_sections(page: Page, live_server: LiveServer) -> None:
    agent = live_server.create_user("plainagent")
    sign_in(page, agent)
    expect(page.get_by_test_id("nav-security")).to_be_visible()
    for testid in ADMIN_SECTIONS:
        expect(page.get_by_test_id(testid)).to_have_count(0)

    # A hand-typed address of an admin section shows the agent's own section instead.
    page.goto("/#users")
    expect_signed_in(page, agent)
    expect(page.get_by_test_id("section-sessions")).to_be_visible()
    expect(page.get_by_test_id("users-table")).to_have_count(0)
    assert page.evaluate("fetch('/api/users').then((r) => r.status)") == 403


def test_admin_adds_an_agent(new_page: NewPage, live_server: LiveServer, artifacts: Path) -> None:
    page = new_page()
    admin = live_server.admin
    sign_in(page, admin)
    for testid in (*ADMIN_SECTIONS, "nav-security"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_test_id("nav-sessions")).to_have_attribute("aria-current", "page")
    page.get_by_test_id("nav-users").click()
    expect(page.get_by_test_id("nav-users")).to_have_attribute("aria-current", "page")
    table = page.get_by_test_id("users-table")
    expect(table.get_by_test_id(f"user-row-{admin.email}")).to_contain_text("(you)")

    email = live_server.unique_email("newagent")
    page.get_by_test_id("user-create-email").fill(email)
    page.get_by_test_id("user-create-role").select_option("agent")
    page.get_by_test_id("user-create-password").fill("short")
    page.get_by_test_id("user-create-submit").click()
    error = page.get_by_test_id("user-create-error")
    expect(error).to_have_text(re.compile("at least 8 characters"))
    page.get_by_test_id("user-create-password").fill("onlyletters")
    page.get_by_test_id("user-create-password").press("Enter")
    expect(error).to_have_text(re.compile("letters and digits"))
    expect(table.get_by_test_id(f"user-row-{email}")).to_have_count(0)

    page.get_by_test_id("user-create-password").fill("Good-password-2024")
    page.get_by_test_id("user-create-submit").click()
    row = table.get_by_test_id(f"user-row-{email}")
    expect(row).to_be_visible()
    expect(error).to_be_hidden()
    expect(page.get_by_test_id(f"user-role-{email}")).to_have_value("agent")
    expect(page.get_by_test_id(f"user-name-{email}")).to_have_text("Newagent")
    expect(row).to_contain_text("Active")
    expect(page.get_by_test_id("user-create-email")).to_have_value("")
    # Last sign-in: never for the new agent, just now for the administrator.
    expect(page.get_by_test_id(f"user-last-sign-in-{email}")).to_have_text("Never")
    mine = page.get_by_test_id(f"user-last-sign-in-{admin.email}")
    expect(mine).to_have_text(re.compile(r"^(now|\d+ (sec|min)\. ago)$"))
    expect(mine).to_have_attribute("title", re.compile(r"\d{4}"))  # the date and time in full

    # The same address again is refused.
    page.get_by_test_id("user-create-email").fill(email.upper())
    page.get_by_test_id("user-create-password").fill("Good-password-2024")
    page.get_by_test_id("user-create-submit").click()
    expect(error).to_have_text(re.compile("cannot be used for a new user"))
    screenshot(page, artifacts, "console-admin-users-desktop")

    # The new agent can sign in with that password.
    other = new_page()
    other.goto("/")
    submit_login(other, email, "Good-password-2024")
    expect(other.get_by_test_id("current-user")).to_have_text(f"{email} (agent)")
    page.reload()
    expect(page.get_by_test_id(f"user-last-sign-in-{email}")).not_to_have_text("Never")
    expect(page.get_by_test_id(f"user-last-sign-in-{email}")).to_have_attribute(
        "data-at", re.compile(r"^\d+(\.\d+)?$")
    )

    # Reset the password: a weak one is refused in the dialog, a good one signs the user out.
    page.get_by_test_id(f"user-reset-password-{email}").click()
    page.get_by_test_id("reset-password").fill("weak")
    page.get_by_test_id("reset-password-submit").click()
    expect(page.get_by_test_id("reset-password-error")).to_have_text(
        re.compile("at least 8 characters")
    )
    page.get_by_test_id("reset-password").fill("Reset-password-99")
    page.get_by_test_id("reset-password").press("Enter")
    expect(page.get_by_test_id("dialog")).to_have_count(0)
    other.reload()
    expect_sign_in_form(other)
    submit_login(other, email, "Reset-password-99")
    expect(other.get_by_test_id("current-user")).to_have_text(f"{email} (agent)")

    # Disable, enable and delete the user.
    page.get_by_test_id(f"user-toggle-disabled-{email}").click()
    expect(row).to_contain_text("Disabled")
    other.reload()
    expect_sign_in_form(other)
    page.get_by_test_id(f"user-toggle-disabled-{email}").click()
    expect(row).to_contain_text("Active")
    page.get_by_test_id(f"user-delete-{email}").click()
    page.get_by_test_id("confirm-ok").click()
    expect(row).to_have_count(0)

    phone = new_page(390, 844, mobile=True)
    sign_in(phone, admin)
    phone.get_by_test_id("nav-users").click()
    expect(phone.get_by_test_id("users-table")).to_be_visible()
    screenshot(phone, artifacts, "console-admin-users-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the users page scrolls sideways on a phone ({width}px wide)"


def test_admin_signs_an_agent_out_everywhere(new_page: NewPage, live_server: LiveServer) -> None:
    agent = live_server.create_user("revokee")
    agent_page = new_page()
    sign_in(agent_page, agent)
    expect(agent_page.get_by_test_id("section-sessions")).to_be_visible()
    agent_page.get_by_test_id("nav-security").click()

    admin_page = new_page()
    sign_in(admin_page, live_server.admin)
    admin_page.get_by_test_id("nav-users").click()
    admin_page.get_by_test_id(f"revoke-sessions-{agent.email}").click()
    expect(admin_page.get_by_test_id("toast").last).to_have_text(
        f"Signed {agent.email} out of 1 browser."
    )

    # The agent's next API call finds the sign-in gone and shows the sign-in form.
    agent_page.get_by_test_id("password-current").fill(agent.password)
    agent_page.get_by_test_id("password-new").fill("Another-horse-77")
    agent_page.get_by_test_id("password-submit").click()
    expect_sign_in_form(agent_page)
    expect(agent_page.get_by_test_id("login-notice")).to_have_text(re.compile("sign-in has ended"))
    agent_page.reload()
    expect_sign_in_form(agent_page)
    # The password was not changed by the refused request.
    sign_in(agent_page, agent)


def test_agent_signs_out_everywhere(new_page: NewPage, live_server: LiveServer) -> None:
    agent = live_server.create_user("everywhere")
    first, second = new_page(), new_page()
    sign_in(first, agent)
    sign_in(second, agent)
    second.get_by_test_id("nav-security").click()
    second.get_by_test_id("revoke-own-sessions").click()
    second.get_by_test_id("confirm-ok").click()
    expect_sign_in_form(second)
    expect(second.get_by_test_id("login-notice")).to_have_text("You were signed out of 2 browsers.")
    first.reload()
    expect_sign_in_form(first)


def test_required_2fa_forces_enrolment(
    new_page: NewPage, live_server: LiveServer, artifacts: Path
) -> None:
    admin, agent = live_server.other_admin, live_server.other_agent
    admin_page = new_page()
    sign_in(admin_page, admin)
    expect(admin_page.get_by_test_id("account-region")).to_have_text("US")
    admin_page.get_by_test_id("nav-policy").click()
    toggle = admin_page.get_by_test_id("require-totp")
    expect(toggle).not_to_be_checked()
    toggle.check()
    # The administrator has no 2FA either, so they are sent to set it up right away.
    expect(admin_page.get_by_test_id("enrollment-gate")).to_be_visible()

    page = new_page(390, 844, mobile=True)
    sign_in(page, agent)
    gate = page.get_by_test_id("enrollment-gate")
    expect(gate).to_be_visible()
    expect(page.get_by_test_id("nav")).to_have_count(0)
    expect(page.get_by_test_id("logout")).to_be_visible()
    for address in ("/#security", "/#users", "/"):
        page.goto(address)
        expect(gate).to_be_visible()
        expect(page.get_by_test_id("nav")).to_have_count(0)
    # The API refuses everything else too, not just the console.
    answer = page.evaluate("fetch('/api/users').then((r) => r.json())")
    assert answer["error"] == "totp_enrollment_required", answer

    secret, _codes = enrol_totp(page, shots=(artifacts, "enrolment-phone"))
    expect_signed_in(page, agent)
    expect(page.get_by_test_id("nav-security")).to_be_visible()
    page.get_by_test_id("nav-security").click()
    expect(page.get_by_test_id("totp-status")).to_have_text("On")
    expect(page.get_by_test_id("totp-required-note")).to_be_visible()
    sign_out(page)
    submit_login(page, agent.email, agent.password)
    page.get_by_test_id("login-otp").fill(next_code(secret))
    page.get_by_test_id("login-submit").click()
    expect_signed_in(page, agent)

    # The administrator enrols too, and can then make 2FA optional again.
    enrol_totp(admin_page)
    expect_signed_in(admin_page, admin)
    admin_page.get_by_test_id("nav-policy").click()
    expect(admin_page.get_by_test_id("require-totp")).to_be_checked()
    admin_page.get_by_test_id("require-totp").uncheck()
    expect(admin_page.get_by_test_id("policy-status")).to_have_text(re.compile("optional"))


def test_audit_log_shows_sign_in_events(
    new_page: NewPage, live_server: LiveServer, artifacts: Path
) -> None:
    user = live_server.create_user("audited")
    page = new_page()
    page.goto("/")
    submit_login(page, user.email, "Wrong-password-1")
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong e-mail or password.")
    sign_in(page, user)
    sign_out(page)

    sign_in(page, live_server.admin)
    page.get_by_test_id("nav-audit").click()
    log = page.get_by_test_id("audit-log")
    rows = log.get_by_test_id("audit-row")
    succeeded = rows.filter(has_text=user.email).and_(
        page.locator('[data-action="auth.login_succeeded"]')
    )
    expect(succeeded.first).to_contain_text("Signed in")
    failed = rows.filter(has_text=user.email).and_(
        page.locator('[data-action="auth.login_failed"]')
    )
    expect(failed).to_have_count(1)
    expect(
        rows.filter(has_text=user.email).and_(page.locator('[data-action="auth.logout"]'))
    ).to_have_count(1)
    expect(rows.filter(has_text=live_server.admin.email).first).to_be_visible()

    page.get_by_test_id("audit-filter").fill(user.email)
    expect(rows.filter(has_not_text=user.email)).to_have_count(0)
    expect(succeeded).to_have_count(1)
    page.get_by_test_id("audit-filter").fill("")
    screenshot(page, artifacts, "console-admin-audit-desktop")
