"""The OpenAPI 3.1 document, generated from the route table."""

from __future__ import annotations

from livelens import __version__
from livelens.http.base import BaseHandler
from livelens.http.routes import ERROR, JSON, ROUTES, Operation, Route

# What Route.tornado_pattern matches; any other value is a 404 from the default handler.
RECORD_ID: JSON = {"type": "string", "pattern": "^[0-9a-f]{32}$"}

_ERROR_TEXT = {
    400: "Invalid input",
    401: "Not signed in, wrong credentials or second factor needed",
    403: "Forbidden for this role, XSRF check failed (xsrf_failed), or 2FA enrolment pending",
    404: "Not found in this account",
    409: "Conflict",
    413: "Body too large",
    416: "Range not satisfiable (Content-Range: bytes */<length>)",
    422: "Stored content fails its integrity checks",
    423: "Sign-in locked after repeated failures (retry_after seconds)",
    429: "Too many attempts; wait and retry",
}


def errors(method: str, op: Operation) -> list[int]:
    """The operation's own refusals, and those every operation of its kind can meet."""
    implied = set()
    if op.auth != "none":
        implied.add(401)
    if method != "get":
        implied.add(403)  # the XSRF check (BaseHandler.check_xsrf_cookie)
    if op.request is not None:
        implied |= {400, 413}  # a missing, malformed or oversize body
    return sorted(implied | set(op.errors))


def _security(op: Operation) -> list[JSON]:
    """A signed-in user's cookie (with the XSRF header), or for some an API key."""
    if op.auth == "none":
        return []
    cookie: JSON = {"session": [], "xsrf": []}
    return [cookie, {"apiKey": []}] if op.api_key else [cookie]


def _operation(route: Route, method: str, op: Operation) -> JSON:
    responses: JSON = {}
    for status, schema in op.responses.items():
        content = None
        if status != 204:
            media = {op.media: schema} | op.also_media
            content = {name: {"schema": body} for name, body in media.items()}
        responses[str(status)] = {"description": "OK"} | ({"content": content} if content else {})
    for status in errors(method, op):
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    doc: JSON = {
        "summary": op.summary,
        "operationId": method + route.path.replace("/", "_").replace("{", "").replace("}", ""),
        "responses": responses,
        "security": _security(op),
        "x-livelens-role": op.auth,
    }
    if op.description:
        doc["description"] = op.description
    params = [seg[1:-1] for seg in route.path.split("/") if seg.startswith("{")]
    parameters: list[JSON] = [
        {"name": p, "in": "path", "required": True, "schema": RECORD_ID} for p in params
    ]
    for query in op.query:
        parameter: JSON = {"name": query.name, "in": "query", "required": query.required,
                           "schema": query.schema}  # fmt: skip
        if query.description:
            parameter["description"] = query.description
        parameters.append(parameter)
    if parameters:
        doc["parameters"] = parameters
    if op.request is not None:
        doc["requestBody"] = {
            "required": op.request_required,
            "content": {media: {"schema": op.request} for media in op.request_media},
        }
    return doc


def document() -> JSON:
    return {
        "openapi": "3.1.0",
        "info": {"title": "LiveLens API", "version": __version__},
        "paths": {
            route.path: {m: _operation(route, m, op) for m, op in route.operations.items()}
            for route in ROUTES
        },
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "livelens_session"},
                "xsrf": {"type": "apiKey", "in": "header", "name": "X-XSRFToken"},
                # POST /api/api-keys; for the operations that read reports only.
                "apiKey": {"type": "http", "scheme": "bearer"},
            },
        },
    }


class OpenApiHandler(BaseHandler):
    async def get(self) -> None:
        self.write_json(document())
