"""The routes of governing an account: reports and their API keys, exports, the customer
page's branding, deletion with signed certificates, and the alert webhook. Part of the
one route table (:mod:`.routes`), which adds them after its own."""

from __future__ import annotations

from livelens.http import (
    alerts_api,
    branding_api,
    exports_api,
    lifecycle_api,
    recordings_api,
    reports_api,
)
from livelens.http.api_schema import (
    BOOL,
    CASE_TEXT,
    DAY,
    EMPTY,
    FIELD,
    IMAGE,
    INT,
    INT_OR_NULL,
    JSON,
    NUM,
    NUM_OR_NULL,
    OUTCOME,
    RECORD_ID,
    STR,
    STR_OR_NULL,
    Operation,
    Query,
    Route,
    obj,
)
from livelens.services import alert_rules, api_keys, export_rules, recording_rules, support
from livelens.services.brand_colors import MIN_CONTRAST, PATTERN
from livelens.services.logo_images import MAX_LOGO_BYTES, MAX_LOGO_SIDE, MEDIA_TYPES

# Reports, session history and API keys (http/reports_api.py, services/reports.py).
API_KEY_FIELDS: dict[str, JSON] = {"id": STR, "name": STR, "created_at": NUM,
                                   "created_by": STR | {"description": "A user id."}}  # fmt: skip
API_KEY = obj(list(API_KEY_FIELDS), **API_KEY_FIELDS)
API_KEY_NAME: JSON = {"type": "string", "maxLength": 1024, "minLength": 1,
                      "pattern": api_keys.NAME_PATTERN,
                      "description": f"What the key is for; trimmed, 1 to "
                                     f"{support.MAX_CASE_TEXT} characters."}  # fmt: skip
