"""Exports in the console: an administrator asks for the account's export, watches it
become ready and downloads the ZIP; an agent exports an ended session of theirs from
its view. Each ZIP is opened and checked (manifest checksums, content, no secrets)."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Account, ApiClient, LiveServer, NewPage
from tests.e2e.console import sign_in

pytestmark = pytest.mark.e2e

NOTES = "Replaced the router's power supply; customer happy."


def downloaded_zip(page: Page, testid: str) -> zipfile.ZipFile:
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    assert re.fullmatch(r"livelens-[a-z0-9-]+\.zip", info.value.suggested_filename)
    archive = zipfile.ZipFile(Path(info.value.path()))
    manifest = json.loads(archive.read("manifest.json"))
    assert set(manifest["files"]) == set(archive.namelist()) - {"manifest.json"}
    for name, described in manifest["files"].items():
        assert described["sha256"] == hashlib.sha256(archive.read(name)).hexdigest(), name
    return archive


def read(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


def test_an_administrator_exports_the_account_and_downloads_the_zip(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("exports")
    agent_account = live_server.create_user("exportagent", admin=admin_account)
    agent_api = ApiClient(live_server.base_url).login(agent_account)
    session = agent_api.request("POST", "/api/sessions", {"reference": "TCK-4711"})["session"]
    agent_api.request("PUT", f"/api/sessions/{session['id']}/notes", {"text": NOTES})

    admin = new_page()
    sign_in(admin, admin_account)
    admin.get_by_test_id("nav-exports").click()
    expect(admin.get_by_test_id("exports-empty")).to_be_visible()
    expect(admin.get_by_test_id("exports-kept")).to_contain_text("7 days")
    admin.get_by_test_id("export-account").click()
    row = admin.get_by_test_id("export-row")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-state", "ready")  # followed until it is ready
    expect(row.get_by_test_id("export-state")).to_have_text("Ready")

    archive = downloaded_zip(admin, "export-download")
    folder = f"sessions/{session['id']}/"
    assert read(archive, folder + "session.json")["reference"] == "TCK-4711"
    assert read(archive, folder + "notes.json")["text"] == NOTES
    users = read(archive, "account.json")["users"]
    assert {u["email"] for u in users} == {admin_account.email, agent_account.email}
    assert all("password_hash" not in u and "totp_secret" not in u for u in users)
    assert b"$argon2" not in b"".join(archive.read(n) for n in archive.namelist())

    # The audit log tells who asked and who downloaded.
    admin.get_by_test_id("nav-audit").click()
    for action in ("export.requested", "export.ready", "export.downloaded"):
        expect(admin.locator(f'[data-testid="audit-row"][data-action="{action}"]')).to_have_count(1)


def test_an_agent_exports_an_ended_session_from_its_view(
    new_page: NewPage, live_server: LiveServer
) -> None:
    admin_account = live_server.new_account("sessionexport")
    agent_account: Account = live_server.create_user("sessionexporter", admin=admin_account)
    agent = new_page()
    sign_in(agent, agent_account)
    agent.get_by_test_id("new-session").click()
    view = agent.get_by_test_id("session-view")
    expect(view).to_have_attribute("data-session-id", re.compile(r"^[0-9a-f]{32}$"))
    session_id = view.get_attribute("data-session-id")
    agent.get_by_test_id("end-session").click()
    agent.get_by_test_id("confirm-ok").click()
    summary = agent.get_by_test_id("session-summary")
    expect(summary).to_be_visible()

    summary.get_by_test_id("session-export").click()
    expect(summary.get_by_test_id("export-download")).to_be_visible()
    archive = downloaded_zip(agent, "export-download")
    assert read(archive, f"sessions/{session_id}/session.json")["id"] == session_id
    assert read(archive, "manifest.json")["counts"]["sessions"] == 1
    # An agent has no Exports section: the account's export is the administrators'.
    expect(agent.get_by_test_id("nav-exports")).to_have_count(0)
