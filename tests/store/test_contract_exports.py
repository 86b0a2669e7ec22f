"""The store contract for export jobs, on every engine (see conftest.py): kept per
account, listed newest first (all, or one user's), changed, removed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from livelens.errors import Conflict, InvalidInput, NotFound
from livelens.store import Store
from livelens.store.records import ExportJob, new_id
from tests.store.test_contract import NOW, new_tenant


def make_job(tenant_id: str, requested_by: str = "admin-1", **changes: Any) -> ExportJob:
    job = ExportJob(id=new_id(), tenant_id=tenant_id, scope="account", requested_by=requested_by,
                    created_at=NOW, expires_at=NOW + 7 * 86400)  # fmt: skip
    return dataclasses.replace(job, **changes)


async def test_export_jobs_are_kept_listed_changed_and_deleted(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    first = make_job(acme.tenant_id, created_at=NOW)
    later = make_job(acme.tenant_id, "agent-1", scope="session", session_id="s1",
                     created_at=NOW + 5)  # fmt: skip
    tied = make_job(acme.tenant_id, created_at=NOW, id="f" * 32)
    for job in (first, later, tied):
        await acme.create_export_job(job)

    assert await acme.get_export_job(first.id) == first
    # Newest first, ties by id (descending).
    assert await acme.list_export_jobs() == [later, *sorted([first, tied], key=lambda j: j.id,
                                                            reverse=True)]  # fmt: skip
    assert await acme.list_export_jobs("agent-1") == [later]
    assert await acme.list_export_jobs("nobody") == []

    ready = dataclasses.replace(first, state="ready", finished_at=NOW + 9, size=4096,
                                file_name="livelens-acme.zip")  # fmt: skip
    await acme.save_export_job(ready)
    assert await acme.get_export_job(first.id) == ready

    assert await acme.delete_export_job(first.id) is True
    assert await acme.delete_export_job(first.id) is False
    assert await acme.get_export_job(first.id) is None
    with pytest.raises(NotFound):
        await acme.save_export_job(ready)


async def test_export_jobs_are_isolated_between_tenants(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    globex = await new_tenant(store, "Globex")
    job = make_job(acme.tenant_id)
    await acme.create_export_job(job)

    assert await globex.get_export_job(job.id) is None
    assert await globex.list_export_jobs() == []
    assert await globex.delete_export_job(job.id) is False
    with pytest.raises(InvalidInput):
        await globex.create_export_job(job)
    with pytest.raises(InvalidInput):
        await globex.save_export_job(dataclasses.replace(job, state="failed"))
    # Another account's id is refused, not taken over.
    with pytest.raises(Conflict):
        await globex.create_export_job(dataclasses.replace(job, tenant_id=globex.tenant_id))
    with pytest.raises(NotFound):
        await globex.save_export_job(dataclasses.replace(job, tenant_id=globex.tenant_id))
    assert await acme.get_export_job(job.id) == job


async def test_duplicate_export_job_id_is_conflict(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    job = make_job(acme.tenant_id)
    await acme.create_export_job(job)
    with pytest.raises(Conflict):
        await acme.create_export_job(dataclasses.replace(job, scope="session"))
    assert await acme.get_export_job(job.id) == job