REPORT_ROW = obj(
    ["session_id", "reference", "agent_id", "agent", "agent_name", "created_at", "joined_at",
     "started_at", "ended_at", "duration_s", "join_wait_s", "outcome", "ended_by", "experts",
     "rating"],
    session_id=STR, reference=STR_OR_NULL, agent_id=STR, agent=STR, agent_name=STR,
    created_at=STR, joined_at=STR_OR_NULL, started_at=STR_OR_NULL, ended_at=STR_OR_NULL,
    duration_s=INT_OR_NULL, join_wait_s=INT_OR_NULL, outcome=STR_OR_NULL,
    ended_by=STR_OR_NULL, experts=INT, rating=INT_OR_NULL,
)  # fmt: skip
TALLY: dict[str, JSON] = {
    "sessions": INT,
    "outcomes": obj(["completed", "declined", "expired", "dropped", "open"], completed=INT,
                    declined=INT, expired=INT, dropped=INT, open=INT),
    "duration_s": obj(["median", "p90", "count"], median=NUM_OR_NULL, p90=NUM_OR_NULL,
                      count=INT),
    "join_wait_s": obj(["median"], median=NUM_OR_NULL),
    "rating": obj(["average", "count"], average=NUM_OR_NULL, count=INT),
}  # fmt: skip
SUMMARY = obj(
    ["from", "to", "group", "total", "agents", "periods"],
    **{"from": DAY, "to": DAY}, group=STR, total=obj(list(TALLY), **TALLY),
    agents={"type": "array", "items": obj(["agent_id", "agent", "agent_name", *TALLY],
                                          agent_id=STR, agent=STR, agent_name=STR, **TALLY)},
    periods={"type": "array", "items": obj(["period", *TALLY], period=DAY, **TALLY)},
)  # fmt: skip
REPORT_QUERY = (
    Query("from", DAY, required=True, description="The first day (UTC) of the report."),
    Query("to", DAY, required=True,
          description="The last day (UTC), included; at most 366 days after 'from'."),
    Query("agent", RECORD_ID, description="Only this agent's sessions (a user id)."),
    Query("outcome", OUTCOME),
)  # fmt: skip
# The session history's filters (GET /api/sessions), as the reports'.
HISTORY_QUERY = (
    Query("q", {"type": "string", "maxLength": 1024, "pattern": support.CASE_TEXT_PATTERN},
          description="Sessions whose case reference contains this (ASCII letters in "
                      "either case). Customer names are sealed: not searched."),
    Query("agent", RECORD_ID, description="Only the sessions this agent started."),
    Query("outcome", OUTCOME),
    Query("from", DAY, description="Created on or after this day (UTC)."),
    Query("to", DAY, description="Created on or before this day (UTC)."),
    Query("cursor", {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,200}$"},
          description="The `next_cursor` of the page before."),
    Query("limit", {"type": "integer", "minimum": 1, "maximum": 500},
          description="Sessions per page; 100 when left out."),
)  # fmt: skip
REPORT_ROUTES: list[Route] = [
    Route("/api/api-keys", reports_api.ApiKeysHandler, {
        "get": Operation("The account's API keys (never the keys themselves)",
                         {200: obj(["api_keys"], api_keys={"type": "array", "items": API_KEY})},
                         auth="admin", errors=(401, 403)),
        "post": Operation(
            "Make an API key that reads the account's reports, and nothing else (audited)",
            {201: obj([*API_KEY_FIELDS, "key"], **API_KEY_FIELDS, key=STR)},
            request=obj(["name"], name=API_KEY_NAME), auth="admin", errors=(400, 401, 403),
            description="`key` is shown this once: the server keeps only its keyed hash. "
                        "Send it as `Authorization: Bearer <key>` to GET /api/reports/...; "
                        "every other operation answers 401 `api_key_not_allowed`."),
    }),
    Route("/api/api-keys/{key_id}", reports_api.ApiKeyHandler, {"delete": Operation(
        "Revoke an API key: refused from now on (audited)", {204: EMPTY}, auth="admin",
        errors=(401, 403, 404))}),
    Route("/api/reports/sessions", reports_api.SessionReportHandler, {"get": Operation(
        "Support sessions created in a range of days, one row each, as JSON or CSV",
        {200: obj(["from", "to", "sessions"], **{"from": DAY, "to": DAY},
                  sessions={"type": "array", "items": REPORT_ROW})},
        also_media={"text/csv": {"type": "string"}},
        query=(*REPORT_QUERY, Query("format", {"type": "string", "enum": ["json", "csv"]},
                                    description="json (the default) or csv.")),
        api_key=True, errors=(400, 401, 403),
        description="For a signed-in user or an API key. Administrators and API keys get "
                    "the whole account; an agent the sessions they started (`agent` may "
                    "name themselves only, else 403). Oldest first; times are ISO 8601 "
                    "UTC, durations whole seconds. The CSV has a header row with the JSON "
                    "rows' names, and any cell that a spreadsheet could take for a formula "
                    "starts with `'`. Both formats are streamed as they are read. Customer "
                    "names are left out (personal data, sealed at rest); `reference` links "
                    "a session to its case. 400 names what is wrong with the days.")}),
    Route("/api/reports/summary", reports_api.SummaryReportHandler, {"get": Operation(
        "Sessions per agent and per period, outcomes, durations and ratings over a range of "
        "days", {200: SUMMARY},
        query=(*REPORT_QUERY, Query("group", {"type": "string", "enum": ["day", "week", "month"]},
                                    description="Periods: day (the default), ISO week or "
                                                "month, each named by its first day.")),
        api_key=True, errors=(400, 401, 403),
        description="Who sees what as in GET /api/reports/sessions. Durations: of live "
                    "time, median and 90th percentile over the sessions that went live and "
                    "ended; `join_wait_s`: from the link to the customer's join. `rating`: "
                    "the customers' average, null without ratings.")}),
]  # fmt: skip

