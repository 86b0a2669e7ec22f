"""The customer page's branding end to end: an administrator sets the company's name,
accent colour and logo on the account page (too light a colour and a GIF are refused
with the reason), and a customer who opens a link of that account on a phone sees the
logo and the name, with the accent colour on the buttons and a visible focus outline.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.console import screenshot, sign_in
from tests.e2e.test_live_session import phone

pytestmark = pytest.mark.e2e

TEAL = "#0f766e"  # 5.47:1 with white
TEAL_RGB = "rgb(15, 118, 110)"


def logo_png() -> bytes:
    """A 240 x 80 logo: a teal bar on white."""
    image = Image.new("RGB", (240, 80), "white")
    image.paste((15, 118, 110), (0, 20, 240, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_the_administrator_brands_the_page_and_the_customer_phone_shows_it(
    new_page: NewPage, live_server: LiveServer, artifacts: Path
) -> None:
    admin_account = live_server.new_account("brand")
    admin = new_page()
    sign_in(admin, admin_account)
    admin.get_by_test_id("nav-policy").click()
    card = admin.get_by_test_id("branding-card")
    expect(card).to_be_visible()

    # Too light a colour: the page says so as it is typed, and the server refuses it.
    admin.get_by_test_id("branding-name").fill("Acme Care")
    color = admin.get_by_test_id("branding-color")
    color.fill("#777777")
    expect(admin.get_by_test_id("branding-contrast")).to_contain_text("4.48:1. Too light")
    admin.get_by_test_id("branding-save").click()
    error = admin.get_by_test_id("branding-color-error")
    expect(error).to_contain_text("contrast ratio of 4.48:1")
    expect(error).to_contain_text("at least 4.5:1")
    expect(color).to_have_attribute("aria-invalid", "true")

    color.fill(TEAL)
    expect(admin.get_by_test_id("branding-contrast")).to_contain_text("Readable")
    admin.get_by_test_id("branding-save").click()
    expect(admin.get_by_test_id("branding-save-status")).to_contain_text("Saved")
    expect(error).to_be_hidden()
    preview = admin.get_by_test_id("branding-preview")
    expect(admin.get_by_test_id("branding-preview-name")).to_have_text("Acme Care")
    expect(admin.get_by_test_id("branding-preview-button")).to_have_css(
        "background-color", TEAL_RGB
    )

    # Too large a file and a GIF are refused with the reason; a PNG is taken and previewed.
    files = admin.get_by_test_id("branding-logo-file")
    files.set_input_files(files=[{"name": "huge.png", "mimeType": "image/png",
                                  "buffer": logo_png() + bytes(300 * 1024)}])  # fmt: skip
    expect(admin.get_by_test_id("branding-logo-status")).to_contain_text("at most 256 KB")
    gif = io.BytesIO()
    Image.new("P", (20, 20)).save(gif, "GIF")
    files.set_input_files(files=[{"name": "logo.gif", "mimeType": "image/gif",
                                  "buffer": gif.getvalue()}])  # fmt: skip
    expect(admin.get_by_test_id("branding-logo-status")).to_contain_text("this file is a GIF")
    files.set_input_files(files=[{"name": "logo.png", "mimeType": "image/png",
                                  "buffer": logo_png()}])  # fmt: skip
    expect(admin.get_by_test_id("branding-logo-status")).to_contain_text("Logo saved")
    preview_logo = admin.get_by_test_id("branding-preview-logo")
    expect(preview_logo).to_be_visible()
    admin.wait_for_function("el => el.complete && el.naturalWidth === 240",
                            arg=preview_logo.element_handle())  # fmt: skip
    expect(admin.get_by_test_id("branding-logo-remove")).to_be_visible()
    screenshot(admin, artifacts, "branding-admin")
    assert preview.is_visible()

    # The administrator starts a session; the customer opens its link on a phone.
    admin.get_by_test_id("nav-sessions").click()
    admin.get_by_test_id("new-session").click()
    link = admin.get_by_test_id("join-link").input_value().strip()
    customer = phone(new_page)
    customer.goto(link)
    expect(customer.get_by_test_id("consent-screen")).to_be_visible()
    logo = customer.get_by_test_id("brand-logo")
    expect(logo).to_be_visible()
    customer.wait_for_function("el => el.complete && el.naturalWidth === 240",
                               arg=logo.element_handle())  # fmt: skip
    expect(customer.get_by_test_id("join-company")).to_have_text("Acme Care")
    expect(customer.locator("h1")).to_have_text("Acme Care would like to see your camera")
    accept = customer.get_by_test_id("consent-accept")
    expect(accept).to_have_css("background-color", TEAL_RGB)
    expect(accept).to_have_css("color", "rgb(255, 255, 255)")
    # The keyboard's focus stays visible on the accent colour.
    customer.keyboard.press("Tab")
    accept.focus()
    assert accept.evaluate("el => el.matches(':focus-visible')")
    expect(accept).to_have_css("outline-style", "solid")
    expect(accept).to_have_css("outline-width", "3px")
    screenshot(customer, artifacts, "branding-customer-phone")
