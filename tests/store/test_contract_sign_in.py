"""The store contract for a user's last sign-in, on every engine (see conftest.py):
written alone, so it neither undoes nor is undone by another change of the user."""

from __future__ import annotations

import dataclasses

from livelens.store import Store
from tests.store.test_contract import NOW, make_user, new_tenant


async def test_a_sign_in_is_noted_on_the_user_alone(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    sam = make_user(acme.tenant_id, "sam@acme.example")
    await acme.create_user(sam)
    assert (await acme.get_user(sam.id)).last_sign_in_at is None  # type: ignore[union-attr]

    assert await acme.note_sign_in(sam.id, NOW + 5) is True
    assert await acme.get_user(sam.id) == dataclasses.replace(sam, last_sign_in_at=NOW + 5)
    # A change of the user saved since the sign-in read it stays: only the time moves.
    renamed = dataclasses.replace(sam, display_name="Sam", updated_at=NOW + 6,
                                  last_sign_in_at=NOW + 5)  # fmt: skip
    await acme.save_user(renamed)
    assert await acme.note_sign_in(sam.id, NOW + 9) is True
    assert await acme.get_user(sam.id) == dataclasses.replace(renamed, last_sign_in_at=NOW + 9)
    assert [u.last_sign_in_at for u in await acme.list_users()] == [NOW + 9]


async def test_a_sign_in_is_noted_only_in_the_users_account(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    sam = make_user(acme.tenant_id, "sam@acme.example")
    await acme.create_user(sam)
    assert await other.note_sign_in(sam.id, NOW) is False
    assert await acme.note_sign_in("nobody", NOW) is False
    assert (await acme.get_user(sam.id)).last_sign_in_at is None  # type: ignore[union-attr]
