"""API keys: named keys an account's administrators make for programs that read the
account's reports (GET /api/reports/...), and nothing else.

A key is shown once, when it is made. The store keeps its keyed hash only (HMAC-SHA-256
with a secret derived from the instance's derivation key, as join tokens are), so
neither a copy of the store nor its backups can be used to call the API. A request
presents the key as ``Authorization: Bearer llk_...``; the prefix tells a LiveLens key
from other bearer tokens (a proxy's), and lets secret scanners recognise one that
leaked. Making and revoking a key are in the audit log, never the key itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from livelens import clock
from livelens.errors import InvalidInput, NotAuthenticated, NotFound
from livelens.identity.roles import Permission, require
from livelens.services import audit, security
from livelens.services.audit import Actor
from livelens.services.auth import Principal
from livelens.services.context import Context
from livelens.services.support import CASE_TEXT_PATTERN, MAX_CASE_TEXT, case_text
from livelens.signalling import join
from livelens.store.records import ApiKey, Tenant, new_id

PREFIX = "llk_"
_SECRET_BYTES = 32  # 43 characters of URL-safe base64 after the prefix


def _name_pattern() -> str:
    """The rule for names (support.case_text, and not empty once trimmed) as a JSON
    Schema pattern, made from the published rule for case texts: spaces, then 1 to
    MAX_CASE_TEXT characters that start and end with one that is no space, then spaces."""
    parts = re.fullmatch(r"\^(\[[^]]*\])\*(\[\^[^]]*\])\{0,\d+\}\[[^]]*\]\*\$", CASE_TEXT_PATTERN)
    assert parts is not None, CASE_TEXT_PATTERN
    spaces, text = parts[1], parts[2]
    edge = f"[^{text[2:-1]}{spaces[1:-1]}]"  # neither refused nor a space
    return f"^{spaces}*{edge}(?:{text}{{0,{MAX_CASE_TEXT - 2}}}{edge})?{spaces}*$"


NAME_PATTERN = _name_pattern()


@dataclass(frozen=True)
class KeyHolder:
    """The caller of a request made with an API key: the key and its account."""

    key: ApiKey
    tenant: Tenant


def is_api_key(credential: str) -> bool:
    """Whether a bearer credential is meant as a LiveLens API key (it may still be a
    wrong one)."""
    return credential.startswith(PREFIX)


def _looks_right(credential: str) -> bool:
    secret = credential[len(PREFIX) :]
    return 20 <= len(secret) <= 64 and all(c.isalnum() or c in "-_" for c in secret)


def key_hash(ctx: Context, credential: str) -> str:
    return join.keyed_hash(ctx.derived_secret("api-keys"), "api-key", credential)


async def create(ctx: Context, principal: Principal, name: str, ip: str) -> tuple[ApiKey, str]:
    """A new key of the principal's account, and the key itself (shown this once)."""
    require(principal.user.role, Permission.MANAGE_ACCOUNT)
    label = case_text(name, "name")
    if label is None:
        raise InvalidInput("Give the key a name: what it is for.")
    credential = PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    key = ApiKey(
        id=new_id(),
        tenant_id=principal.tenant.id,
        name=label,
        key_hash=key_hash(ctx, credential),
        created_at=clock.now(),
        created_by=principal.user.id,
    )
    scope = ctx.store.scoped(principal.tenant.id)
    await scope.create_api_key(key)
    await audit.record(scope, "api_key.created", Actor.of(principal.user, ip), target=key.id,
                       name=key.name)  # fmt: skip
    return key, credential


async def list_keys(ctx: Context, principal: Principal) -> list[ApiKey]:
    require(principal.user.role, Permission.MANAGE_ACCOUNT)
    return await ctx.store.scoped(principal.tenant.id).list_api_keys()


async def revoke(ctx: Context, principal: Principal, key_id: str, ip: str) -> None:
    """Revoke (delete) a key of the principal's account: refused at once from then on.
    Another account's key answers as one that does not exist."""
    require(principal.user.role, Permission.MANAGE_ACCOUNT)
    scope = ctx.store.scoped(principal.tenant.id)
    key = await scope.get_api_key(key_id)
    if key is None or not await scope.delete_api_key(key_id):
        raise NotFound("No such API key.")
    await audit.record(scope, "api_key.revoked", Actor.of(principal.user, ip), target=key.id,
                       name=key.name)  # fmt: skip


async def authenticate(ctx: Context, credential: str, ip: str) -> KeyHolder:
    """The holder of a presented key; NotAuthenticated (and a security event: a wrong
    or revoked key names no account) otherwise."""
    found = None
    if _looks_right(credential):
        found = await ctx.store.locate_api_key(key_hash(ctx, credential))
    if found is not None:
        scope = ctx.store.scoped(found[0])
        key, tenant = await scope.get_api_key(found[1]), await scope.get_tenant()
        if key is not None and tenant is not None:
            return KeyHolder(key, tenant)
    await security.record(ctx, "api_key.refused", ip)
    raise NotAuthenticated("This API key is not valid (wrong, or revoked).")
