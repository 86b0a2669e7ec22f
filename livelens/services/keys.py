"""Master-key rotation. A new master key seals every account's data key and the
instance's derivation key anew; those keys themselves, and so everything sealed with
them, sign-ins, join links and PINs included, stay as they are."""

from __future__ import annotations

from dataclasses import dataclass, replace

from livelens.errors import LiveLensError
from livelens.services import audit, signing
from livelens.services.audit import Actor
from livelens.services.context import Context
from livelens.store.encryption import DecryptionError, WrappedKey


@dataclass(frozen=True)
class Resealed:
    master_key_id: str  # what everything is sealed with now
    accounts: int  # accounts whose data key was sealed anew
    unused: list[str]  # master keys nothing is sealed with any more


async def rotate(ctx: Context, actor: Actor) -> Resealed:
    """Put a new master key first in the key file, then reseal everything with it."""
    if ctx.settings.master_key:
        raise LiveLensError(
            "The master keys come from LIVELENS_MASTER_KEY: put a new id:key first in it "
            "on every node, restart them, then run `livelens keys reseal`."
        )
    rotated = ctx.keyring.rotated()
    rotated.save(ctx.settings.master_key_file)  # on disk before anything depends on it
    ctx.keyring = rotated
    return await reseal(ctx, actor)


async def reseal(ctx: Context, actor: Actor) -> Resealed:
    """Seal every account's data key and the derivation key with the current master key."""
    keyring = ctx.keyring
    count = 0
    for tenant_id in await ctx.store.list_tenant_ids():
        scope = ctx.store.scoped(tenant_id)
        tenant = await scope.get_tenant()
        if tenant is None or tenant.master_key_id == keyring.current_id:
            continue
        try:
            data_key = keyring.unwrap(
                tenant.id, WrappedKey(tenant.master_key_id, tenant.wrapped_data_key)
            )
        except DecryptionError as exc:
            raise LiveLensError(
                f"Cannot open the data key of account {tenant.name!r} ({exc}); nothing after "
                "it was resealed. Put its master key back in the keyring and run this again."
            ) from exc
        wrapped = keyring.wrap(tenant.id, data_key)
        await scope.save_tenant(
            replace(tenant, wrapped_data_key=wrapped.sealed, master_key_id=wrapped.master_key_id)
        )
        await audit.record(scope, "keys.resealed", actor, target=wrapped.master_key_id)
        count += 1
    await ctx.store.replace_derivation_key(keyring.wrap_derivation_key(ctx.derivation_key))
    await signing.reseal(ctx)  # the deletion certificates' key
    return Resealed(keyring.current_id, count, keyring.key_ids[1:])
