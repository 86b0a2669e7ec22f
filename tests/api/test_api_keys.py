"""API keys: administrators make, list and revoke them; a key reads reports and nothing
else; the store keeps only keyed hashes; every account sees only its own keys."""

from __future__ import annotations

import hashlib
import re

import jsonschema_rs
import pytest

from livelens.http.routes import ROUTES
from livelens.services import api_keys
from tests.api.harness import Client, Server
from tests.api.reporting import JAN_1, add_session, fetch, new_key

REPORTS = "/api/reports/sessions?from=2026-01-01&to=2026-01-31"
# What a key may call: the report operations, and nothing else.
KEY_OPERATIONS = {(r.path, m) for r in ROUTES for m, op in r.operations.items() if op.api_key}


async def admin_of(server: Server, name: str = "Acme") -> tuple[str, Client]:
    domain = name.lower() + ".test"
    tenant_id = await server.tenant(name, f"boss@{domain}")
    admin = server.client()
    assert (await admin.login(f"boss@{domain}")).status == 200
    return tenant_id, admin


async def test_an_administrator_makes_lists_and_revokes_keys(server: Server) -> None:
    _, admin = await admin_of(server)
    made = await admin.post("/api/api-keys", {"name": "  Power BI  "})
    assert made.status == 201
    key = made.body["key"]
    assert re.fullmatch(r"llk_[A-Za-z0-9_-]{43}", key)
    assert made.body["name"] == "Power BI"
    assert made.body["created_by"] == (await admin.get("/api/me")).body["user"]["id"]

    listed = (await admin.get("/api/api-keys")).body["api_keys"]
    assert [k["id"] for k in listed] == [made.body["id"]]
    assert "key" not in listed[0] and key not in str(listed)
    assert (await fetch(server, "GET", REPORTS, key=key)).status == 200

    assert (await admin.delete(f"/api/api-keys/{made.body['id']}")).status == 204
    assert (await admin.get("/api/api-keys")).body["api_keys"] == []
    revoked = await fetch(server, "GET", REPORTS, key=key)
    assert revoked.status == 401 and revoked.body["error"] == "not_authenticated"
    assert (await admin.delete(f"/api/api-keys/{made.body['id']}")).status == 404


async def test_keys_are_stored_as_keyed_hashes_only(server: Server) -> None:
    _, admin = await admin_of(server)
    key = await new_key(admin)
    raw = server.stored_bytes()
    assert key.encode() not in raw
    assert key[len(api_keys.PREFIX) :].encode() not in raw
    # Keyed: a plain hash of the key is not what the store holds either.
    assert hashlib.sha256(key.encode()).hexdigest().encode() not in raw
    assert api_keys.key_hash(server.ctx, key).encode() in raw


async def test_making_and_revoking_keys_are_audited_without_the_key(server: Server) -> None:
    _, admin = await admin_of(server)
    made = (await admin.post("/api/api-keys", {"name": "Warehouse"})).body
    await admin.delete(f"/api/api-keys/{made['id']}")
    events = (await admin.get("/api/audit?limit=10")).body["events"]
    actions = {e["action"]: e for e in events}
    for action in ("api_key.created", "api_key.revoked"):
        event = actions[action]
        assert event["actor"] == "boss@acme.test" and event["ip"] == "127.0.0.1"
        assert event["target"] == made["id"] and event["details"]["name"] == "Warehouse"
    assert made["key"] not in str(events)


async def test_only_administrators_manage_keys(server: Server) -> None:
    tenant_id, admin = await admin_of(server)
    made = (await admin.post("/api/api-keys", {"name": "BI"})).body
    await server.user(tenant_id, "ann@acme.test")
    agent = server.client()
    await agent.login("ann@acme.test")
    for method, path in [("GET", "/api/api-keys"), ("POST", "/api/api-keys"),
                         ("DELETE", f"/api/api-keys/{made['id']}")]:  # fmt: skip
        assert (await agent.request(method, path, {"name": "mine"})).status == 403, path
        assert (await server.client().request(method, path, {"name": "x"})).status == 401, path
    assert len((await admin.get("/api/api-keys")).body["api_keys"]) == 1


