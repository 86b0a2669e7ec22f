"""Master keys: putting a new key first (rotation) changes nothing users hold."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from livelens.config import Settings
from livelens.errors import LiveLensError
from livelens.server import open_context
from livelens.services import accounts, keys, support
from livelens.services.audit import CLI
from livelens.services.context import Context
from livelens.store.encryption import MasterKeyring
from tests.api.harness import PASSWORD

LABELS = ("cookies", "join", "login-guard")


async def node(tmp_path: Path, store_url: str, keyring: MasterKeyring) -> Context:
    settings = Settings(data_dir=tmp_path, store_url=store_url, master_key=keyring.serialise())
    return await open_context(settings)


async def test_a_new_master_key_first_keeps_cookies_join_links_and_accounts(
    tmp_path: Path, store_url: str
) -> None:
    old = MasterKeyring([("k1", secrets.token_bytes(32))])
    before = await node(tmp_path, store_url, old)
    try:
        # The first start keeps what secrets were derived from before the derivation key
        # had a place of its own (the current master key): an upgrade signs nobody out.
        assert before.derivation_key == old.current_key()
        derived = {label: before.derived_secret(label) for label in LABELS}
        token = support.token_hash(before, "a-join-token")
        acme, _ = await accounts.create_tenant(
            before, "Acme", "eu", "boss@acme.test", PASSWORD, CLI
        )
        sealed = before.cipher(acme).seal(b"note", "test/note")
    finally:
        await before.store.close()

    rotated = old.rotated()
    after = await node(tmp_path, store_url, rotated)
    try:
        # Sign-in cookies, join links, PINs and sign-in guards hash as before...
        assert {label: after.derived_secret(label) for label in LABELS} == derived
        assert support.token_hash(after, "a-join-token") == token
        # ...the account made before still opens with its old key, and a new account
        # is sealed with the new one.
        acme_now = await after.store.scoped(acme.id).get_tenant()
        assert acme_now is not None
        assert after.cipher(acme_now).open(sealed, "test/note") == b"note"
        globex, _ = await accounts.create_tenant(
            after, "Globex", "us", "boss@globex.test", PASSWORD, CLI
        )
        assert globex.master_key_id == rotated.current_id != "k1"
    finally:
        await after.store.close()

    # A node without the master key the derivation key is sealed with does not start.
    stranger = MasterKeyring([("k9", secrets.token_bytes(32))])
    with pytest.raises(LiveLensError, match="derivation key"):
        await node(tmp_path, store_url, stranger)


async def test_rotate_reseals_everything_so_the_old_key_can_go(
    tmp_path: Path, store_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, store_url=store_url)  # keys in the key file
    ctx = await open_context(settings)
    try:
        old_id = ctx.keyring.current_id
        derived = {label: ctx.derived_secret(label) for label in LABELS}
        acme, _ = await accounts.create_tenant(ctx, "Acme", "eu", "boss@acme.test", PASSWORD, CLI)
        sealed = ctx.cipher(acme).seal(b"note", "test/note")
        running = await open_context(settings)  # a server that was up all along
        try:
            done = await keys.rotate(ctx, CLI)
            acme_now = await running.store.scoped(acme.id).get_tenant()
            assert acme_now is not None
            # It finds the new key in the file the first time it needs it.
            assert running.cipher(acme_now).open(sealed, "test/note") == b"note"
        finally:
            await running.store.close()
        assert (done.accounts, done.unused) == (1, [old_id])
        assert MasterKeyring.parse(settings.master_key_file.read_text()).key_ids == [
            done.master_key_id,
            old_id,
        ]
        events = await ctx.store.scoped(acme.id).list_audit_events()
        assert events[0].action == "keys.resealed"
        assert events[0].target == done.master_key_id
    finally:
        await ctx.store.close()

    # Nothing needs the old key any more: without it, the account and every derived
    # secret open as before.
    current = MasterKeyring.parse(settings.master_key_file.read_text())
    alone = MasterKeyring([(current.current_id, current.current_key())])
    after = await node(tmp_path, store_url, alone)
    try:
        assert {label: after.derived_secret(label) for label in LABELS} == derived
        acme_now = await after.store.scoped(acme.id).get_tenant()
        assert acme_now is not None
        assert acme_now.master_key_id == alone.current_id
        assert after.cipher(acme_now).open(sealed, "test/note") == b"note"
    finally:
        await after.store.close()


async def test_keys_from_the_environment_are_resealed_not_rotated(
    tmp_path: Path, store_url: str
) -> None:
    old = MasterKeyring([("k1", secrets.token_bytes(32))])
    ctx = await node(tmp_path, store_url, old)
    try:
        await accounts.create_tenant(ctx, "Acme", "eu", "boss@acme.test", PASSWORD, CLI)
        with pytest.raises(LiveLensError, match="LIVELENS_MASTER_KEY"):
            await keys.rotate(ctx, CLI)  # the process cannot change its environment
    finally:
        await ctx.store.close()
    ring = old.rotated()  # what the operator puts in LIVELENS_MASTER_KEY
    ctx = await node(tmp_path, store_url, ring)
    try:
        done = await keys.reseal(ctx, CLI)
        assert (done.master_key_id, done.accounts, done.unused) == (ring.current_id, 1, ["k1"])
        again = await keys.reseal(ctx, CLI)
        assert again.accounts == 0  # idempotent
    finally:
        await ctx.store.close()
    alone = MasterKeyring([(ring.current_id, ring.current_key())])
    await (await node(tmp_path, store_url, alone)).store.close()  # starts without k1
