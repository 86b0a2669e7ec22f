"""The base of every handler: security headers, JSON errors, the signed-in user."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import tornado.web
from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError

from livelens import jsonlimits
from livelens.errors import (
    Forbidden,
    InvalidInput,
    InvalidJson,
    LiveLensError,
    NotAuthenticated,
    PayloadTooLarge,
    TotpEnrollmentRequired,
)
from livelens.http import security
from livelens.identity.roles import Permission, require
from livelens.services import api_keys, auth
from livelens.services.context import Context
from livelens.services.rooms import Rooms

log = logging.getLogger("livelens.http")

SESSION_COOKIE = "livelens_session"
MAX_JSON_BODY = 64 * 1024

_STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


class XsrfFailed(Forbidden, code="xsrf_failed"): ...


class ApiKeyNotAllowed(NotAuthenticated, code="api_key_not_allowed"): ...


def allowed_methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """The methods a handler implements, for a 405's Allow header."""
    return [
        method
        for method in handler.SUPPORTED_METHODS
        if getattr(handler, method.lower()) is not getattr(tornado.web.RequestHandler,
                                                           method.lower())
    ]  # fmt: skip


def parse_json_body(body: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object, bounded in size, depth and numbers."""
    if len(body) > MAX_JSON_BODY:
        raise PayloadTooLarge("Request body is too large.")
    if not body:
        raise InvalidJson("A JSON object is required as the request body.")
    try:
        parsed = jsonlimits.loads(body)
    except jsonlimits.JsonRejected as exc:
        raise InvalidJson(f"Request body is not valid JSON: {exc.reason}.") from exc
    if not isinstance(parsed, dict):
        raise InvalidJson("Request body must be a JSON object.")
    return parsed


class BaseHandler(tornado.web.RequestHandler):
    principal: auth.Principal | None = None
    # Handlers that read reports take an API key (Authorization: Bearer llk_...) in
    # place of a signed-in user; every other handler refuses a request carrying one.
    takes_api_key: ClassVar[bool] = False
    key_holder: api_keys.KeyHolder | None = None

    @property
    def ctx(self) -> Context:
        ctx: Context = self.application.settings["livelens_context"]
        return ctx

    @property
    def rooms(self) -> Rooms:
        rooms: Rooms = self.application.settings["livelens_rooms"]
        return rooms

    @property
    def client_ip(self) -> str:
        return self.request.remote_ip or ""

    @property
    def client(self) -> auth.Client:
        return auth.Client(self.client_ip, self.request.headers.get("User-Agent", ""))

    def set_default_headers(self) -> None:
        for name, value in security.headers(self.ctx.settings.uses_tls).items():
            self.set_header(name, value)
        self.clear_header("Server")  # Tornado's default gives away its version

    def presented_api_key(self) -> str | None:
        """The LiveLens API key of the Authorization header, if there is one (other
        credentials, e.g. a proxy's, are none of this server's business)."""
        scheme, _, credential = self.request.headers.get("Authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not api_keys.is_api_key(credential):
            return None
        return credential

    def _refuse_api_key(self) -> None:
        if not self.takes_api_key and self.presented_api_key() is not None:
            raise ApiKeyNotAllowed("An API key can only read reports (GET /api/reports/...).")

    def check_xsrf_cookie(self) -> None:
        self._refuse_api_key()  # before the XSRF check: a key is refused as such
        try:
            super().check_xsrf_cookie()
        except tornado.web.HTTPError as exc:
            raise XsrfFailed("Missing or wrong X-XSRFToken header for this request.") from exc

    async def prepare(self) -> None:
        self._refuse_api_key()
        key = self.presented_api_key()
        if key is not None:  # instead of the cookie, never besides it
            self.key_holder = await api_keys.authenticate(self.ctx, key, self.client_ip)
            return
        if self.request.method in ("GET", "HEAD"):
            _ = self.xsrf_token  # hands out the _xsrf cookie for later writes
        self.principal = await self._load_principal()

    async def _load_principal(self) -> auth.Principal | None:
        raw = self.get_signed_cookie(SESSION_COOKIE, max_age_days=31)
        if raw is None:
            return None
        tenant_id, _, token = raw.decode().partition(".")
        if not tenant_id or not token:
            return None
        try:
            return await auth.authenticate(self.ctx, tenant_id, token)
        except NotAuthenticated:
            self.clear_cookie(SESSION_COOKIE)
            return None

    def set_session_cookie(self, sign_in: auth.SignIn) -> None:
        value = f"{sign_in.principal.tenant.id}.{sign_in.token}"
        self.set_signed_cookie(
            SESSION_COOKIE,
            value,
            expires_days=None,
            max_age=self.ctx.settings.auth_session_ttl,
            httponly=True,
            secure=self.ctx.settings.uses_tls,
            samesite="Lax",
            path="/",
        )

    def require_principal(self, *, allow_enrollment: bool = False) -> auth.Principal:
        if self.principal is None:
            raise NotAuthenticated("Please sign in.")
        if self.principal.totp_enrollment_required and not allow_enrollment:
            raise TotpEnrollmentRequired(
                "Your account requires two-factor authentication. Set it up to continue."
            )
        return self.principal

    def require_permission(self, permission: Permission) -> auth.Principal:
        principal = self.require_principal()
        require(principal.user.role, permission)
        return principal

    def json_body(self) -> dict[str, Any]:
        return parse_json_body(self.request.body)

    def write_json(self, payload: Mapping[str, object], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    async def send_chunks(self, chunks: AsyncIterator[str | bytes]) -> None:
        """Write each chunk, flushed before the next is read, then finish: an answer of
        any length holds one chunk in memory, and a slow client holds up only its own.
        Once the first bytes are out, a failure can no longer become an error status:
        the transfer is cut short instead, so that no client takes a part for the whole."""
        try:
            async for chunk in chunks:
                self.write(chunk)
                await self.flush()
            self.finish()
        except StreamClosedError:
            return  # the client went away
        except Exception:
            log.exception("%s %s failed while it was being sent; the transfer was cut.",
                          self.request.method, self.request.path)  # fmt: skip
            if isinstance(self.request.connection, HTTP1Connection):
                self.request.connection.close()
            self._finished = True  # nothing more can be sent: no error answer either

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, LiveLensError):
            payload: dict[str, object] = {"error": exc.code, "message": exc.message}
            payload.update(exc.details)
            if "retry_after" in exc.details:
                self.set_header("Retry-After", str(exc.details["retry_after"]))
        elif isinstance(exc, tornado.web.HTTPError) and status_code < 500:
            payload = {
                "error": _STATUS_CODES.get(status_code, "bad_request"),
                "message": exc.reason or self._reason,
            }
        else:
            payload = {"error": "internal_error", "message": "Something went wrong on our side."}
        if status_code == 405:
            self.set_header("Allow", ", ".join(allowed_methods(type(self))))
        self.clear_header("Content-Disposition")
        self.write_json(payload, status_code)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, LiveLensError):
            # Expected domain outcomes: answer without a traceback in the log.
            if self._finished:
                return
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def field_str(body: Mapping[str, object], name: str, *, optional: bool = False) -> str:
    value = body.get(name)
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"Field {name!r} must be a string.")
    if len(value) > 1024:
        raise InvalidInput(f"Field {name!r} is too long.")
    return value


def field_bool(body: Mapping[str, object], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidInput(f"Field {name!r} must be true or false.")
    return value
