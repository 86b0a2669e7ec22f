"""Every API route, its handler and its OpenAPI description, in one table.

The application and ``/api/openapi.json`` are both built from this table, so
the published contract cannot drift from what the server does. The routes of governing
an account (reports, exports, branding, deletion, alerts) are written in
:mod:`.governance_routes`; the pieces both are written with in :mod:`.api_schema`.
"""

from __future__ import annotations

from livelens.http import (
    admin_api,
    auth_api,
    content_api,
    sessions_api,
    team_api,
)
from livelens.http.api_schema import (
    ABSENT,
    BOOL,
    BOOL_OR_NULL,
    CASE_TEXT,
    EMPTY,
    ERROR,
    FIELD,
    FIELD_OR_NULL,
    IMAGE,
    IMAGE_TYPES,
    INT,
    JSON,
    NUM,
    NUM_OR_NULL,
    PASSWORD,
    PIN,
    ROLE,
    STR,
    STR_OR_NULL,
    Operation,
    Route,
    obj,
)
from livelens.http.governance_routes import (
    BRAND,
    DELETE_ACCOUNT,
    DELETE_SESSION,
    GOVERNANCE_ROUTES,
    HISTORY_QUERY,
)
from livelens.services import account_policy, rating

__all__ = ["ERROR", "JSON", "ROUTES", "Operation", "Route"]

USER = obj(["id", "email", "display_name", "role", "tenant_id"], id=STR, email=STR,
           display_name=STR, role=STR, tenant_id=STR)  # fmt: skip
ADMIN_USER = obj(
    ["id", "email", "display_name", "role", "disabled", "totp_enabled", "created_at",
     "locked_for", "last_sign_in_at"],
    id=STR, email=STR, display_name=STR, role=STR, disabled=BOOL, totp_enabled=BOOL,
    created_at=NUM, locked_for=INT,
    last_sign_in_at=NUM_OR_NULL | {"description": "When the user last signed in; null: never."},
)  # fmt: skip
# What customers see of a user: one line, no control characters (identity.display_names).
DISPLAY_NAME: JSON = {"type": ["string", "null"], "maxLength": 80,
                      "description": "Made from the e-mail address when left out."}  # fmt: skip
# subscription_active: false once the account's subscription has ended (no new sessions).
TENANT_FIELDS: dict[str, JSON] = {"id": STR, "name": STR, "region": STR, "require_totp": BOOL,
                                  "subscription_active": BOOL,
                                  "recording": {"type": "string", "enum": list(
                                      account_policy.CHOICES["recording"])}}  # fmt: skip
TENANT = obj(["id", "name", "region", "require_totp"], **TENANT_FIELDS)
# The account's policies (services.account_policy), each with its bounds.
POLICIES: dict[str, JSON] = {
    **{name: BOOL for name in account_policy.SWITCHES},
    **{name: {"type": "integer", "minimum": low, "maximum": high}
       for name, (low, high) in account_policy.NUMBERS.items()},
    **{name: {"type": "string", "enum": list(choices)}
       for name, choices in account_policy.CHOICES.items()},
}  # fmt: skip
# What administrators see of their account: its policies, seats and subscription (set
# by the instance's operator: `livelens tenant set`).
ACCOUNT = obj(
    ["id", "name", "region", *POLICIES, "seats", "subscription_ends", "subscription_active"],
    **(TENANT_FIELDS | POLICIES),
    seats=obj(["used", "total"], used=INT, total={"type": ["integer", "null"]} | {
        "description": "Users who may be active at once; null: no limit."}),
    subscription_ends={"type": ["string", "null"], "format": "date", "description":
                       "The subscription's last day (UTC); null: it does not end."},
)  # fmt: skip
# A change names only the policies it changes (at least one).
POLICY_CHANGE: JSON = {"type": "object", "properties": POLICIES, "minProperties": 1,
                       "additionalProperties": False}  # fmt: skip
# What the account's policy allows in one session, fixed when it was created
# (signalling.session_policy); both sides' pages leave out what is off.
SESSION_POLICY = obj(["chat", "snapshots", "two_way_audio", "rating"], chat=BOOL,
                     snapshots=BOOL, two_way_audio=BOOL, rating=BOOL)  # fmt: skip
# ip and target are null for what the CLI or the system did.
AUDIT_EVENT = obj(
    ["id", "at", "action", "actor"],
    id=STR, at=NUM, action=STR, actor=STR, ip=STR_OR_NULL, target=STR_OR_NULL,
    details={"type": "object"},
)  # fmt: skip
SECURITY_EVENT = obj(["id", "at", "kind"], id=STR, at=NUM, kind=STR, ip=STR_OR_NULL,
                     details={"type": "object"})  # fmt: skip
# Whether a session is recorded (signalling.recording), fixed when it was created.
SESSION_RECORDING: JSON = {"type": "string", "enum": ["off", "asked", "always"]}
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
    reference=STR_OR_NULL, policy=SESSION_POLICY, recording=SESSION_RECORDING,
    rating={"anyOf": [{"type": "null"}, obj(
        ["score", "at"], score={"type": "integer", "minimum": 1, "maximum": 5}, at=NUM,
        comment=STR_OR_NULL | {"description": "Stored sealed; shown in one session's view."})]},
)  # fmt: skip
# A session with its join link (the token in the fragment), PIN and QR code: shown once.
# No PIN (null) where the account's policy turned PIN joining off.
INVITATION = obj(["session", "join_url", "pin"], session=SESSION, join_url=STR,
                 pin=STR_OR_NULL, qr_svg=STR, qr_data_uri=STR)  # fmt: skip
