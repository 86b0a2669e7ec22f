"""Exports: who may ask for, see and download which export, what an export is called,
how long it is kept, and what its JSON files hold. No I/O (services.export does it).

- An account export (everything of the account) is for administrators only: they ask
  for it, see it and download it. An agent asks for a session's export (a data
  subject's request) where they have rights to the session; they see and download the
  exports they asked for, administrators every export of the account.
- An export is kept for EXPORT_DAYS days after it was asked for; then its record and
  its file are removed.
- Nothing secret goes into an archive: no password hash, TOTP secret, recovery code,
  key or keyed hash; the sealed fields (customer name, chat, notes, snapshots, rating
  comment) go in opened, since handing them over is the point.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime

from livelens.errors import InvalidInput
from livelens.services.auth import Principal
from livelens.services.session_history import record_id
from livelens.store.records import (
    AuditEvent,
    ExportJob,
    ExportScope,
    SupportSession,
    Tenant,
    User,
)

EXPORT_DAYS = 7
EXPORT_SECONDS = EXPORT_DAYS * 86400
SCOPES: tuple[ExportScope, ...] = ("account", "session")
FORMAT = "livelens-export/1"  # in every manifest: what a reader of the archive can expect
FAILED = (
    "The export could not be made. Try again; if it fails again, ask your LiveLens "
    "operator to look at the server's log."
)

# Fields never exported, whatever record they are in: secrets, keyed hashes, key ids.
_SECRET_FIELD = re.compile(r"hash|secret|key|token|pending|recovery|totp_last_step")


def parse_request(body: Mapping[str, object]) -> tuple[ExportScope, str | None]:
    """``{scope, session_id?}``: "account" with no session, or "session" with its id."""
    scope = body.get("scope")
    if scope not in SCOPES:
        raise InvalidInput(f"'scope' must be one of: {', '.join(SCOPES)}.", field="scope")
    session_id = body.get("session_id")
    if scope == "account":
        if session_id is not None:
            raise InvalidInput("An account export takes no 'session_id'.", field="session_id")
        return "account", None
    if not isinstance(session_id, str):
        raise InvalidInput("A session export needs the 'session_id'.", field="session_id")
    return "session", record_id(session_id, "session_id")


def may_see(principal: Principal, job: ExportJob) -> bool:
    """Administrators see every export of their account; agents the session exports they
    asked for (an account export is never an agent's, even one who was an admin)."""
    if job.tenant_id != principal.tenant.id:
        return False
    if principal.user.role == "admin":
        return True
    return job.scope == "session" and job.requested_by == principal.user.id


def expired(job: ExportJob, now: float) -> bool:
    return now >= job.expires_at


def busy(jobs: list[ExportJob], scope: ExportScope, session_id: str | None) -> ExportJob | None:
    """An export of the same content still being made, if any: one at a time."""
    for job in jobs:
        if job.state in ("queued", "running") and (job.scope, job.session_id) == (
            scope,
            session_id,
        ):
            return job
    return None


def _slug(text: str) -> str:
    """ASCII letters, digits and dashes only, for a file name any system takes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"


def file_name(tenant: Tenant, session: SupportSession | None, at: datetime) -> str:
    day = at.strftime("%Y-%m-%d")
    if session is None:
        return f"livelens-{_slug(tenant.name)}-{day}.zip"
    what = _slug(session.reference) if session.reference else session.id[:8]
    return f"livelens-session-{what}-{day}.zip"


def view(job: ExportJob) -> dict[str, object]:
    """An export as the API shows it."""
    fields = {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}
    fields.pop("tenant_id")
    ready = job.state == "ready"
    return {**fields, "download_url": f"/api/exports/{job.id}/download" if ready else None}


# -- what the archive's JSON files hold -----------------------------------------------


def _plain(record: object, *leave_out: str) -> dict[str, object]:
    """A record's fields, less ``leave_out``, secrets and sealed bytes, as JSON values."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if f.name in leave_out or _SECRET_FIELD.search(f.name) or isinstance(value, bytes):
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def account_info(tenant: Tenant, session: SupportSession | None) -> dict[str, object]:
    """The account with its policies and terms; for a session's export, its name only."""
    if session is None:
        return _plain(tenant)
    return {"id": tenant.id, "name": tenant.name, "region": tenant.region}


def people(users: list[User], session: SupportSession | None) -> list[dict[str, object]]:
    """The account's users, without secrets; for a session's export, only the agents of
    that session, by the name customers see and role."""
    if session is None:
        return [{**_plain(u), "totp_enabled": u.totp_enabled} for u in users]
    involved = {session.agent_id, *session.experts}
    return [{"id": u.id, "display_name": u.shown_name, "role": u.role}
            for u in users if u.id in involved]  # fmt: skip


def session_file(session: SupportSession, customer_name: str | None) -> dict[str, object]:
    """``session.json``: the session's record, the customer's name opened; its rating is
    ``rating.json``'s."""
    record = _plain(session, "version", "rating", "rated_at")
    return {**record, "customer_name": customer_name}


def rating_file(session: SupportSession, comment: str | None) -> dict[str, object] | None:
    if session.rating is None:
        return None
    return {"rating": session.rating, "comment": comment, "at": session.rated_at}


def audit_file(events: list[AuditEvent]) -> list[dict[str, object]]:
    """``audit.json``: oldest first."""
    return [_plain(e) for e in reversed(events)]


def manifest(
    job: ExportJob, tenant: Tenant, exported_at: float, counts: Mapping[str, int],
    files: Mapping[str, Mapping[str, object]],
) -> dict[str, object]:  # fmt: skip
    """``manifest.json``: what was exported, how much of each, and every other file's
    size and SHA-256."""
    return {
        "format": FORMAT,
        "export_id": job.id,
        "scope": job.scope,
        "session_id": job.session_id,
        "account": {"id": tenant.id, "name": tenant.name},
        "requested_by": job.requested_by,
        "exported_at": exported_at,
        "counts": dict(counts),
        "files": dict(files),
    }
