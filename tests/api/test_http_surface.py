"""What every answer looks like: headers, errors, the published OpenAPI document."""

import inspect

import tornado.web

from livelens.http.openapi import document
from livelens.http.routes import ROUTES
from tests.api.harness import Server

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


async def test_wrong_method_is_json_405(server: Server) -> None:
    answer = await server.client().delete("/api/me")
    assert answer.status == 405
    assert answer.body["error"] == "method_not_allowed"


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
