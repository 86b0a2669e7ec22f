"""The store contract for an account's alert hook, on every engine (see conftest.py): one
per account, replaced whole, counted in place by several nodes at once, isolated."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from typing import Any

import pytest

from livelens.errors import InvalidInput
from livelens.store import Store, open_store
from livelens.store.records import AlertHook, AlertTally, new_id
from tests.mongo_server import URL_ENV as MONGO_URL_ENV
from tests.store.test_contract import NOW, new_tenant


def make_hook(tenant_id: str, **changes: Any) -> AlertHook:
    hook = AlertHook(tenant_id=tenant_id, hook_id=new_id(), url="https://siem.example/hook",
                     secret=b"\x01sealed", created_at=NOW, created_by="admin-1")  # fmt: skip
    return dataclasses.replace(hook, **changes)


async def test_an_alert_hook_is_kept_replaced_and_removed(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    assert await acme.get_alert_hook() is None
    first = make_hook(acme.tenant_id)
    await acme.put_alert_hook(first)
    assert await acme.get_alert_hook() == first

    # Setting it again replaces the whole record, counts and all.
    await acme.count_alert_deliveries(first.hook_id, AlertTally(NOW + 1, delivered=2))
    second = make_hook(acme.tenant_id, url="https://other.example/x", secret=b"\x02new")
    await acme.put_alert_hook(second)
    assert await acme.get_alert_hook() == second

    assert await acme.delete_alert_hook() is True
    assert await acme.delete_alert_hook() is False
    assert await acme.get_alert_hook() is None


async def test_deliveries_are_counted_with_the_last_success_and_error(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    hook = make_hook(acme.tenant_id)
    await acme.put_alert_hook(hook)

    assert await acme.count_alert_deliveries(
        hook.hook_id, AlertTally(NOW + 1, failed=1, error="HTTP 500")
    )
    assert await acme.count_alert_deliveries(hook.hook_id, AlertTally(NOW + 2, delivered=1))
    assert await acme.count_alert_deliveries(hook.hook_id, AlertTally(NOW + 3, dropped=4))
    assert await acme.count_alert_deliveries(
        hook.hook_id, AlertTally(NOW + 4, failed=1, abandoned=1, error="timed out")
    )
    counted = await acme.get_alert_hook()
    assert counted == dataclasses.replace(
        hook, delivered=1, failed=2, abandoned=1, dropped=4, last_success_at=NOW + 2,
        last_error="timed out", last_error_at=NOW + 4,
    )  # fmt: skip


async def test_counts_for_a_replaced_or_removed_hook_are_not_counted(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    old, new = make_hook(acme.tenant_id), make_hook(acme.tenant_id)
    await acme.put_alert_hook(old)
    await acme.put_alert_hook(new)
    assert not await acme.count_alert_deliveries(old.hook_id, AlertTally(NOW, delivered=1))
    assert await acme.get_alert_hook() == new
    await acme.delete_alert_hook()
    assert not await acme.count_alert_deliveries(new.hook_id, AlertTally(NOW, delivered=1))


async def test_counts_from_several_nodes_at_once_all_add_up(store: Store, store_url: str) -> None:
    # On MongoDB only when LIVELENS_TEST_MONGO_URL names a real mongod: FerretDB 1.24 runs
    # an update as a query followed by a write, so concurrent $inc may lose counts there
    # (the limit stated on TenantStore.count_alert_deliveries).
    if store_url.startswith("mongodb") and not os.environ.get(MONGO_URL_ENV):
        pytest.skip(f"FerretDB has no atomic $inc; set {MONGO_URL_ENV}")
    acme = await new_tenant(store, "Acme")
    hook = make_hook(acme.tenant_id)
    await acme.put_alert_hook(hook)
    other = await open_store(store_url)  # a second node
    try:
        nodes = [acme, other.scoped(acme.tenant_id)]
        tally = AlertTally(NOW, delivered=1, failed=1, error="HTTP 502")
        await asyncio.gather(
            *(nodes[n % 2].count_alert_deliveries(hook.hook_id, tally) for n in range(20))
        )
    finally:
        await other.close()
    counted = await acme.get_alert_hook()
    assert counted is not None
    assert (counted.delivered, counted.failed) == (20, 20)


async def test_alert_hooks_are_isolated_between_tenants(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    globex = await new_tenant(store, "Globex")
    hook = make_hook(acme.tenant_id)
    await acme.put_alert_hook(hook)

    assert await globex.get_alert_hook() is None
    assert not await globex.count_alert_deliveries(hook.hook_id, AlertTally(NOW, delivered=1))
    assert await globex.delete_alert_hook() is False
    with pytest.raises(InvalidInput):
        await globex.put_alert_hook(hook)
    assert await acme.get_alert_hook() == hook


async def test_an_alert_hook_goes_with_its_account(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    await acme.put_alert_hook(make_hook(acme.tenant_id))
    counts = await acme.delete_account()
    assert counts["alert_hooks"] == 1
    assert await acme.get_alert_hook() is None