# Exports of the account's or a session's content (http/exports_api.py, services/export.py).
EXPORT = obj(
    ["id", "scope", "session_id", "state", "requested_by", "created_at", "expires_at",
     "finished_at", "size", "file_name", "error", "download_url"],
    id=STR, scope={"enum": list(export_rules.SCOPES)}, session_id=STR_OR_NULL,
    state={"enum": ["queued", "running", "ready", "failed"]}, requested_by=STR, created_at=NUM,
    expires_at=NUM, finished_at=NUM_OR_NULL, size=INT_OR_NULL, file_name=STR,
    error=STR_OR_NULL, download_url=STR_OR_NULL,
)  # fmt: skip
EXPORT_ROUTES: list[Route] = [
    Route("/api/exports", exports_api.ExportsHandler, {
        "post": Operation(
            "Ask for an export: the account's content (administrators) or one session's "
            "(audited); it is made in the background", {202: EXPORT},
            request={"oneOf": [
                obj(["scope"], scope={"const": "account"}, session_id={"type": "null"}),
                obj(["scope", "session_id"], scope={"const": "session"}, session_id=RECORD_ID),
            ]},
            description="A ZIP of JSON files and snapshots: account.json (no secrets), "
                        "sessions/<id>/ (session.json, chat.json, notes.json, snapshots.json, "
                        "snapshots/, rating.json), audit.json and manifest.json (counts, "
                        "every file's SHA-256). Follow `state` with GET /api/exports/{id}. "
                        "403 for an agent's account export; 404 for a session the caller "
                        "cannot see; 409 `export_running` while the same export is made. "
                        f"Exports are removed {export_rules.EXPORT_DAYS} days after they "
                        "were asked for. Still allowed once the subscription ended.",
            errors=(400, 401, 403, 404, 409)),
        "get": Operation(
            "Exports: all of the account's for administrators, an agent's own",
            {200: obj(["exports", "kept_days"], exports={"type": "array", "items": EXPORT},
                      kept_days=INT)}, errors=(401, 403)),
    }),
    Route("/api/exports/{export_id}", exports_api.ExportHandler, {"get": Operation(
        "One export and its state", {200: EXPORT}, errors=(401, 403, 404))}),
    Route("/api/exports/{export_id}/download", exports_api.ExportDownloadHandler, {"get": Operation(
        "Download a ready export as a ZIP (audited)",
        {200: {"type": "string", "format": "binary"}}, media="application/zip",
        description="An account export: administrators only. 409 `export_not_ready` while "
                    "it is made or when it failed; 404 when the file is on another node.",
        errors=(401, 403, 404, 409))}),
]  # fmt: skip

# The customer page's branding (http/branding_api.py, services/branding.py).
BRAND = obj(["name", "accent_color", "logo_url"], name=STR, accent_color=STR_OR_NULL,
            logo_url=STR_OR_NULL | {"description": "For this browser's join cookies."}
            )  # fmt: skip
BRANDED = {200: obj(["branding"], branding=obj(
    ["display_name", "accent_color", "logo_url", "shown_name"], display_name=STR_OR_NULL,
    accent_color=STR_OR_NULL, logo_url=STR_OR_NULL, logo_type=STR_OR_NULL,
    logo_bytes=INT_OR_NULL, shown_name=STR, updated_at=NUM_OR_NULL))}  # fmt: skip
BRANDING_ROUTES: list[Route] = [
    Route("/api/account/branding", branding_api.BrandingHandler, {
        "get": Operation("The customer page's branding", BRANDED, auth="admin",
                         errors=(401, 403)),
        "put": Operation(
            "Set the customer page's display name and accent colour (audited)", BRANDED,
            request={"type": "object", "additionalProperties": False, "properties": {
                "display_name": CASE_TEXT, "accent_color": {
                    "type": ["string", "null"], "pattern": f"{PATTERN}|^$"}}},
            description="Both at once (the logo stays); empty or null: the account's name, "
                        "LiveLens's colour. The colour needs a contrast of at least "
                        f"{MIN_CONTRAST}:1 to white text; 400 `invalid_input` "
                        "names the `field` at fault (and a colour's `contrast`).",
            auth="admin", errors=(400, 401, 403))}),
    Route("/api/account/branding/logo", branding_api.BrandingLogoHandler, {
        "get": Operation("The account's logo", {200: IMAGE}, media="image/*", auth="admin",
                         errors=(401, 403, 404)),
        "put": Operation(
            f"Set the logo: a PNG or JPEG body, at most {MAX_LOGO_BYTES // 1024} "
            f"KiB and {MAX_LOGO_SIDE} x {MAX_LOGO_SIDE} pixels "
            "(audited)", BRANDED, request=IMAGE, request_media=MEDIA_TYPES,
            description="Kept re-encoded from its pixels, without metadata. 400 says why an "
                        "image is refused (another format, damaged, too many pixels).",
            auth="admin", errors=(400, 401, 403, 413)),
        "delete": Operation("Remove the logo (audited)", BRANDED, auth="admin",
                            errors=(401, 403, 404))}),
    Route("/api/join/logo", branding_api.CustomerLogoHandler, {"get": Operation(
        "The logo of the account whose session this browser joined", {200: IMAGE},
        media="image/*", auth="none", errors=(401, 403, 404))}),
]  # fmt: skip

