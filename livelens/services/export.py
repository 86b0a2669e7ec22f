"""Exports of an account's content, or of one session's (a data subject's request): a
ZIP of JSON files and snapshots, built in the background and written to the data
directory as it is built (services.export_archive), then downloaded.

Who may do what, and what goes in, is services.export_rules'. Everything is audited:
asked for (``export.requested``), made or failed (``export.ready``,
``export.failed``), downloaded (``export.downloaded``) and removed once expired
(``export.expired``) or with the content it holds (``export.deleted``, see forget).
Exports are kept EXPORT_DAYS days. The subscription's end does not stop them:
administrators can take their data with them.

The file lies in the data directory of the node that made it (``exports/<account>/``);
with several nodes behind one address, a download that reaches another node is told
so (404) and the administrator asks for a new export.

What an archive holds:

- ``account.json``: the account and its users, without any secret;
- ``sessions/<id>/session.json``, ``chat.json``, ``notes.json``, ``snapshots.json``,
  ``snapshots/<item id>.png|jpg`` and, where the customer rated it, ``rating.json``;
  where it was recorded, ``recordings.json`` (each recording, its timed events, and why
  one has no file) and ``recordings/<id>.webm``, decrypted: the archive is for reading;
- ``audit.json``: the account's audit log (newest AUDIT_LIMIT events), or for a
  session's export that session's events;
- ``manifest.json``: counts, and every other file's size and SHA-256.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import replace
from pathlib import Path

from livelens import clock
from livelens.errors import Conflict, NotFound
from livelens.identity.roles import Permission, require
from livelens.services import audit, content, rating, recordings, support, tasks
from livelens.services import export_rules as rules
from livelens.services.audit import SYSTEM, Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.services.export_archive import ArchiveWriter
from livelens.store.records import ExportJob, ExportScope, SupportSession, new_id
from livelens.store.repository import SessionQuery, TenantStore

log = logging.getLogger("livelens")

EXPORTS_DIR = "exports"
SESSIONS_PAGE = 100  # sessions read from the store at a time
ITEMS_LIMIT = 100_000  # chat messages of one session
AUDIT_LIMIT = 1_000_000  # audit events, newest first


class ExportRunning(Conflict, code="export_running"):
    """An export of the same content is still being made."""


class ExportNotReady(Conflict, code="export_not_ready"):
    """The export is not ready (yet, or it failed)."""


def file_path(ctx: Context, job: ExportJob) -> Path:
    return ctx.settings.data_dir / EXPORTS_DIR / job.tenant_id / f"{job.id}.zip"


def _partial(path: Path) -> Path:
    return path.with_suffix(".part")


# -- asking, listing, downloading -------------------------------------------------------


async def request(
    ctx: Context, principal: Principal, scope: ExportScope, session_id: str | None, ip: str
) -> ExportJob:
    """Ask for an export; it is made in the background. Raises Forbidden (an agent asking
    for the account's), NotFound (a session they cannot see) or ExportRunning."""
    session = None
    if scope == "account":
        require(principal.user.role, Permission.MANAGE_ACCOUNT)
    else:
        session = await support.get_for_agent(ctx, principal, session_id or "")
    store = ctx.store.scoped(principal.tenant.id)
    running = rules.busy(await store.list_export_jobs(), scope, session_id)
    if running is not None:
        what = "this account" if scope == "account" else "this session"
        raise ExportRunning(f"An export of {what} is being made; wait until it is ready.",
                            export_id=running.id)  # fmt: skip
    now = clock.now()
    job = ExportJob(
        id=new_id(),
        tenant_id=principal.tenant.id,
        scope=scope,
        requested_by=principal.user.id,
        created_at=now,
        expires_at=now + rules.EXPORT_SECONDS,
        session_id=session_id,
        file_name=rules.file_name(principal.tenant, session, clock.utcnow()),
    )
    await store.create_export_job(job)
    await audit.record(store, "export.requested", Actor.of(principal.user, ip),
                       target=session_id or principal.tenant.name, export=job.id,
                       kind=scope)  # fmt: skip
    tasks.spawn(run(ctx, job))
    return job


async def get(ctx: Context, principal: Principal, job_id: str) -> ExportJob:
    """An export the principal may see; NotFound otherwise (also once it expired)."""
    store = ctx.store.scoped(principal.tenant.id)
    job = await store.get_export_job(job_id)
    if job is not None and rules.expired(job, clock.now()):
        await _remove(ctx, store, job)
        job = None
    if job is None or not rules.may_see(principal, job):
        raise NotFound("No such export (exports are kept for "
                       f"{rules.EXPORT_DAYS} days).")  # fmt: skip
    return job


async def list_for(ctx: Context, principal: Principal) -> list[ExportJob]:
    """Administrators: every export of the account; agents: the ones they asked for.
    Expired ones are removed on the way."""
    await sweep(ctx, principal.tenant.id)
    store = ctx.store.scoped(principal.tenant.id)
    mine = None if principal.user.role == "admin" else principal.user.id
    return [job for job in await store.list_export_jobs(mine) if rules.may_see(principal, job)]


async def open_download(
    ctx: Context, principal: Principal, job_id: str, ip: str
) -> tuple[ExportJob, Path]:
    """The export and its file, for a download (audited). An account export: for
    administrators only; a session's: also for the agent who asked, while they still
    have rights to the session."""
    job = await get(ctx, principal, job_id)
    if job.scope == "account":
        require(principal.user.role, Permission.MANAGE_ACCOUNT)
    elif job.session_id is not None:
        await support.get_for_agent(ctx, principal, job.session_id)
    if job.state != "ready":
        why = "failed: ask for a new one" if job.state == "failed" else "is still being made"
        raise ExportNotReady(f"This export {why}.", state=job.state)
    path = file_path(ctx, job)
    if not await asyncio.to_thread(path.is_file):
        raise NotFound("This export's file is not on this server (another node made it, or "
                       "it was removed). Ask for a new export.")  # fmt: skip
    await audit.record(ctx.store.scoped(job.tenant_id), "export.downloaded",
                       Actor.of(principal.user, ip), target=job.session_id or
                       principal.tenant.name, export=job.id, kind=job.scope)  # fmt: skip
    return job, path


# -- expiry ------------------------------------------------------------------------------


async def _remove(
    ctx: Context, store: TenantStore, job: ExportJob, action: str = "export.expired"
) -> None:
    path = file_path(ctx, job)
    await asyncio.to_thread(path.unlink, missing_ok=True)
    await asyncio.to_thread(_partial(path).unlink, missing_ok=True)
    if await store.delete_export_job(job.id):
        await audit.record(store, action, SYSTEM, target=job.session_id, export=job.id,
                           kind=job.scope)  # fmt: skip


async def sweep(ctx: Context, tenant_id: str | None = None) -> int:
    """Remove the expired exports (records and files) of one account, or of every
    account; how many."""
    now = clock.now()
    removed = 0
    for tid in [tenant_id] if tenant_id else await ctx.store.list_tenant_ids():
        store = ctx.store.scoped(tid)
        for job in await store.list_export_jobs():
            if rules.expired(job, now):
                await _remove(ctx, store, job)
                removed += 1
    return removed


async def forget(ctx: Context, tenant_id: str, session_id: str | None = None) -> int:
    """Remove the exports holding content that is being deleted (for the deletion of an
    account, or of one session: its exports and every account export); how many. An
    archive is plaintext on disk: crypto-shredding the store does not reach it."""
    store = ctx.store.scoped(tenant_id)
    removed = 0
    for job in await store.list_export_jobs():
        if session_id is None or job.scope == "account" or job.session_id == session_id:
            await _remove(ctx, store, job, "export.deleted")
            removed += 1
    return removed


async def fail_interrupted(ctx: Context) -> None:
    """At start-up: the exports this node was making when it stopped (their partial
    file is here) failed."""
    for tid in await ctx.store.list_tenant_ids():
        store = ctx.store.scoped(tid)
        for job in await store.list_export_jobs():
            partial = _partial(file_path(ctx, job))
            if job.state in ("queued", "running") and await asyncio.to_thread(partial.exists):
                await asyncio.to_thread(partial.unlink, missing_ok=True)
                await _finish(store, job, None, Counter())


# -- making one --------------------------------------------------------------------------


async def run(ctx: Context, job: ExportJob) -> None:
    """Make the export's archive (a background task): running, then ready or failed."""
    store = ctx.store.scoped(job.tenant_id)
    path = file_path(ctx, job)
    counts: Counter[str] = Counter()
    try:
        job = replace(job, state="running")
        await store.save_export_job(job)
        size = await _build(ctx, store, job, _partial(path), counts)
        await asyncio.to_thread(_partial(path).replace, path)
    except Exception:
        # No content in the log: the account and export ids say where to look.
        log.exception("Export %s of account %s failed.", job.id, job.tenant_id)
        await asyncio.to_thread(_partial(path).unlink, missing_ok=True)
        await _finish(store, job, None, counts)
        return
    await _finish(store, job, size, counts)


async def _finish(store: TenantStore, job: ExportJob, size: int | None,
                  counts: Counter[str]) -> None:  # fmt: skip
    ok = size is not None
    done = replace(job, state="ready" if ok else "failed", finished_at=clock.now(), size=size,
                   error=None if ok else rules.FAILED)  # fmt: skip
    try:
        await store.save_export_job(done)
    except NotFound:  # removed meanwhile (its account or the export was deleted)
        return
    await audit.record(store, "export.ready" if ok else "export.failed", SYSTEM,
                       target=job.session_id, export=job.id, kind=job.scope,
                       size=size, **counts)  # fmt: skip


async def _build(
    ctx: Context, store: TenantStore, job: ExportJob, path: Path, counts: Counter[str]
) -> int:
    tenant = await store.get_tenant()
    session = None if job.session_id is None else await store.get_support_session(job.session_id)
    if tenant is None or (job.session_id is not None and session is None):
        raise NotFound("What was to be exported is gone.")
    archive = await ArchiveWriter.create(path, clock.utcnow())
    try:
        people = rules.people(await store.list_users(), session)
        await archive.add_json(
            "account.json", {"account": rules.account_info(tenant, session), "users": people}
        )
        counts["users"] = len(people)
        if session is not None:
            await _add_session(ctx, archive, session, counts)
        else:
            await _add_account_sessions(ctx, store, archive, counts)
        events = await store.list_audit_events(AUDIT_LIMIT)
        if session is not None:
            events = [e for e in events if e.target == session.id]
        await archive.add_json("audit.json", rules.audit_file(events))
        counts["audit_events"] = len(events)
        return await archive.finish(rules.manifest(job, tenant, clock.now(), counts,
                                                   archive.files))  # fmt: skip
    except BaseException:
        await archive.discard()
        raise


async def _add_account_sessions(
    ctx: Context, store: TenantStore, archive: ArchiveWriter, counts: Counter[str]
) -> None:
    after = None
    while True:
        page = await store.list_support_sessions(
            SessionQuery(limit=SESSIONS_PAGE, oldest_first=True, after=after)
        )
        for session in page:
            await _add_session(ctx, archive, session, counts)
        if len(page) < SESSIONS_PAGE:
            return
        after = (page[-1].created_at, page[-1].id)


async def _add_session(
    ctx: Context, archive: ArchiveWriter, session: SupportSession, counts: Counter[str]
) -> None:
    folder = f"sessions/{session.id}/"
    name = await support.customer_name(ctx, session)
    await archive.add_json(folder + "session.json", rules.session_file(session, name))
    chat = await content.chat_history(ctx, session, ITEMS_LIMIT)
    await archive.add_json(folder + "chat.json", [message.view() for message in chat])
    notes = await content.get_notes(ctx, session)
    await archive.add_json(
        folder + "notes.json", {"text": notes.text, "at": notes.at, "author_id": notes.author_id}
    )
    shots = []
    async for snapshot, data in content.snapshot_images(ctx, session):
        extension = "png" if snapshot.media_type == "image/png" else "jpg"
        file = f"{folder}snapshots/{snapshot.id}.{extension}"
        await archive.add(file, data, compress=False)
        shots.append(
            {
                "id": snapshot.id,
                "at": snapshot.at,
                "author_id": snapshot.author_id,
                "media_type": snapshot.media_type,
                "size": snapshot.size,
                "file": file,
            }
        )
    await archive.add_json(folder + "snapshots.json", shots)
    recorded = await _add_recordings(archive, folder, ctx, session)
    if recorded:
        counts["recordings"] += recorded
    rated = rules.rating_file(session, await rating.comment(ctx, session))
    if rated is not None:
        await archive.add_json(folder + "rating.json", rated)
    counts.update(sessions=1, chat_messages=len(chat), notes=int(bool(notes.text)),
                  snapshots=len(shots), ratings=int(rated is not None))  # fmt: skip


async def _add_recordings(
    archive: ArchiveWriter, folder: str, ctx: Context, session: SupportSession
) -> int:
    """The session's recordings, decrypted as they are written (WebM, a piece at a time),
    and ``recordings.json`` describing them with their timed events; how many files."""
    described: list[Mapping[str, object]] = []
    for_files = 0
    async for recording, about, sealed in recordings.exported(ctx, session):
        if sealed is not None:
            file = f"{folder}recordings/{recording.id}.webm"
            size = await archive.add_stream(file, sealed.pieces(0, sealed.length))
            about = {**about, "file": file, "webm_bytes": size}
            for_files += 1
        described.append(about)
    if described:
        await archive.add_json(folder + "recordings.json", described)
    return for_files


# -- the node's housekeeping ---------------------------------------------------------------

SWEEP_SECONDS = 3600.0


async def housekeeping(ctx: Context) -> None:
    """Run by every node until cancelled: fail the exports it was making when it last
    stopped, then remove expired exports every SWEEP_SECONDS."""
    await _logged(fail_interrupted(ctx))
    while True:
        await _logged(sweep(ctx))
        await asyncio.sleep(SWEEP_SECONDS)


async def _logged(step: Awaitable[object]) -> None:
    try:
        await step
    except Exception:
        log.exception("Tidying up exports failed; trying again later.")
