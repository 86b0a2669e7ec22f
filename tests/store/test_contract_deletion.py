"""The store contract for deletion and retention, on every engine (see conftest.py):
session keys, deleting a session's items and record, deleting a whole account, the
sessions the retention job looks at, the instance's signing key, its deletion records,
and leases."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from livelens.errors import Conflict, InvalidInput
from livelens.store import Store, open_store
from livelens.store.encryption import WrappedKey
from livelens.store.records import DeletionRecord, Lease, SessionKey, new_id
from tests.store.test_contract import (
    NOW,
    make_event,
    make_item,
    make_security_event,
    make_session,
    make_support_session,
    make_tenant,
    make_user,
    new_tenant,
)


def make_key(tenant_id: str, session_id: str) -> SessionKey:
    return SessionKey(session_id, tenant_id, b"\x01sealed-key\x00" + session_id.encode(), NOW)


# --- session keys ---


async def test_session_keys_are_kept_found_deleted_and_per_account(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    key = make_key(acme.tenant_id, new_id())
    await acme.create_session_key(key)
    assert await acme.get_session_key(key.id) == key
    assert await other.get_session_key(key.id) is None  # another account sees nothing
    with pytest.raises(Conflict):  # a session has one key
        await acme.create_session_key(dataclasses.replace(key, sealed=b"\x02other"))
    with pytest.raises(Conflict):  # and its id is taken on the whole instance
        await other.create_session_key(dataclasses.replace(key, tenant_id=other.tenant_id))
    with pytest.raises(InvalidInput):
        await acme.create_session_key(make_key(other.tenant_id, new_id()))

    assert await other.delete_session_key(key.id) is False  # not theirs to shred
    assert await acme.get_session_key(key.id) == key
    assert await acme.delete_session_key(key.id) is True
    assert await acme.get_session_key(key.id) is None
    assert await acme.delete_session_key(key.id) is False


# --- deleting a session ---


async def test_deleting_a_sessions_items_counts_them_by_kind(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    session, kept = new_id(), new_id()
    for kind in ("chat", "chat", "snapshot", "note"):
        await acme.put_session_item(make_item(acme.tenant_id, session, kind))
    await acme.put_session_item(make_item(acme.tenant_id, kept, "chat"))

    assert await other.delete_session_items(session) == {}  # another account's: untouched
    assert len(await acme.list_session_items(session)) == 4
    assert await acme.delete_session_items(session) == {"chat": 2, "snapshot": 1, "note": 1}
    assert await acme.list_session_items(session) == []
    assert len(await acme.list_session_items(kept)) == 1  # the other session's stay
    assert await acme.delete_session_items(session) == {}


async def test_deleting_a_support_session_record(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    session = make_support_session(acme.tenant_id)
    await acme.create_support_session(session)
    assert await other.delete_support_session(session.id) is False
    assert await acme.delete_support_session(session.id) is True
    assert await acme.get_support_session(session.id) is None
    assert await store.locate_join_token(session.join_token_hash) is None
    assert await acme.delete_support_session(session.id) is False


# --- what the retention job looks at ---


async def test_sessions_to_purge_are_old_unpurged_oldest_first_and_paged(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    old = [make_support_session(acme.tenant_id, created_at=NOW + i) for i in (3, 1, 2)]
    tied = make_support_session(acme.tenant_id, created_at=NOW + 1, id="f" * 32)
    purged = make_support_session(acme.tenant_id, created_at=NOW, purged_at=NOW + 50)
    recent = make_support_session(acme.tenant_id, created_at=NOW + 100)
    for session in [*old, tied, purged, recent]:
        await acme.create_support_session(session)
    await other.create_support_session(make_support_session(other.tenant_id, created_at=NOW))

    expected = [old[1], tied, old[2], old[0]]  # by creation, ties by id
    assert [s.id for s in await acme.list_sessions_to_purge(NOW + 100, 10)] == [
        s.id for s in expected
    ]
    first = await acme.list_sessions_to_purge(NOW + 100, 2)
    assert first == expected[:2]
    rest = await acme.list_sessions_to_purge(NOW + 100, 2, (first[-1].created_at, first[-1].id))
    assert rest == expected[2:]
    assert await acme.list_sessions_to_purge(NOW + 1, 10) == []  # created before: strictly
    assert await acme.list_sessions_to_purge(NOW + 100, 0) == []

    marked = await acme.save_support_session(dataclasses.replace(old[1], purged_at=NOW + 200))
    assert marked.id not in [s.id for s in await acme.list_sessions_to_purge(NOW + 100, 10)]


# --- deleting an account ---


async def test_deleting_an_account_removes_its_records_and_nobody_elses(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    for scope in (acme, other):
        tid = scope.tenant_id
        user = make_user(tid, f"sam@{tid}.example")
        await scope.create_user(user)
        await scope.create_auth_session(make_session(tid, user.id))
        await scope.add_audit_event(make_event(tid))
        session = make_support_session(tid)
        await scope.create_support_session(session)
        await scope.create_session_key(make_key(tid, session.id))
        await scope.put_session_item(make_item(tid, session.id, "chat"))
        await scope.put_session_item(make_item(tid, session.id, "snapshot"))
        await store.add_security_event(make_security_event(tid))
    record = DeletionRecord(new_id(), NOW, "session", acme.tenant_id, "Acme", "a@acme.example")
    await store.add_deletion_record(record)

    counts = await acme.delete_account()
    assert {k: v for k, v in counts.items() if v} == {
        "users": 1, "auth_sessions": 1, "audit_events": 1, "support_sessions": 1,
        "session_keys": 1, "session_items": 2, "security_events": 1, "tenants": 1,
    }  # fmt: skip
    assert await acme.get_tenant() is None
    assert await store.list_tenant_ids() == [other.tenant_id]
    assert await acme.list_users() == []
    assert await store.locate_email(f"sam@{acme.tenant_id}.example") is None
    assert await acme.list_audit_events() == []
    assert await acme.list_security_events() == []
    assert await acme.list_support_sessions() == []
    # The other account is untouched, and the instance's record of deletions stays.
    assert len(await other.list_users()) == 1
    assert len(await other.list_support_sessions()) == 1
    assert len(await other.list_audit_events()) == 1
    assert len(await other.list_security_events()) == 1
    assert await store.list_deletion_records() == [record]
    assert await acme.delete_account() == dict.fromkeys(counts, 0)
    await store.forget_deleted()  # nothing to check but that it runs


# --- the instance's signing key and deletion records ---


async def test_the_first_stored_signing_key_is_everyones(store: Store) -> None:
    first = WrappedKey("mk-1", b"\x01first")
    assert await store.signing_key(first) == first
    assert await store.signing_key(WrappedKey("mk-1", b"\x01second")) == first
    assert await store.derivation_key(WrappedKey("mk-1", b"\x01d")) == WrappedKey(
        "mk-1", b"\x01d"
    )  # a key of its own
    resealed = WrappedKey("mk-2", b"\x01resealed")
    await store.replace_signing_key(resealed)
    assert await store.signing_key(first) == resealed


async def test_deletion_records_newest_first_with_limit(store: Store) -> None:
    records = [
        DeletionRecord(new_id(), NOW + at, "retention", "acme", "Acme", "system",
                       session_ids=("s1",), counts={"sessions": 1})
        for at in (1, 3, 2, 3)
    ]  # fmt: skip
    for record in records:
        await store.add_deletion_record(record)
    newest = await store.list_deletion_records()
    assert newest == [records[3], records[1], records[2], records[0]]  # ties: last first
    assert await store.list_deletion_records(2) == newest[:2]
    assert await store.list_deletion_records(0) == []
    with pytest.raises(Conflict):
        await store.add_deletion_record(records[0])


# --- leases ---


async def test_lease_terms_are_taken_once_and_the_newest_is_current(store: Store) -> None:
    assert await store.current_lease("retention") is None
    first = Lease("retention", 1, "node-a", NOW + 60)
    assert await store.take_lease(first) is True
    assert await store.take_lease(dataclasses.replace(first, holder="node-b")) is False
    assert await store.current_lease("retention") == first
    assert await store.current_lease("other") is None
    for term in (2, 3, 4):
        assert await store.take_lease(Lease("retention", term, "node-b", NOW + term))
    assert await store.current_lease("retention") == Lease("retention", 4, "node-b", NOW + 4)
    # Old terms are forgotten: term 1 could be taken again, but it is not the current one.
    assert await store.take_lease(first) is True
    assert await store.current_lease("retention") == Lease("retention", 4, "node-b", NOW + 4)


async def test_a_lease_term_is_taken_by_exactly_one_of_many_nodes(
    store: Store, store_url: str
) -> None:
    nodes = [await open_store(store_url) for _ in range(4)]
    try:
        taken = await asyncio.gather(
            *(node.take_lease(Lease("retention", 7, f"node-{i}", NOW + 60))
              for i, node in enumerate(nodes) for _ in range(3))
        )  # fmt: skip
        assert taken.count(True) == 1
        current = await store.current_lease("retention")
        assert current is not None and current.term == 7
    finally:
        for node in nodes:
            await node.close()


async def test_an_account_named_in_deletion_records_can_be_made_again(store: Store) -> None:
    tenant = make_tenant("Acme")
    await store.create_tenant(tenant)
    await store.scoped(tenant.id).delete_account()
    await store.create_tenant(make_tenant("Acme"))  # the name is free again
