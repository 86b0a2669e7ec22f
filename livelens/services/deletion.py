"""Deleting a support session or a whole account, at once, by crypto-shredding.

The data key that seals the content is destroyed first — a session's own key
(services.session_keys), or the account's, which seals every session key — so that
what stays anywhere (a backup of the store, a page of the file not yet overwritten)
no longer opens; then the records go. Whoever asked gets a deletion certificate signed
with the instance's key (lifecycle.certificate), and the instance keeps a record of the
deletion that holds no content and outlives the account (Store.add_deletion_record).

Sessions still running are not deleted (409 ``session_running``): their room holds the
record and would write it again. A session still waiting for its customer is looked at
through its room first, which ends it if its link ran out.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from livelens import clock
from livelens.errors import Conflict, InvalidInput, NotFound, StaleRecord
from livelens.lifecycle import certificate
from livelens.services import audit, export, live_sockets, signing, support
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.services.rooms import Rooms
from livelens.signalling import state
from livelens.store.records import DeletionKind, DeletionRecord, SupportSession, Tenant, new_id
from livelens.store.repository import SessionQuery, TenantStore

SAVE_ATTEMPTS = 3
PAGE = 200
RUNNING = ("joined", "consented", "live")  # a customer is (or was just) in it


class SessionRunning(Conflict, code="session_running"):
    """A session that has not ended cannot be deleted."""


async def _ended(ctx: Context, rooms: Rooms, session: SupportSession) -> SupportSession:
    """The session as it is now, its room having looked at the clock; raises
    SessionRunning unless it has ended."""
    if session.status == "ended":
        return session
    try:
        await rooms.open(session.tenant_id, session.id)
    except state.SessionEnded:  # its link ran out, or it ended just now
        fresh = await ctx.store.scoped(session.tenant_id).get_support_session(session.id)
        if fresh is None:
            raise NotFound("No such session.") from None
        return fresh
    raise SessionRunning("This session is still running: end it first, then delete it.")


async def remove_session(
    ctx: Context, session: SupportSession, *, keep_record: bool
) -> dict[str, int]:
    """Shred the session's key, then delete its items and recordings, then its record
    (or, with ``keep_record``, clear what the record holds sealed and mark it purged).
    How many of each were deleted."""
    scope = ctx.store.scoped(session.tenant_id)
    shredded = await scope.delete_session_key(session.id)  # first: nothing opens after
    counts = dict(await scope.delete_session_items(session.id))
    counts["session_keys"] = int(shredded)
    # Recordings: their sealed files (or GridFS files) go with their records.
    if recorded := await scope.delete_recordings(session.id):
        counts["recordings"] = recorded
    # Export archives are plaintext files: the ones that hold this session go too.
    counts["exports"] = await export.forget(ctx, session.tenant_id, session.id)
    if keep_record:
        await _purge_record(scope, session)
    else:
        counts["support_sessions"] = int(await scope.delete_support_session(session.id))
    return counts


async def _purge_record(scope: TenantStore, session: SupportSession) -> None:
    for _ in range(SAVE_ATTEMPTS):
        purged = replace(session, customer_name=None, rating_comment=None, purged_at=clock.now())
        try:
            await scope.save_support_session(purged)
            return
        except StaleRecord:
            fresh = await scope.get_support_session(session.id)
            if fresh is None:
                return
            session = fresh
    raise StaleRecord("The session kept changing while its content was deleted; try again.")


def _who(actor: Actor, name: str | None = None) -> dict[str, str | None]:
    return {"user_id": actor.user_id, "email": actor.name, "name": name}


async def certify(
    ctx: Context, kind: DeletionKind, tenant: Tenant, counts: Mapping[str, int], actor: Actor,
    *, session_ids: tuple[str, ...] = (), actor_name: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Record the deletion at instance level; the signed certificate of it."""
    record = DeletionRecord(
        id=new_id(), at=clock.now(), kind=kind, account_id=tenant.id, account_name=tenant.name,
        actor=actor.name, actor_id=actor.user_id, session_ids=session_ids, counts=dict(counts),
    )  # fmt: skip
    await ctx.store.add_deletion_record(record)
    subject = {"account_id": tenant.id, "account_name": tenant.name}
    if len(session_ids) == 1:
        subject["session_id"] = session_ids[0]
    return certificate.issue(
        await signing.instance_key(ctx), certificate_id=record.id, kind=kind, subject=subject,
        counts=counts, at=record.at, by=_who(actor, actor_name),
    )  # fmt: skip


async def delete_session(
    ctx: Context, rooms: Rooms, principal: Principal, session_id: str, ip: str
) -> dict[str, Any]:
    """Delete one session (an agent with rights to it, or an administrator): its key,
    content and record. The signed certificate."""
    session = await support.get_for_agent(ctx, principal, session_id)  # 404 otherwise
    session = await _ended(ctx, rooms, session)
    counts = await remove_session(ctx, session, keep_record=False)
    actor = Actor.of(principal.user, ip)
    signed = await certify(ctx, "session", principal.tenant, counts, actor,
                           session_ids=(session.id,),
                           actor_name=principal.user.display_name)  # fmt: skip
    await audit.record(ctx.store.scoped(session.tenant_id), "session.deleted", actor,
                       target=session.id, certificate=signed["id"], **counts)  # fmt: skip
    await ctx.store.forget_deleted()
    return signed


async def delete_account(
    ctx: Context, rooms: Rooms, principal: Principal, confirm: str, ip: str
) -> dict[str, Any]:
    """Delete the principal's whole account (an administrator, who typed its name as
    ``confirm``): its data key, then every record of it. The signed certificate."""
    tenant = principal.tenant
    if confirm != tenant.name:
        raise InvalidInput("To confirm, type the account's name exactly as it is shown.",
                           field="confirm")  # fmt: skip
    scope = ctx.store.scoped(tenant.id)
    running = 0
    async for page in scope.stream_support_sessions(SessionQuery(oldest_first=True), PAGE):
        for session in page:
            if session.status in RUNNING:
                try:
                    await _ended(ctx, rooms, session)
                except SessionRunning:
                    running += 1
    if running:
        raise SessionRunning(f"{running} session(s) of this account are still running: end "
                             "them first, then delete the account.", running=running)  # fmt: skip
    users = await scope.list_users()
    # The account's data key goes first: every session key, and whatever else was sealed
    # with it, is unreadable from here on, even if what follows is cut short.
    await scope.save_tenant(replace(tenant, wrapped_data_key=secrets.token_bytes(60),
                                    master_key_id="shredded"))  # fmt: skip
    ctx.forget_cipher(tenant.id)
    exports = await export.forget(ctx, tenant.id)  # plaintext files, beyond the store's reach
    counts = {**await scope.delete_account(), "exports": exports}
    for user in users:  # their consoles and sessions close; their cookies no longer work
        await live_sockets.signed_out(ctx, tenant.id, user.id)
    signed = await certify(ctx, "account", tenant, counts, Actor.of(principal.user, ip),
                           actor_name=principal.user.display_name)  # fmt: skip
    await ctx.store.forget_deleted()
    return signed
