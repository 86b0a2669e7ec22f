"""The instance's Ed25519 signing key, for deletion certificates (lifecycle.certificate).

Made once, by the first node that needs it, and kept in the store sealed by the master
keyring like the derivation key; master-key rotation reseals it (services.keys).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from livelens.errors import LiveLensError
from livelens.lifecycle import certificate
from livelens.services.context import Context
from livelens.store.encryption import DecryptionError

NAME = "signing"


async def instance_key(ctx: Context) -> Ed25519PrivateKey:
    """The instance's signing key, made and stored on first use (of nodes making it at
    once, all get the one stored first)."""
    fresh = Ed25519PrivateKey.generate().private_bytes_raw()
    wrapped = await ctx.store.signing_key(ctx.keyring.wrap_instance_key(NAME, fresh))
    try:
        raw = ctx.keyring.unwrap_instance_key(NAME, wrapped)
    except DecryptionError as exc:
        raise LiveLensError(
            f"Cannot open the instance's signing key (master key {wrapped.master_key_id}: "
            f"{exc}). Check LIVELENS_MASTER_KEY or the key file."
        ) from exc
    return Ed25519PrivateKey.from_private_bytes(raw)


async def public_view(ctx: Context) -> dict[str, str]:
    """The public half, its fingerprint and the instance id, as published."""
    key = await instance_key(ctx)
    return certificate.instance_view(certificate.public_bytes(key))


async def reseal(ctx: Context) -> None:
    """Seal the signing key with the current master key."""
    key = await instance_key(ctx)
    raw = key.private_bytes_raw()
    await ctx.store.replace_signing_key(ctx.keyring.wrap_instance_key(NAME, raw))
