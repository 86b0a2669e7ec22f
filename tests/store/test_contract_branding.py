"""The store contract for the branding of an account's customer page, on every engine
(see conftest.py): one per account, replaced whole, never another account's."""

from __future__ import annotations

import dataclasses

import pytest

from livelens.errors import InvalidInput
from livelens.store import Store, open_store
from livelens.store.records import Branding
from tests.store.test_contract import NOW, new_tenant

LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def test_an_account_has_no_branding_until_it_is_saved(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    assert await acme.get_branding() is None


async def test_branding_is_saved_and_replaced_whole(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    first = Branding(acme.tenant_id, NOW, display_name="Acme Care", accent_color="#0f766e",
                     logo=LOGO, logo_type="image/png")  # fmt: skip
    await acme.save_branding(first)
    assert await acme.get_branding() == first

    # A second save replaces every field: the logo removed, the name changed.
    second = dataclasses.replace(first, updated_at=NOW + 60, display_name="Acme",
                                 logo=None, logo_type="")  # fmt: skip
    await acme.save_branding(second)
    assert await acme.get_branding() == second


async def test_branding_belongs_to_one_account(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    mine = Branding(acme.tenant_id, NOW, display_name="Acme Care", logo=LOGO,
                    logo_type="image/png")  # fmt: skip
    await acme.save_branding(mine)

    assert await other.get_branding() is None
    with pytest.raises(InvalidInput):
        await other.save_branding(mine)
    theirs = Branding(other.tenant_id, NOW + 1, display_name="Other Inc")
    await other.save_branding(theirs)
    assert await acme.get_branding() == mine
    assert await other.get_branding() == theirs


async def test_branding_outlives_a_reopen(store_url: str) -> None:
    store = await open_store(store_url)
    acme = await new_tenant(store, "Acme")
    kept = Branding(acme.tenant_id, NOW, accent_color="#1d4ed8", logo=LOGO,
                    logo_type="image/jpeg")  # fmt: skip
    await acme.save_branding(kept)
    await store.close()
    reopened = await open_store(store_url)
    try:
        assert await reopened.scoped(acme.tenant_id).get_branding() == kept
    finally:
        await reopened.close()
