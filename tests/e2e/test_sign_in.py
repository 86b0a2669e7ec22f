"""Signing in and out, wrong passwords, lockout and two-factor sign-in, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
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

WRONG = "Wrong e-mail or password."


def test_agent_signs_in_stays_signed_in_and_signs_out(
    new_page: NewPage, live_server: LiveServer, artifacts: Path
) -> None:
    page = new_page()
    page.goto("/")
    expect_sign_in_form(page)
    expect(page).to_have_title(re.compile("Sign in"))
    expect(page.get_by_test_id("login-otp")).to_be_hidden()
    screenshot(page, artifacts, "sign-in-desktop")

    agent = live_server.agent
    page.get_by_test_id("login-email").fill(agent.email)
    page.get_by_test_id("login-password").fill(agent.password)
    page.get_by_test_id("login-password").press("Enter")  # forms submit on Enter
    expect_signed_in(page, agent)
    expect(page.get_by_test_id("account-name")).to_have_text(live_server.tenant)
    expect(page.get_by_test_id("account-region")).to_have_text("EU")
    expect(page.get_by_test_id("section-sessions")).to_be_visible()  # agents start here
    page.get_by_test_id("nav-security").click()
    expect(page.get_by_test_id("section-security")).to_be_visible()
    expect(page.get_by_test_id("totp-status")).to_have_text("Off")

    page.reload()
    expect_signed_in(page, agent)
    screenshot(page, artifacts, "console-agent-desktop")

    sign_out(page)
    expect(page.get_by_test_id("login-notice")).to_have_text("You have been signed out.")
    page.reload()
    expect_sign_in_form(page)

    phone = new_page(390, 844, mobile=True)
    phone.goto("/")
    expect_sign_in_form(phone)
    screenshot(phone, artifacts, "sign-in-phone")
    sign_in(phone, agent)
    screenshot(phone, artifacts, "console-agent-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the console scrolls sideways on a phone ({width}px wide)"


def test_wrong_password_and_unknown_email_get_the_same_answer(
    page: Page, live_server: LiveServer
) -> None:
    user = live_server.create_user("wrongpw")
    page.goto("/")
    submit_login(page, user.email, "Not-the-password-1")
    expect(page.get_by_test_id("login-error")).to_have_text(WRONG)
    expect(page.get_by_test_id("login-password")).to_have_value("")
    expect(page.get_by_test_id("current-user")).to_have_count(0)

    page.reload()
    submit_login(page, live_server.unique_email("nobody"), "Not-the-password-1")
    expect(page.get_by_test_id("login-error")).to_have_text(WRONG)

    # Having failed once does not stop the right password from working.
    page.reload()
    submit_login(page, user.email, user.password)
    expect_signed_in(page, user)


def test_five_wrong_passwords_lock_the_account(page: Page, live_server: LiveServer) -> None:
    user = live_server.create_user("lockme")
    page.goto("/")
    error = page.get_by_test_id("login-error")
    for attempt in range(1, 6):
        page.reload()  # a fresh form, so each answer is really a new one
        submit_login(page, user.email, f"Wrong-password-{attempt}")
        expect(error).to_have_text(WRONG)

    # Now even the right password is refused, with the time to wait.
    locked = re.compile(r"Too many failed sign-ins.*Try again in (5 minutes|\d+ seconds?)\.")
    page.reload()
    submit_login(page, user.email, user.password)
    expect(error).to_have_text(locked)
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    page.reload()
    submit_login(page, user.email, "Wrong-password-6")
    expect(error).to_have_text(locked)


def test_totp_enrolment_sign_in_with_code_and_recovery_code(
    page: Page, live_server: LiveServer, artifacts: Path
) -> None:
    user = live_server.create_user("twofactor")
    sign_in(page, user)
    page.get_by_test_id("nav-security").click()
    expect(page.get_by_test_id("totp-status")).to_have_text("Off")
    secret, codes = enrol_totp(page)
    expect(page.get_by_test_id("totp-status")).to_have_text("On")
    sign_out(page)

    # Password alone is not enough any more.
    submit_login(page, user.email, user.password)
    otp = page.get_by_test_id("login-otp")
    expect(otp).to_be_visible()
    expect(page.get_by_test_id("login-error")).to_have_text(
        re.compile("Enter the 6-digit code from your authenticator app")
    )
    otp.fill("123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    otp.press("Enter")
    expect(page.get_by_test_id("login-error")).to_have_text(re.compile("not valid"))
    screenshot(page, artifacts, "sign-in-otp-desktop")
    otp.fill(next_code(secret))
    page.get_by_test_id("login-submit").click()
    expect_signed_in(page, user)
    sign_out(page)

    # A recovery code works instead of the app's code, once.
    for attempt in range(2):
        submit_login(page, user.email, user.password)
        expect(otp).to_be_visible()
        page.get_by_test_id("login-use-recovery").click()
        otp.fill(codes[0])
        page.get_by_test_id("login-submit").click()
        if attempt == 0:
            expect_signed_in(page, user)
            sign_out(page)
        else:
            expect(page.get_by_test_id("login-error")).to_have_text(re.compile("not valid"))
            expect(page.get_by_test_id("current-user")).to_have_count(0)

    # Another recovery code still works, and the user can turn 2FA off again.
    otp.fill(codes[1])
    page.get_by_test_id("login-submit").click()
    expect_signed_in(page, user)
    page.get_by_test_id("nav-security").click()
    page.get_by_test_id("totp-disable-password").fill("Wrong-password-9")
    page.get_by_test_id("totp-disable").click()
    expect(page.get_by_test_id("totp-disable-error")).to_have_text("Your password is not correct.")
    page.get_by_test_id("totp-disable-password").fill(user.password)
    page.get_by_test_id("totp-disable-password").press("Enter")
    expect(page.get_by_test_id("totp-status")).to_have_text("Off")
    sign_out(page)
    sign_in(page, user)


def test_change_password(page: Page, live_server: LiveServer) -> None:
    user = live_server.create_user("changepw")
    sign_in(page, user)
    page.get_by_test_id("nav-security").click()
    current = page.get_by_test_id("password-current")
    new = page.get_by_test_id("password-new")
    message = page.get_by_test_id("password-message")

    current.fill(user.password)
    new.fill("short1")
    page.get_by_test_id("password-submit").click()
    expect(message).to_have_text(re.compile("at least 8 characters"))

    current.fill("Not-my-password-1")
    new.fill("Another-horse-77")
    page.get_by_test_id("password-submit").click()
    expect(message).to_have_text("Your current password is not correct.")

    current.fill(user.password)
    new.fill("Another-horse-77")
    new.press("Enter")
    expect(message).to_have_text(re.compile("Password changed"))
    sign_out(page)
    submit_login(page, user.email, user.password)
    expect(page.get_by_test_id("login-error")).to_have_text(WRONG)
    page.get_by_test_id("login-password").fill("Another-horse-77")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(user.email)
