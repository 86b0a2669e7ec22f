"""An account's alert webhook as its administrators manage it: set with a secret shown
once, rotated, tested, removed, audited; refused to agents, to other accounts, and for
URLs that are not public https:// ones."""

from __future__ import annotations

import pytest

from livelens.services import alert_rules
from tests.api.alerting import alerting, put_hook, receiving, set_hook
from tests.api.governance import account, signed_in
from tests.api.harness import Server

HOOK = "/api/account/alert-hook"


async def audit_actions(server: Server, tenant_id: str) -> list[tuple[str, str | None]]:
    events = await server.ctx.store.scoped(tenant_id).list_audit_events(50)
    return [(e.action, e.target) for e in events if e.action.startswith("alert_hook.")]


async def test_the_secret_is_shown_once_and_setting_again_rotates_it(server: Server) -> None:
    tenant_id, admin = await account(server)
    assert (await admin.get(HOOK)).body == {"configured": False, "url": None}

    first = await set_hook(admin, "https://siem.example.com/hooks/acme?token=x")
    assert first["url"] == "https://siem.example.com/hooks/acme?token=x"
    assert first["secret"].startswith(alert_rules.SECRET_PREFIX)
    shown = (await admin.get(HOOK)).body
    assert shown["configured"] is True
    assert "secret" not in shown
    assert first["secret"].encode() not in server.stored_bytes()  # sealed at rest
    assert (shown["delivered"], shown["failed"], shown["abandoned"], shown["dropped"]) == (
        0, 0, 0, 0)  # fmt: skip
    assert shown["signature_header"] == "LiveLens-Signature"

    second = await set_hook(admin, "https://siem.example.com/hooks/acme?token=x")
    assert second["secret"] != first["secret"]
    # Audited with the host only: a receiver's URL may carry a secret of its own.
    assert await audit_actions(server, tenant_id) == [
        ("alert_hook.set", "siem.example.com"), ("alert_hook.set", "siem.example.com")]  # fmt: skip

    assert (await admin.delete(HOOK)).status == 204
    assert (await admin.get(HOOK)).body["configured"] is False
    assert (await admin.delete(HOOK)).status == 404
    assert (await audit_actions(server, tenant_id))[0] == ("alert_hook.removed",
                                                           "siem.example.com")  # fmt: skip


async def test_the_test_button_sends_a_signed_test_alert(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver):
        tenant_id, admin = await account(server)
        assert (await admin.post(f"{HOOK}/test")).status == 404  # nothing set yet
        hook = await set_hook(admin, receiver.url("/acme"))
        answer = await admin.post(f"{HOOK}/test")
        assert answer.status == 200
        assert answer.body["result"] == {"delivered": True, "error": None}
        assert answer.body["delivered"] == 1
        [got] = receiver.at("/acme")
        assert (got.alert["kind"], got.alert["test"], got.alert["account"]) == (
            alert_rules.TEST_KIND, True, tenant_id)  # fmt: skip
        signature = got.headers[alert_rules.SIGNATURE_HEADER]
        assert alert_rules.verify(signature, got.body, hook["secret"], server.clock.now())
        assert receiver.at("/instance") == []  # the account's test is the account's

        receiver.answers["/acme"] = [404]
        answer = await admin.post(f"{HOOK}/test")
        assert answer.body["result"] == {"delivered": False, "error": "HTTP 404 Not Found"}
        assert (answer.body["failed"], answer.body["last_error"]) == (1, "HTTP 404 Not Found")
        assert [a for a, _ in await audit_actions(server, tenant_id)] == [
            "alert_hook.tested", "alert_hook.tested", "alert_hook.set"]  # fmt: skip


async def test_an_unreachable_receiver_is_reported_in_words(server: Server) -> None:
    async with receiving() as receiver, alerting(server, receiver):
        _, admin = await account(server)
        await set_hook(admin, "http://127.0.0.1:9/nobody-listens")
        answer = await admin.post(f"{HOOK}/test")
        assert answer.status == 200
        assert answer.body["result"]["delivered"] is False
        assert "refused" in answer.body["result"]["error"].lower()


async def test_agents_and_strangers_are_refused(server: Server) -> None:
    _, admin = await account(server)
    await set_hook(admin, "https://siem.example.com/acme")
    agent = await signed_in(server, "ann@acme.test")
    for method, path in [("GET", HOOK), ("PUT", HOOK), ("DELETE", HOOK), ("POST", f"{HOOK}/test")]:
        answer = await agent.request(method, path, {"url": "https://evil.example.com/"})
        assert answer.status == 403, (method, path)
        assert (await server.client().request(method, path, {})).status == 401
    assert (await admin.get(HOOK)).body["url"] == "https://siem.example.com/acme"


async def test_accounts_see_and_change_their_own_hook_only(server: Server) -> None:
    _, acme = await account(server, name="Acme")
    globex_id, globex = await account(server, name="Globex")
    await set_hook(acme, "https://siem.example.com/acme")
    assert (await globex.get(HOOK)).body["configured"] is False
    assert (await globex.delete(HOOK)).status == 404
    assert (await globex.post(f"{HOOK}/test")).status == 404
    await set_hook(globex, "https://siem.example.com/globex")
    assert (await acme.get(HOOK)).body["url"] == "https://siem.example.com/acme"
    assert (await globex.get(HOOK)).body["url"] == "https://siem.example.com/globex"
    assert [a for a, _ in await audit_actions(server, globex_id)] == ["alert_hook.set"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://siem.example.com/hook", "https://"),
        ("https://10.0.0.5/hook", "private"),
        ("https://127.0.0.1:8443/hook", "private"),
        ("https://[::1]/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[::ffff:192.168.1.1]/hook", "private"),
        ("https://localhost/hook", "public host name"),
        ("https://printer.local/hook", "public host name"),
        ("https://intranet/hook", "public host name"),
        ("https://user:pass@siem.example.com/hook", "user name or password"),
        ("ftp://siem.example.com/hook", "https://"),
        ("https://siem.example.com:99999/", "not a valid URL"),
        ("https://siem.example.com/a b", "spaces"),
        ("", "Give the webhook URL"),
    ],
)
async def test_urls_that_are_not_public_https_are_refused(
    server: Server, url: str, why: str
) -> None:
    _, admin = await account(server)
    answer = await put_hook(admin, url)
    assert answer.status == 400
    assert (answer.body["error"], answer.body["field"]) == ("invalid_input", "url")
    assert why in answer.body["message"]
    assert (await admin.get(HOOK)).body["configured"] is False


async def test_the_operator_may_allow_loopback_over_http_and_private_targets(
    server: Server,
) -> None:
    async with receiving() as receiver, alerting(server, receiver, private=True):
        _, admin = await account(server)
        assert (await put_hook(admin, "http://127.0.0.1:8080/hook")).status == 200
        assert (await put_hook(admin, "https://10.0.0.5/hook")).status == 200
        # Plain http:// stays refused beyond loopback.
        assert (await put_hook(admin, "http://10.0.0.5/hook")).status == 400


async def test_a_url_must_be_a_string(server: Server) -> None:
    _, admin = await account(server)
    answer = await admin.request("PUT", HOOK, {"url": 42})
    assert answer.status == 400
    assert (await admin.request("PUT", HOOK, {})).status == 400