# Deletion by crypto-shredding and its signed certificates (services.deletion,
# lifecycle.certificate).
SIGNER = obj(["id", "algorithm", "public_key", "fingerprint"], id=STR, algorithm=STR,
             public_key=STR | {"description": "Raw Ed25519 public key, base64."},
             fingerprint=STR | {"description": "SHA-256 of the raw key, hex."})  # fmt: skip
CERTIFICATE = obj(
    ["format", "id", "kind", "subject", "counts", "deleted_at", "deleted_by", "instance",
     "signature"],
    format=STR, id=STR, kind={"type": "string", "enum": ["session", "account", "retention"]},
    subject=obj(["account_id", "account_name"], account_id=STR, account_name=STR,
                session_id=STR),
    counts={"type": "object", "additionalProperties": INT}, deleted_at=STR,
    deleted_by=obj(user_id=STR_OR_NULL, email=STR_OR_NULL, name=STR_OR_NULL),
    instance=SIGNER, signature=STR | {"description": "Ed25519, base64, over the other "
                                      "fields as JSON: keys sorted, no spaces, ASCII."},
)  # fmt: skip
DELETED = obj(["certificate"], certificate=CERTIFICATE)
DELETE_SESSION = Operation(
    "Delete an ended session at once by crypto-shredding: its key, content and record "
    "(audited); a signed deletion certificate", {200: DELETED}, errors=(401, 403, 404, 409),
    description="For agents with rights to the session and administrators; 404 for a "
                "session the caller cannot see. 409 `session_running` until it has ended. "
                "`livelens verify-certificate FILE` checks the certificate.")  # fmt: skip
DELETE_ACCOUNT = Operation(
    "Delete the whole account at once by crypto-shredding: its data key, then every "
    "record of it; a signed deletion certificate", {200: DELETED},
    request=obj(["confirm"], confirm=FIELD | {"description": "The account's name, typed."}),
    auth="admin", errors=(400, 401, 403, 409),
    description="400 when `confirm` is not the account's name exactly; 409 "
                "`session_running` while sessions run. Every user is signed out.")  # fmt: skip
LIFECYCLE_ROUTES: list[Route] = [
    Route("/api/instance/signing-key", lifecycle_api.SigningKeyHandler, {"get": Operation(
        "The public key that signs this instance's deletion certificates",
        {200: SIGNER | {"required": ["id", "algorithm", "public_key", "fingerprint",
                                     "format"]}}, auth="none")}),
]  # fmt: skip

# The account's alert webhook (http/alerts_api.py, services/alert_hooks.py).
ALERT_HOOK_FIELDS: dict[str, JSON] = {
    "configured": BOOL, "url": STR_OR_NULL, "created_by": STR | {"description": "A user id."},
    **{name: NUM_OR_NULL for name in alerts_api.TIMES}, "last_error": STR_OR_NULL,
    **{name: INT for name in alerts_api.COUNTS}, "signature_header": STR,
}  # fmt: skip
ALERT_HOOK = obj(["configured", "url"], **ALERT_HOOK_FIELDS)
ALERT_ROUTES: list[Route] = [
    Route("/api/account/alert-hook", alerts_api.AlertHookHandler, {
        "get": Operation(
            "The account's alert webhook and how its deliveries went", {200: ALERT_HOOK},
            description="`delivered`: alerts the receiver took (2xx); `failed`: tries that "
                        "failed (each retry counts); `abandoned`: alerts given up after "
                        f"{alert_rules.MAX_TRIES} tries; `dropped`: alerts a full queue "
                        "dropped. `configured` false (and the rest left out): none is set.",
            auth="admin", errors=(401, 403)),
        "put": Operation(
            "Send the account's security alerts to this URL, with a new signing secret "
            "(audited)", {200: obj(["url", "secret"], **ALERT_HOOK_FIELDS, secret=STR)},
            request=obj(["url"], url=FIELD | {"pattern": r"^https://[^\s/?#@]+([/?#]\S*)?$"}),
            description="`secret` is shown this once (PUT again to rotate it; counts start "
                        "again). Each alert is a JSON POST signed in the "
                        f"`{alert_rules.SIGNATURE_HEADER}: t=<unix>,v1=<hex>` header: "
                        "HMAC-SHA256 with the secret over `<t>.<body>`. The URL must be "
                        "https:// to a public host (no private, loopback or link-local "
                        "addresses, no user name or password); 400 `invalid_input` says why.",
            auth="admin", errors=(400, 401, 403)),
        "delete": Operation("Stop sending alerts to the webhook (audited)", {204: EMPTY},
                            auth="admin", errors=(401, 403, 404)),
    }),
    Route("/api/account/alert-hook/test", alerts_api.AlertHookTestHandler, {"post": Operation(
        "Send a test alert to the webhook now, once (audited)",
        {200: obj(["result"], **ALERT_HOOK_FIELDS, result=obj(
            ["delivered", "error"], delivered=BOOL, error=STR_OR_NULL))},
        description="`result.error` says why the receiver did not take it (null: it did); "
                    "the counts include this try. 404 when no webhook is set.",
        request_required=False, auth="admin", errors=(401, 403, 404))}),
]  # fmt: skip

