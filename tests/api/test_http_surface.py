"""What every answer looks like: headers, errors, the published OpenAPI document."""

import inspect
import logging

import pytest
import tornado.httpclient
import tornado.web

from livelens.http.openapi import document
from livelens.http.routes import ROUTES
from tests.api.harness import Client, Response, Server
from tests.api.signalling import live_session

METHODS = {"get", "post", "patch", "put", "delete"}


async def test_pages_and_api_carry_strict_security_headers(server: Server) -> None:
    client = server.client()
    for path in ["/", "/api/me", "/static/console.js", "/api/nope"]:
        answer = await client.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP here


async def test_console_page_hands_out_the_xsrf_cookie(server: Server) -> None:
    client = server.client()
    answer = await client.get("/")
    assert answer.status == 200
    assert b'type="module"' in answer.raw
    assert "_xsrf" in client.cookies


async def test_unknown_api_path_is_json_404(server: Server) -> None:
    answer = await server.client().get("/api/does-not-exist")
    assert answer.status == 404
    assert answer.body["error"] == "not_found"


async def test_wrong_method_is_json_405_with_the_allowed_ones(server: Server) -> None:
    client = server.client()
    for method, path, allowed in [
        ("DELETE", "/api/me", "GET"),
        ("PUT", "/api/users", "GET, POST"),
        ("OPTIONS", "/api/sessions/" + "0" * 32 + "/notes", "GET, PUT"),
    ]:
        answer = await client.request(method, path)
        assert answer.status == 405, path
        assert answer.body["error"] == "method_not_allowed"
        assert answer.headers["Allow"] == allowed


async def test_openapi_is_served_and_matches_the_code(server: Server) -> None:
    served = (await server.client().get("/api/openapi.json")).body
    assert served == document()
    assert served["openapi"].startswith("3.1")
    for route in ROUTES:
        implemented = {
            name
            for name in METHODS
            if getattr(route.handler, name) is not getattr(tornado.web.RequestHandler, name)
        }
        assert implemented == set(served["paths"][route.path]), route.path
        for method in implemented:
            assert inspect.iscoroutinefunction(getattr(route.handler, method))


def test_issue_contract_paths_are_published() -> None:
    paths = document()["paths"]
    for path, method in [
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/me", "get"),
        ("/api/auth/totp/enroll", "post"),
        ("/api/auth/totp/confirm", "post"),
    ]:
        assert method in paths[path]
    login = paths["/api/auth/login"]["post"]["responses"]
    assert {"200", "401", "423"} <= set(login)


async def raw_request(
    server: Server, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> Response:
    """A request exactly as given: no cookies, XSRF header or body added."""
    answer = await tornado.httpclient.AsyncHTTPClient().fetch(
        server.base_url + path, method=method, headers=headers, body=body,
        allow_nonstandard_methods=True, raise_error=False,
    )  # fmt: skip
    return Response(answer.code, {}, answer.headers, answer.body or b"")


async def test_no_answer_names_the_server_software(server: Server) -> None:
    client = server.client()
    answers = [await client.get(path) for path in
               ["/", "/join", "/api/me", "/api/openapi.json", "/static/console.js",
                "/static/nope.js", "/api/nope", "/nope", "/ws/customer"]]  # fmt: skip
    answers.append(await client.delete("/api/me"))  # 405
    answers.append(await client.post("/api/auth/login", b"[" * 10_000))  # 400
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
    refused = await raw_request(server, "GET", "/ws/customer",
                                upgrade | {"Origin": "https://elsewhere.example"})  # fmt: skip
    assert refused.status == 403
    answers.append(refused)
    assert {a.status for a in answers} >= {200, 400, 401, 403, 404, 405}
    for answer in answers:
        assert "Server" not in answer.headers, answer.headers.get("Server")
    async with live_session(server) as live:  # the upgrade itself: 101 Switching Protocols
        for ws in (live.agent_ws, live.customer_ws):
            assert ws.conn.headers is not None
            assert "Server" not in ws.conn.headers


NESTED = [b"[" * 60_000, b'{"email": ' * 3_000 + b"1" + b"}" * 3_000, b"[" * 1_000 + b"]" * 1_000]


@pytest.mark.parametrize("body", NESTED, ids=["unclosed", "objects", "closed"])
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/join"])
async def test_deeply_nested_json_is_a_400_with_a_reason(
    server: Server, path: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        answer = await server.client().post(path, body)
    assert answer.status == 400
    assert answer.body["error"] == "invalid_json"
    assert "nested more than 32 levels" in answer.body["message"]
    assert not caplog.records  # no traceback for bad input


@pytest.mark.parametrize(
    "body", [b'{"email": 1' + b"0" * 400 + b', "password": "x"}', b'{"email": NaN}',
             b'{"pin": -Infinity}', b'{"pin": 1e999}']
)  # fmt: skip
async def test_numbers_beyond_a_double_are_a_400(server: Server, body: bytes) -> None:
    for path in ["/api/auth/login", "/api/join"]:
        answer = await server.client().post(path, body)
        assert answer.status == 400
        assert answer.body["error"] == "invalid_json"
        assert "number" in answer.body["message"]


async def test_a_required_body_cannot_be_left_out(server: Server) -> None:
    tenant = await server.tenant("Acme", "boss@acme.test")
    agent = await server.user(tenant, "ann@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    for method, path in [("PATCH", f"/api/users/{agent}"), ("PATCH", "/api/account/policy"),
                         ("POST", "/api/auth/login"), ("POST", "/api/join")]:  # fmt: skip
        answer = await admin.request(method, path, b"")
        assert answer.status == 400, path
        assert answer.body["error"] == "invalid_json"
        assert "required" in answer.body["message"]


async def test_xsrf_mismatch_is_xsrf_failed(server: Server) -> None:
    mine, theirs = server.client(), server.client()
    await mine.get("/api/me")
    await theirs.get("/api/me")
    answer = await raw_request(
        server, "POST", "/api/auth/logout",
        {"Cookie": f"_xsrf={mine.cookies['_xsrf']}", "X-XSRFToken": theirs.cookies["_xsrf"]},
        b"{}",
    )  # fmt: skip
    assert answer.status == 403
    assert b'"xsrf_failed"' in answer.raw
    missing = await Client(server.base_url, send_xsrf=False).post("/api/auth/logout")
    assert missing.status == 403
    assert missing.body["error"] == "xsrf_failed"


def test_documented_answers_include_the_generic_refusals() -> None:
    paths = document()["paths"]
    for path in ["/api/auth/totp/enroll", "/api/auth/totp/confirm"]:
        assert "403" in paths[path]["post"]["responses"]  # XSRF
    assert "400" in paths["/api/auth/totp/disable"]["post"]["responses"]
    for operations in paths.values():
        for method, op in operations.items():
            if method != "get":
                assert "403" in op["responses"], op["operationId"]
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), op["operationId"]


def test_audit_events_without_an_address_are_documented() -> None:
    users = document()["paths"]["/api/audit"]["get"]["responses"]["200"]
    event = users["content"]["application/json"]["schema"]["properties"]["events"]["items"]
    assert "null" in event["properties"]["ip"]["type"]  # what the CLI does has no address
