"""Deleting an account from the console: the administrator types its name in the
danger zone, downloads the signed deletion certificate, and the CLI verifies it
(``livelens verify-certificate``) against the instance's published key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ApiClient, LiveServer, NewPage
from tests.e2e.console import expect_sign_in_form, sign_in

pytestmark = pytest.mark.e2e


def verify(path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livelens", "verify-certificate", str(path), *more],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_an_administrator_deletes_the_account_and_the_cli_verifies_the_certificate(
    new_page: NewPage, live_server: LiveServer, tmp_path: Path
) -> None:
    admin_account = live_server.new_account("deletion")
    agent_account = live_server.create_user("deletionagent", admin=admin_account)
    admin_api = ApiClient(live_server.base_url).login(admin_account)
    name = admin_api.request("GET", "/api/account")["tenant"]["name"]
    agent_api = ApiClient(live_server.base_url).login(agent_account)
    session = agent_api.request("POST", "/api/sessions", {"customer_name": "Jo Doe"})["session"]
    agent_api.request("PUT", f"/api/sessions/{session['id']}/notes", {"text": "secret note"})

    page = new_page(390, 844, mobile=True)  # it works on a phone too
    sign_in(page, admin_account)
    page.get_by_test_id("nav-policy").click()
    zone = page.get_by_test_id("danger-zone")
    expect(zone).to_contain_text("kept for 90 days")
    zone.get_by_test_id("account-delete").click()
    typed = page.get_by_test_id("account-delete-confirm")
    typed.fill(name.upper())  # not quite its name: refused, nothing deleted
    page.get_by_test_id("account-delete-confirm-submit").click()
    expect(page.get_by_test_id("account-delete-confirm-error")).to_contain_text("exactly")
    assert admin_api.request("GET", "/api/account")["tenant"]["name"] == name

    typed.fill(name)
    with page.expect_download() as info:
        page.get_by_test_id("account-delete-confirm-submit").click()
    expect(page.get_by_test_id("account-deleted")).to_contain_text(name)
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.startswith("livelens-deletion-certificate-") and path.suffix == ".json"

    # The CLI checks it against the key the instance publishes.
    published = ApiClient(live_server.base_url).request("GET", "/api/instance/signing-key")
    done = verify(path, "--public-key", published["public_key"])
    assert done.returncode == 0, done.stderr
    assert "Genuine" in done.stdout and name in done.stdout
    assert admin_account.email in done.stdout and published["fingerprint"] in done.stdout
    certificate = json.loads(path.read_text())["certificate"]
    assert certificate["counts"]["users"] == 2 and certificate["counts"]["support_sessions"] == 1
    # An altered copy is refused, with the reason.
    certificate["counts"]["users"] = 1
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(certificate))
    refused = verify(altered)
    assert refused.returncode == 1 and "altered" in refused.stderr

    # Everyone of the account is signed out, for good.
    page.reload()
    expect_sign_in_form(page)
    admin_api.request("GET", "/api/me", expect=(401,))
    agent_api.request("GET", "/api/me", expect=(401,))
    ApiClient(live_server.base_url).request(
        "POST", "/api/auth/login",
        {"email": admin_account.email, "password": admin_account.password}, expect=(401,),
    )  # fmt: skip