async def test_a_key_reads_reports_and_nothing_else(server: Server) -> None:
    _, admin = await admin_of(server)
    key = await new_key(admin)
    audit_before = len((await admin.get("/api/audit?limit=500")).body["events"])
    tried = 0
    for route in ROUTES:
        path = re.sub(r"\{[a-z_]+\}", "0123456789abcdef0123456789abcdef", route.path)
        for method in route.operations:
            if (route.path, method) in KEY_OPERATIONS:
                continue
            # Alone, and besides a signed-in administrator's cookie: refused either way.
            for client in (None, admin):
                answer = await fetch(server, method.upper(), path, key=key, client=client,
                                     body={"name": "x", "email": "x@acme.test"})  # fmt: skip
                assert answer.status == 401, (method, path, answer.status, answer.body)
                assert answer.body["error"] == "api_key_not_allowed", (method, path)
                tried += 1
    for path in ("/api/openapi.json", "/", "/ws/console", "/api/me"):
        answer = await fetch(server, "GET", path, key=key)
        assert answer.status == 401, path
    assert tried >= 2 * 30
    assert (await admin.get("/api/me")).status == 200  # the administrator is still signed in
    after = (await admin.get("/api/audit?limit=500")).body["events"]
    assert len(after) == audit_before  # nothing was done
    for path, _ in KEY_OPERATIONS:
        answer = await fetch(server, "GET", path + "?from=2026-01-01&to=2026-01-02", key=key)
        assert answer.status == 200, path


async def test_wrong_keys_are_refused_and_logged(server: Server) -> None:
    _, admin = await admin_of(server)
    key = await new_key(admin)
    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), "llk_", "llk_short",
                  "llk_" + "x" * 65, "llk_" + "é" * 43):  # fmt: skip
        answer = await fetch(server, "GET", REPORTS, key=wrong)
        assert answer.status == 401, wrong
    events = await server.ctx.store.list_instance_security_events()
    assert [e.kind for e in events].count("api_key.refused") == 5


async def test_other_bearer_tokens_are_not_this_servers_business(server: Server) -> None:
    _, admin = await admin_of(server)
    # A proxy's bearer token beside a signed-in user's cookie changes nothing.
    answer = await fetch(server, "GET", "/api/me", client=admin,
                         headers={"Authorization": "Bearer some-proxy-token"})  # fmt: skip
    assert answer.status == 200
    answer = await fetch(server, "GET", REPORTS, headers={"Authorization": "Basic YTpi"})
    assert answer.status == 401  # and no sign-in either


async def test_keys_belong_to_their_account(server: Server) -> None:
    acme_id, acme = await admin_of(server, "Acme")
    _, other = await admin_of(server, "Other")
    made = (await acme.post("/api/api-keys", {"name": "Acme BI"})).body
    other_key = await new_key(other, "Other BI")
    assert [k["name"] for k in (await other.get("/api/api-keys")).body["api_keys"]] == ["Other BI"]
    # Another account's key answers as one that does not exist.
    foreign = await other.delete(f"/api/api-keys/{made['id']}")
    random = await other.delete("/api/api-keys/0123456789abcdef0123456789abcdef")
    assert foreign.status == random.status == 404
    assert foreign.body == random.body
    assert len((await acme.get("/api/api-keys")).body["api_keys"]) == 1
    # Other's key reads Other's sessions only.
    boss = await server.ctx.store.scoped(acme_id).find_user_by_email("boss@acme.test")
    assert boss is not None
    await add_session(server, acme_id, boss.id, JAN_1 + 60)
    assert (await fetch(server, "GET", REPORTS, key=made["key"])).body["sessions"] != []
    assert (await fetch(server, "GET", REPORTS, key=other_key)).body["sessions"] == []


@pytest.mark.parametrize("name", [None, "", "   ", "x" * 101, "a\nb", 7])
async def test_a_key_needs_a_name(server: Server, name: object) -> None:
    _, admin = await admin_of(server)
    answer = await admin.post("/api/api-keys", {"name": name})
    assert answer.status == 400
    assert (await admin.get("/api/api-keys")).body["api_keys"] == []


async def test_the_published_rule_for_key_names_is_the_servers(server: Server) -> None:
    _, admin = await admin_of(server)
    body = (await admin.get("/api/openapi.json")).body["paths"]["/api/api-keys"]["post"]
    rule = body["requestBody"]["content"]["application/json"]["schema"]["properties"]["name"]
    published = jsonschema_rs.validator_for(rule)
    samples = ["", " ", "Jo", "  Jo  ", "\u3000Jo\u00a0", "J", " J ", "x" * 100, "x" * 101,
               "\u2003" + "x" * 100 + " ", "Jo\n", "J\to", "Jo\u2066", "Jo\u200c", "🙂" * 100,
               "🙂" * 101, "\u3000", "x" * 1025]  # fmt: skip
    for value in samples:
        answer = await admin.post("/api/api-keys", {"name": value})
        assert answer.status in (201, 400), answer.body
        assert (answer.status == 201) == published.is_valid(value), value
