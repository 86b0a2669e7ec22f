"""Steps through the console that several e2e tests share."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Account


def open_console(page: Page) -> None:
    page.goto("/")
    expect(
        page.get_by_test_id("login-email").or_(page.get_by_test_id("current-user"))
    ).to_be_visible()


def submit_login(page: Page, email: str, password: str) -> None:
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def sign_in(page: Page, account: Account) -> None:
    """Sign in from a fresh page and wait for the console."""
    page.goto("/")
    submit_login(page, account.email, account.password)
    expect_signed_in(page, account)


def expect_signed_in(page: Page, account: Account) -> None:
    expect(page.get_by_test_id("current-user")).to_have_text(f"{account.email} ({account.role})")


def expect_sign_in_form(page: Page) -> None:
    expect(page.get_by_test_id("login-email")).to_be_visible()
    expect(page.get_by_test_id("login-password")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def sign_out(page: Page) -> None:
    page.get_by_test_id("logout").click()
    expect_sign_in_form(page)


def enrol_totp(page: Page, shots: tuple[Path, str] | None = None) -> tuple[str, list[str]]:
    """Run the enrolment widget on the page to the end; returns (secret, recovery codes).

    With shots=(directory, prefix), screenshots of the QR and recovery-code steps are saved.
    """
    page.get_by_test_id("totp-enroll").click()
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    qr_loaded = page.get_by_test_id("totp-qr").evaluate("img => img.complete && img.naturalWidth")
    assert qr_loaded, "the QR code image did not render"
    if shots:
        screenshot(page, shots[0], f"{shots[1]}-qr")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    page.get_by_test_id("totp-code").fill(
        "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    )
    page.get_by_test_id("totp-confirm").click()
    expect(page.get_by_test_id("totp-error")).to_contain_text("not valid")
    page.get_by_test_id("totp-code").fill(pyotp.TOTP(secret).now())
    page.get_by_test_id("totp-code").press("Enter")
    codes_list = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes_list.first).to_be_visible()
    if shots:
        screenshot(page, shots[0], f"{shots[1]}-recovery-codes")
    codes = [c.strip() for c in codes_list.all_inner_texts()]
    assert len(codes) >= 8, codes
    expect(page.get_by_test_id("recovery-done")).to_be_disabled()
    page.get_by_test_id("recovery-stored").check()
    page.get_by_test_id("recovery-done").click()
    return secret, codes


def screenshot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def next_code(secret: str) -> str:
    """The code of the next 30-second step: accepted (clock drift) even though the
    current step's code was already used by the enrolment, and codes are single-use."""
    return pyotp.TOTP(secret).at(time.time() + 30)