# Recordings of sessions (http/recordings_api.py, services/recordings.py).
RECORDING = obj(
    ["id", "started_at", "duration_s", "bytes", "state"],
    id=STR, started_at=NUM, ended_at=NUM_OR_NULL,
    duration_s=NUM | {"description": "Media time recorded."},
    bytes=INT | {"description": "Sealed bytes stored."},
    state={"enum": ["recording", "complete", "stopped", "failed", "interrupted"]},
    stopped_reason=STR_OR_NULL | {"description": "Why it ended on its own, in words."},
    download_url=STR_OR_NULL, events_url=STR_OR_NULL,
)  # fmt: skip
RECORDING_EVENT = obj(["t", "kind", "data"], t=NUM | {"description": "Seconds from its start."},
                      kind={"enum": list(recording_rules.EVENT_KINDS)},
                      data={"type": "object"})  # fmt: skip
RECORDING_ERRORS = (401, 403, 404, 409)
BINARY: JSON = {"type": "string", "format": "binary"}
RECORDING_ROUTES: list[Route] = [
    Route("/api/sessions/{session_id}/recordings", recordings_api.RecordingsHandler,
          {"get": Operation(
              "The recordings of a session, oldest first",
              {200: obj(["recordings"], recordings={"type": "array", "items": RECORDING})},
              description="For the agent who ran the session, invited experts and the "
                          "account's administrators (404 for anyone else). `state`: "
                          "`stopped` when it ended on its own (`stopped_reason`, e.g. "
                          "storage full) with what was recorded kept; `failed` when nothing "
                          "could be kept; `interrupted` when its server stopped mid-way.",
              errors=(401, 403, 404))}),
    Route("/api/sessions/{session_id}/recordings/{recording_id}/events",
          recordings_api.RecordingEventsHandler, {"get": Operation(
              "A recording's timed events (marks, chat, freezes) for the player",
              {200: obj(["events"], events={"type": "array", "items": RECORDING_EVENT})},
              description="Oldest first; kept sealed at rest. 409 `recording_not_ready` "
                          "while it is made or when nothing of it was kept.",
              errors=RECORDING_ERRORS)}),
    Route("/api/sessions/{session_id}/recordings/{recording_id}/download",
          recordings_api.RecordingDownloadHandler, {"get": Operation(
              "A recording as WebM, decrypted as it is sent, whole or by byte range (audited)",
              {200: BINARY, 206: BINARY}, media="video/webm",
              description="Send `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` for one range: "
                          "206 with `Content-Range` (several ranges or a malformed one: the "
                          "whole file, 200); 416 `range_not_satisfiable` for a range past the "
                          "end. Every chunk is authenticated before a byte of it is sent: a "
                          "changed, cut or incomplete file is 422 `recording_damaged` (a "
                          "whole download checks the whole file first; a damaged chunk "
                          "further into a range cuts the transfer). Audited: downloads "
                          "(`recording.downloaded`), the start of a playback (a range from "
                          "byte 0, `recording.played`) and damage (`recording.damaged`). "
                          "409 `recording_not_ready` while it is made.",
              errors=(*RECORDING_ERRORS, 416, 422))}),
]  # fmt: skip

GOVERNANCE_ROUTES = (
    REPORT_ROUTES
    + BRANDING_ROUTES
    + EXPORT_ROUTES
    + LIFECYCLE_ROUTES
    + ALERT_ROUTES
    + RECORDING_ROUTES
)