SNAPSHOT = obj(["id", "at", "media_type", "size", "url", "thumb_url"], id=STR, at=NUM,
               author_id=STR_OR_NULL, media_type=STR, size=INT, url=STR,
               thumb_url=STR)  # fmt: skip
CHAT_MESSAGE = obj(["id", "at", "role", "name", "text"], id=STR, at=NUM, role=STR, name=STR,
                   author_id=STR_OR_NULL, text=STR)  # fmt: skip
NOTES = obj(["text"], text=STR, at=NUM_OR_NULL, author_id=STR_OR_NULL)
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
        "The account: its policies, seats and subscription",
        {200: obj(["tenant"], tenant=ACCOUNT)}, auth="admin", errors=(401, 403)),
        "delete": DELETE_ACCOUNT}),
    Route("/api/account/policy", admin_api.AccountPolicyHandler, {"patch": Operation(
        "Change account policies: only those named change (audited with old and new values)",
        {200: obj(["tenant"], tenant=ACCOUNT)}, request=POLICY_CHANGE,
        description="`require_totp`: users without two-factor authentication must enrol. "
                    "`chat`, `snapshots`, `two_way_audio` (agents' voices reach the "
                    "customer) and `customer_rating` apply to sessions started from then "
                    "on, which keep them to their end. `join_link_minutes`: how long a new "
                    "link or PIN stays usable; `pin_joining` off: new sessions get no PIN, "
                    "and PINs already given out are refused. `retention_days`: the content of "
                    "sessions older than this is deleted by the retention job (records stay). "
                    "`recording` is kept for the recording feature. "
                    "400 `invalid_input` names the `field` at fault.",
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
            request=obj(customer_name=CASE_TEXT, reference=CASE_TEXT, record=BOOL_OR_NULL),
            description="The body is optional. `customer_name` (who the session is for; "
                        "kept sealed at rest) and `reference` (the case or ticket) are shown "
                        "with the session wherever it is listed. `record`: the agent's "
                        "choice where the account's recording policy is `agent` "
                        "(the session's `recording` is then `asked`); 400 "
                        "`recording_refused` for `true` under `off` or `false` under "
                        "`always`. 400 `invalid_input` names "
                        "the field at fault; 400 `unknown_host` when the request's Host does "
                        "not name this server (no link is made to a forged one).",
            request_required=False, errors=(400, 401, 403)),
        "get": Operation("Support sessions: an agent's own, or all of the account for admins",
                         {200: obj(["sessions"], sessions={"type": "array", "items": SESSION},
                                   next_cursor=STR_OR_NULL)},
                         query=HISTORY_QUERY, errors=(400, 401, 403),
                         description="Newest first, a page at a time: `next_cursor` (null "
                                     "on the last page) asks for the next. An agent sees "
                                     "the sessions they started and those they were "
                                     "invited into; `agent` may name themselves only "
                                     "(else 403)."),
    }),
    Route("/api/sessions/{session_id}", sessions_api.SessionHandler, {"get": Operation(
        "One support session", {200: obj(["session"], session=SESSION)},
        errors=(401, 403, 404)), "delete": DELETE_SESSION}),
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
        {200: obj(["session", "company", "agent", "policy", "brand"],
                  session=obj(id=STR, status=STR), company=STR, agent=STR,
                  policy=SESSION_POLICY, brand=BRAND, recording=SESSION_RECORDING)},
        request=obj(token=FIELD_OR_NULL, pin=FIELD_OR_NULL) | {"oneOf": [
            # Either the link's token or the PIN; the other absent, null or empty.
            {"required": ["token"], "properties": {"token": FIELD | {"minLength": 1},
                                                   "pin": ABSENT}},
            {"required": ["pin"], "properties": {"pin": PIN, "token": ABSENT}},
        ]}, auth="none", errors=(400, 403, 404, 409, 429))}),
    Route("/api/join/rating", sessions_api.RatingHandler, {"post": Operation(
        "The customer rates the session they joined, once, after it ended",
        {201: obj(["rating", "rated_at"], rating=INT, rated_at=NUM)},
        request=obj(["rating"], rating={"type": "integer", "minimum": rating.SCORES[0],
                                        "maximum": rating.SCORES[1]},
                    comment={"type": ["string", "null"], "maxLength": rating.MAX_COMMENT}),
        description="With the join and device cookies of the customer's browser. The "
                    "comment is kept sealed and shown to agents with rights to the "
                    "session. 403 `disabled_by_policy` when the account did not ask for "
                    "ratings when the session started (`policy.rating`); 409 `not_ended` "
                    "before the end, 409 `already_rated` the second time; 401 without the "
                    "cookies, 403 `link_used` from another device.",
        auth="none", errors=(400, 401, 403, 404, 409))}),
]  # fmt: skip
ROUTES += GOVERNANCE_ROUTES
