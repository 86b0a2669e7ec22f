"""Every API route, its handler and its OpenAPI description, in one table.

The application and ``/api/openapi.json`` are both built from this table, so
the published contract cannot drift from what the server does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tornado.web

from livelens.http import admin_api, auth_api, content_api, sessions_api, team_api
from livelens.services import support

JSON = dict[str, object]


def obj(required: list[str] | None = None, **props: JSON) -> JSON:
    schema: JSON = {"type": "object", "properties": props, "additionalProperties": True}
    if required:
        schema["required"] = required
    return schema


STR: JSON = {"type": "string"}
BOOL: JSON = {"type": "boolean"}
# Request fields, as base.field_str and field_bool read them: at most 1,024 characters;
# optional ones may also be null, which counts as absent.
FIELD: JSON = {"type": "string", "maxLength": 1024}
FIELD_OR_NULL: JSON = {"type": ["string", "null"], "maxLength": 1024}
BOOL_OR_NULL: JSON = {"type": ["boolean", "null"]}
ROLE: JSON = {"type": "string", "enum": ["agent", "admin"]}
# Passwords: 8 to 256 characters with letters and digits (identity.passwords); the
# letters-and-digits rule is Unicode-wide, beyond what a JSON Schema pattern can say.
PASSWORD: JSON = {"type": "string", "minLength": 8, "maxLength": 256,
                  "description": "At least one letter and one digit."}  # fmt: skip
# Six digits; spaces and dashes may stand between them (signalling.join.normalise_pin).
PIN: JSON = {"type": "string", "maxLength": 1024, "pattern": "^[ -]*(?:[0-9][ -]*){6}$"}
ABSENT: JSON = {"anyOf": [{"type": "null"}, {"const": ""}]}
INT: JSON = {"type": "integer"}
NUM: JSON = {"type": "number"}
ERROR = obj(["error", "message"], error=STR, message=STR)
USER = obj(["id", "email", "display_name", "role", "tenant_id"], id=STR, email=STR,
           display_name=STR, role=STR, tenant_id=STR)  # fmt: skip
ADMIN_USER = obj(
    ["id", "email", "display_name", "role", "disabled", "totp_enabled", "created_at",
     "locked_for"],
    id=STR, email=STR, display_name=STR, role=STR, disabled=BOOL, totp_enabled=BOOL,
    created_at=NUM, locked_for=INT,
)  # fmt: skip
# What customers see of a user: one line, no control characters (identity.display_names).
DISPLAY_NAME: JSON = {"type": ["string", "null"], "maxLength": 80,
                      "description": "Made from the e-mail address when left out."}  # fmt: skip
TENANT = obj(["id", "name", "region", "require_totp"], id=STR, name=STR, region=STR,
             require_totp=BOOL)  # fmt: skip
NUM_OR_NULL: JSON = {"type": ["number", "null"]}
STR_OR_NULL: JSON = {"type": ["string", "null"]}
# ip and target are null for what the CLI or the system did.
AUDIT_EVENT = obj(
    ["id", "at", "action", "actor"],
    id=STR, at=NUM, action=STR, actor=STR, ip=STR_OR_NULL, target=STR_OR_NULL,
    details={"type": "object"},
)  # fmt: skip
EMPTY = obj()
SECURITY_EVENT = obj(["id", "at", "kind"], id=STR, at=NUM, kind=STR, ip=STR_OR_NULL,
                     details={"type": "object"})  # fmt: skip
# A customer's name or a case reference as the agent types it (support.case_text): no
# control characters; what is left once the spaces around it are trimmed, at most 100
# characters, is kept (nothing left: none).
CASE_TEXT: JSON = {"type": ["string", "null"], "maxLength": 1024,
                   "pattern": support.CASE_TEXT_PATTERN,
                   "description": f"Trimmed; at most {support.MAX_CASE_TEXT} characters, no "
                                  "control characters. Empty or null: none."}  # fmt: skip
SESSION = obj(
    ["id", "status", "agent_id", "created_at", "join_expires_at"],
    id=STR, status={"type": "string", "enum": ["waiting", "joined", "consented", "live", "ended"]},
    agent_id=STR, created_at=NUM, join_expires_at=NUM, joined_at=NUM_OR_NULL,
    consent_at=NUM_OR_NULL, consent_scopes={"type": "array", "items": STR},
    live_at=NUM_OR_NULL, ended_at=NUM_OR_NULL, duration=NUM_OR_NULL,
    outcome={"type": ["string", "null"], "enum": ["completed", "declined", "expired", "dropped",
                                                  None]},
    ended_by=STR_OR_NULL, experts={"type": "array", "items": STR},
    ended_by_user_id=STR_OR_NULL, ended_by_name=STR_OR_NULL,
    customer_name=STR_OR_NULL | {"description": "Stored sealed (AES-256-GCM)."},
    reference=STR_OR_NULL,
)  # fmt: skip
# A session with its join link (the token in the fragment), PIN and QR code: shown once.
INVITATION = obj(["session", "join_url", "pin"], session=SESSION, join_url=STR, pin=STR,
                 qr_svg=STR, qr_data_uri=STR)  # fmt: skip
IMAGE: JSON = {"type": "string", "format": "binary"}
IMAGE_TYPES = ("image/jpeg", "image/png")
SNAPSHOT = obj(["id", "at", "media_type", "size", "url", "thumb_url"], id=STR, at=NUM,
               author_id=STR_OR_NULL, media_type=STR, size=INT, url=STR,
               thumb_url=STR)  # fmt: skip
CHAT_MESSAGE = obj(["id", "at", "role", "name", "text"], id=STR, at=NUM, role=STR, name=STR,
                   author_id=STR_OR_NULL, text=STR)  # fmt: skip
NOTES = obj(["text"], text=STR, at=NUM_OR_NULL, author_id=STR_OR_NULL)


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, JSON]  # status -> response body schema (EMPTY for none)
    request: JSON | None = None
    auth: str = "user"  # "none", "user" (enrolment may be pending), "admin"
    errors: tuple[int, ...] = ()
    media: str = "application/json"  # of the success responses
    request_media: tuple[str, ...] = ("application/json",)
    description: str = ""  # the rules, beyond the summary
    request_required: bool = True  # False: no body at all means an empty object


@dataclass(frozen=True)
class Route:
    path: str  # OpenAPI form, e.g. /api/users/{user_id}
    handler: type[tornado.web.RequestHandler]
    operations: dict[str, Operation] = field(default_factory=dict)

    @property
    def tornado_pattern(self) -> str:
        # Path parameters are record ids: 32 hex digits.
        return re.sub(r"\{[a-z_]+\}", r"([0-9a-f]{32})", self.path)


ROUTES: list[Route] = [
    Route("/api/auth/login", auth_api.LoginHandler, {"post": Operation(
        "Sign in with e-mail, password and (when enabled) a TOTP or recovery code",
        {200: obj(["user", "totp_enrollment_required"], user=USER,
                  totp_enrollment_required=BOOL)},
        request=obj(["email", "password"], email=FIELD, password=FIELD, otp=FIELD_OR_NULL),
        auth="none", errors=(400, 401, 423, 429))}),
    Route("/api/auth/logout", auth_api.LogoutHandler, {"post": Operation(
        "Sign out this browser", {200: EMPTY}, auth="none")}),
    Route("/api/me", auth_api.MeHandler, {"get": Operation(
        "The signed-in user, their account and second-factor state",
        {200: obj(["user", "tenant", "totp_enabled", "totp_enrollment_required"], user=USER,
                  tenant=TENANT, totp_enabled=BOOL, totp_enrollment_required=BOOL)},
        errors=(401,))}),
    Route("/api/auth/password", auth_api.PasswordHandler, {"post": Operation(
        "Change your own password; other browsers are signed out", {200: EMPTY},
        request=obj(["current_password", "new_password"], current_password=FIELD,
                    new_password=PASSWORD), errors=(400, 401, 403, 423, 429))}),
    Route("/api/auth/sessions/revoke", auth_api.RevokeOwnSessionsHandler, {"post": Operation(
        "Sign out everywhere, this browser included", {200: obj(["revoked"], revoked=INT)},
        errors=(401, 403))}),
    Route("/api/auth/totp/enroll", auth_api.TotpEnrollHandler, {"post": Operation(
        "Start TOTP enrolment: a new secret and its QR code",
        {200: obj(["secret", "otpauth_uri"], secret=STR, otpauth_uri=STR, qr_svg=STR,
                  qr_data_uri=STR)}, errors=(401,))}),
    Route("/api/auth/totp/confirm", auth_api.TotpConfirmHandler, {"post": Operation(
        "Confirm TOTP with a code from the app; returns single-use recovery codes",
        {200: obj(["recovery_codes"], recovery_codes={"type": "array", "items": STR})},
        request=obj(["otp"], otp=FIELD), errors=(400, 401))}),
    Route("/api/auth/totp/disable", auth_api.TotpDisableHandler, {"post": Operation(
        "Turn TOTP off (refused when the account requires it)", {200: EMPTY},
        request=obj(["password"], password=FIELD), errors=(401, 403, 423, 429))}),
    Route("/api/users", admin_api.UsersHandler, {
        "get": Operation("Users of the account",
                         {200: obj(["users"], users={"type": "array", "items": ADMIN_USER})},
                         auth="admin", errors=(401, 403)),
        "post": Operation("Create a user", {201: obj(["user"], user=ADMIN_USER)},
                          request=obj(["email", "role", "password"], email=FIELD, role=ROLE,
                                      password=PASSWORD, display_name=DISPLAY_NAME),
                          auth="admin", errors=(400, 401, 403, 409)),
    }),
    Route("/api/users/{user_id}", admin_api.UserHandler, {
        "patch": Operation("Change a user's role, disable or enable them, or reset the password",
                           {200: obj(["user"], user=ADMIN_USER)},
                           request=obj(role=ROLE, disabled=BOOL_OR_NULL, password=PASSWORD),
                           auth="admin", errors=(400, 401, 403, 404, 409)),
        "delete": Operation("Delete a user", {204: EMPTY}, auth="admin",
                            errors=(401, 403, 404, 409)),
    }),
    Route("/api/agents", team_api.AgentsHandler, {"get": Operation(
        "The account's agents and whether they are at their console now (to invite one)",
        {200: obj(["agents"], agents={"type": "array", "items": obj(
            ["id", "display_name", "email", "presence", "you"], id=STR, display_name=STR,
            email=STR, presence={"enum": ["offline", "online", "in_session"]}, you=BOOL)})},
        errors=(401, 403))}),
    Route("/api/users/{user_id}/unlock", admin_api.UserUnlockHandler,
          {"post": Operation("Lift the sign-in lockout on a user's address", {204: EMPTY},
                             auth="admin", errors=(401, 403, 404))}),
    Route("/api/users/{user_id}/sessions/revoke", admin_api.UserSessionsRevokeHandler,
          {"post": Operation("Sign a user out of every browser",
                             {200: obj(["revoked"], revoked=INT)}, auth="admin",
                             errors=(401, 403, 404))}),
    Route("/api/account", admin_api.AccountHandler, {"get": Operation(
        "The account", {200: obj(["tenant"], tenant=TENANT)}, auth="admin",
        errors=(401, 403))}),
    Route("/api/account/policy", admin_api.AccountPolicyHandler, {"patch": Operation(
        "Change account policy (require two-factor authentication)",
        {200: obj(["tenant"], tenant=TENANT)}, request=obj(["require_totp"], require_totp=BOOL),
        auth="admin", errors=(400, 401, 403))}),
    Route("/api/audit", admin_api.AuditHandler, {"get": Operation(
        "Audit log of the account, newest first (query: limit, 1-500)",
        {200: obj(["events"], events={"type": "array", "items": AUDIT_EVENT})},
        auth="admin", errors=(400, 401, 403))}),
    Route("/api/security-events", admin_api.SecurityLogHandler, {"get": Operation(
        "Security log of the account (failed sign-ins, lockouts, bad tokens, malformed "
        "signalling, rate-limit hits), newest first (query: limit, 1-500)",
        {200: obj(["events"], events={"type": "array", "items": SECURITY_EVENT})},
        auth="admin", errors=(400, 401, 403))}),
    Route("/api/sessions", sessions_api.SessionsHandler, {
        "post": Operation(
            "Start a support session: a join link (token in the fragment), a PIN and a QR code",
            {201: INVITATION},
            request=obj(customer_name=CASE_TEXT, reference=CASE_TEXT),
            description="The body is optional. `customer_name` (who the session is for; "
                        "kept sealed at rest) and `reference` (the case or ticket) are shown "
                        "with the session wherever it is listed. 400 `invalid_input` names "
                        "the field at fault; 400 `unknown_host` when the request's Host does "
                        "not name this server (no link is made to a forged one).",
            request_required=False, errors=(400, 401, 403)),
        "get": Operation("Support sessions: an agent's own, or all of the account for admins",
                         {200: obj(["sessions"], sessions={"type": "array", "items": SESSION})},
                         errors=(401, 403)),
    }),
    Route("/api/sessions/{session_id}", sessions_api.SessionHandler, {"get": Operation(
        "One support session", {200: obj(["session"], session=SESSION)},
        errors=(401, 403, 404))}),
    Route("/api/sessions/{session_id}/link", sessions_api.SessionLinkHandler, {"post": Operation(
        "Send a new link: a new join link, PIN and QR code for a session still waiting for "
        "its customer (audited)",
        {200: INVITATION},
        description="The old link and PIN stop working at once, and the join window starts "
                    "again (`join_expires_at` is now plus the join TTL). For the agent who "
                    "started the session and the account's administrators; an invited "
                    "expert gets 403, and a session the caller cannot see (another agent's, "
                    "another account's, none at all) 404. 409 `not_waiting` once the "
                    "customer has joined, 409 `session_ended` once it has ended (a link "
                    "that ran out ends it); 400 `unknown_host` as for POST /api/sessions. "
                    "Agents in the session's signalling get a `state` with the new "
                    "`join_expires_at`.",
        errors=(400, 401, 403, 404, 409))}),
    Route("/api/sessions/{session_id}/snapshots", content_api.SnapshotsHandler, {
        "post": Operation(
            "Store a still of the customer's camera (PNG or JPEG body, at most 8 MiB; "
            "query: marked=1 when annotations are burned in), sealed at rest",
            {201: obj(["snapshot"], snapshot=SNAPSHOT)}, request=IMAGE,
            request_media=IMAGE_TYPES, errors=(400, 401, 403, 404, 413)),
        "get": Operation("Snapshots of a session, oldest first",
                         {200: obj(["snapshots"], snapshots={"type": "array", "items": SNAPSHOT})},
                         errors=(401, 403, 404)),
    }),
    Route("/api/sessions/{session_id}/snapshots/{snapshot_id}", content_api.SnapshotHandler,
          {"get": Operation("Download a snapshot (audited)", {200: IMAGE}, media="image/*",
                            description="Query `inline=1` (the snapshot's `thumb_url`): "
                                        "shown in the console's session view, not as a file "
                                        "download, and not audited, as chat and notes shown "
                                        "there are not.",
                            errors=(401, 403, 404))}),
    Route("/api/sessions/{session_id}/chat", content_api.ChatHandler, {"get": Operation(
        "The chat of a session, oldest first",
        {200: obj(["messages"], messages={"type": "array", "items": CHAT_MESSAGE})},
        errors=(401, 403, 404))}),
    Route("/api/sessions/{session_id}/notes", content_api.NotesHandler, {
        "get": Operation("The agents' notes on a session", {200: obj(["notes"], notes=NOTES)},
                         errors=(401, 403, 404)),
        "put": Operation("Replace the notes (at most 20,000 characters), sealed at rest",
                         {200: obj(["notes"], notes=NOTES)}, request=obj(["text"], text=STR),
                         errors=(400, 401, 403, 404)),
    }),
    Route("/api/sessions/{session_id}/experts", content_api.ExpertsHandler, {"post": Operation(
        "Invite another agent of the account into a running session (audited)",
        {201: obj(["expert", "session"], expert=obj(["id", "email"], id=STR, email=STR),
                  session=SESSION)},
        request=obj(["email"], email=FIELD), errors=(400, 401, 403, 404, 409))}),
    Route("/api/sessions/{session_id}/frame", content_api.AgentFrameHandler, {"get": Operation(
        "The frozen still of a running session", {200: IMAGE}, media="image/*",
        errors=(401, 403, 404))}),
    Route("/api/join/frame", content_api.CustomerFrameHandler, {
        "post": Operation("The customer's page sends the still an agent asked for",
                          {201: obj(["frame"], frame=STR)}, request=IMAGE,
                          request_media=IMAGE_TYPES, auth="none",
                          errors=(400, 401, 403, 404, 409, 413)),
        "get": Operation("The frozen still, for the customer's page", {200: IMAGE},
                         media="image/*", auth="none", errors=(401, 403, 404)),
    }),
    Route("/api/join", sessions_api.JoinHandler, {"post": Operation(
        "A customer joins with the link's token or the PIN; binds this device",
        {200: obj(["session", "company", "agent"], session=obj(id=STR, status=STR),
                  company=STR, agent=STR)},
        request=obj(token=FIELD_OR_NULL, pin=FIELD_OR_NULL) | {"oneOf": [
            # Either the link's token or the PIN; the other absent, null or empty.
            {"required": ["token"], "properties": {"token": FIELD | {"minLength": 1},
                                                   "pin": ABSENT}},
            {"required": ["pin"], "properties": {"pin": PIN, "token": ABSENT}},
        ]}, auth="none", errors=(400, 403, 404, 409, 429))}),
]  # fmt: skip
