"""Each support session's own data key, so that one session can be crypto-shredded.

A new session gets a random 256-bit key, kept in the store sealed with the account's
data key (``session/<id>/key``): the account's key stays the one thing the master key
seals (rotation reseals nothing more), and destroying the account's key makes every
session key of the account unreadable at once. What the session holds — chat,
snapshots, notes, the customer's name and rating comment — is sealed with the
session's key (with the same associated data as before); deleting the key record
(services.deletion) leaves it all unreadable, wherever copies of it are.

Sessions created before sessions had keys (``own_key`` false) keep using the account's
key, for sealing and opening alike.
"""

from __future__ import annotations

from livelens import clock
from livelens.errors import NotFound
from livelens.services.context import Context
from livelens.store.encryption import AccountCipher, new_data_key
from livelens.store.records import SessionKey, SupportSession, Tenant


class ContentDeleted(NotFound, code="content_deleted"):
    """The session's key was destroyed: its content was deleted."""


def _purpose(session_id: str) -> str:
    return f"session/{session_id}/key"


async def create(ctx: Context, tenant: Tenant, session_id: str) -> AccountCipher:
    """A new key for the session ``session_id`` (stored before the session is), and the
    cipher that seals with it."""
    data_key = new_data_key()
    sealed = ctx.cipher(tenant).seal(data_key, _purpose(session_id))
    await ctx.store.scoped(tenant.id).create_session_key(
        SessionKey(session_id, tenant.id, sealed, clock.now())
    )
    return AccountCipher(tenant.id, data_key)


async def _stored(ctx: Context, tenant_id: str, session_id: str) -> AccountCipher | None:
    key = await ctx.store.scoped(tenant_id).get_session_key(session_id)
    if key is None:
        return None
    account = await ctx.cipher_of(tenant_id)
    return AccountCipher(tenant_id, account.open(key.sealed, _purpose(session_id)))


async def cipher_for(ctx: Context, session: SupportSession) -> AccountCipher:
    """The cipher that seals and opens the session's content; raises ContentDeleted once
    its key is destroyed (nothing new is sealed for a deleted session)."""
    if not session.own_key:
        return await ctx.cipher_of(session.tenant_id)
    cipher = await _stored(ctx, session.tenant_id, session.id)
    if cipher is None:
        raise ContentDeleted("This session's content has been deleted.")
    return cipher


async def opener_of(ctx: Context, tenant_id: str, session_id: str) -> AccountCipher:
    """The cipher that opens a session's items when only its id is at hand: its own key
    if it has one, else the account's (a session from before session keys, or one whose
    key is destroyed: then nothing opens)."""
    return await _stored(ctx, tenant_id, session_id) or await ctx.cipher_of(tenant_id)
