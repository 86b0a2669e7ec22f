"""The store contract, run unchanged against every engine (see conftest.py).

Whatever one engine does here, the other must do too: the services above the
store never know which one they talk to.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from livelens.errors import (
    Conflict,
    DuplicateEmail,
    DuplicateTenant,
    InvalidInput,
    NotFound,
    StoreUnavailable,
)
from livelens.store import Store, TenantStore, open_store
from livelens.store.records import AuditEvent, AuthSession, Tenant, User, new_id
from livelens.store.sqlite import SqliteStore

NOW = 1_800_000_000.0


# --- records ---


def make_tenant(name: str = "Acme Support", **changes: Any) -> Tenant:
    tenant = Tenant(
        id=new_id(),
        name=name,
        region="eu",
        created_at=NOW,
        wrapped_data_key=b"\x00sealed\xffkey\x00",
        master_key_id="mk-1",
    )
    return dataclasses.replace(tenant, **changes)


def make_user(tenant_id: str, email: str, **changes: Any) -> User:
    user = User(
        id=new_id(),
        tenant_id=tenant_id,
        email=email,
        role="agent",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        created_at=NOW,
        updated_at=NOW,
    )
    return dataclasses.replace(user, **changes)


def make_session(tenant_id: str, user_id: str, expires_at: float = NOW + 3600) -> AuthSession:
    return AuthSession(
        id=new_id(),
        tenant_id=tenant_id,
        user_id=user_id,
        created_at=NOW,
        expires_at=expires_at,
        ip="192.0.2.7",
        user_agent="Mozilla/5.0 (Android 14) Chrome/140",
    )


def make_event(tenant_id: str, at: float = NOW, action: str = "user.created") -> AuditEvent:
    return AuditEvent(
        id=new_id(),
        tenant_id=tenant_id,
        at=at,
        action=action,
        actor="admin@acme.example",
    )


async def new_tenant(store: Store, name: str) -> TenantStore:
    tenant = make_tenant(name)
    await store.create_tenant(tenant)
    return store.scoped(tenant.id)


@contextlib.contextmanager
def socket_closed_port() -> Iterator[int]:
    """A loopback port nothing listens on, for the lifetime of the block."""
    # Bound but not listening: connections are refused and nobody else can take it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


# --- accounts ---


async def test_tenant_round_trips_every_field(store: Store) -> None:
    tenant = make_tenant(require_totp=True, created_at=NOW + 0.25)
    await store.create_tenant(tenant)
    assert await store.scoped(tenant.id).get_tenant() == tenant
    assert await store.scoped(new_id()).get_tenant() is None


async def test_duplicate_tenant_name_is_rejected(store: Store) -> None:
    first = make_tenant("Acme")
    await store.create_tenant(first)
    with pytest.raises(DuplicateTenant):
        await store.create_tenant(make_tenant("Acme"))
    assert await store.list_tenant_ids() == [first.id]


async def test_save_tenant_replaces_and_keeps_names_unique(store: Store) -> None:
    acme = make_tenant("Acme")
    other = make_tenant("Other")
    await store.create_tenant(acme)
    await store.create_tenant(other)
    scope = store.scoped(acme.id)

    changed = dataclasses.replace(
        acme, name="Acme Ltd", require_totp=True, wrapped_data_key=b"\x01new", master_key_id="mk-2"
    )
    await scope.save_tenant(changed)
    assert await scope.get_tenant() == changed
    assert await store.find_tenant_id_by_name("Acme Ltd") == acme.id
    assert await store.find_tenant_id_by_name("Acme") is None

    with pytest.raises(DuplicateTenant):
        await scope.save_tenant(dataclasses.replace(changed, name="Other"))
    assert await scope.get_tenant() == changed


async def test_save_tenant_of_missing_account_is_not_found(store: Store) -> None:
    ghost = make_tenant("Ghost")
    with pytest.raises(NotFound):
        await store.scoped(ghost.id).save_tenant(ghost)
    assert await store.list_tenant_ids() == []


async def test_find_and_list_tenants(store: Store) -> None:
    assert await store.list_tenant_ids() == []
    assert await store.find_tenant_id_by_name("Acme") is None
    later = make_tenant("Later", created_at=NOW + 10)
    earlier = make_tenant("Earlier", created_at=NOW)
    await store.create_tenant(later)
    await store.create_tenant(earlier)
    assert await store.find_tenant_id_by_name("Later") == later.id
    assert await store.find_tenant_id_by_name("later") is None  # names are exact
    assert await store.list_tenant_ids() == [earlier.id, later.id]


# --- users ---


async def test_user_round_trips_every_field(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    full = make_user(
        scope.tenant_id,
        "admin@acme.example",
        role="admin",
        disabled=True,
        totp_secret=b"\x00secret\xff",
        totp_pending=b"\x00pending\x80",
        recovery_codes=("a" * 64, "b" * 64),
        created_at=NOW + 0.5,
        updated_at=NOW + 1.75,
    )
    bare = make_user(scope.tenant_id, "agent@acme.example", created_at=NOW + 1)
    await scope.create_user(full)
    await scope.create_user(bare)

    assert await scope.get_user(full.id) == full
    assert await scope.get_user(bare.id) == bare
    got = await scope.get_user(bare.id)
    assert got is not None
    assert got.totp_secret is None
    assert got.recovery_codes == ()
    assert await scope.find_user_by_email("admin@acme.example") == full
    assert await scope.find_user_by_email("nobody@acme.example") is None
    assert await scope.get_user(new_id()) is None
    assert await scope.list_users() == [full, bare]


async def test_duplicate_email_is_rejected_across_tenants(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    first = make_user(acme.tenant_id, "sam@example.com")
    await acme.create_user(first)

    with pytest.raises(DuplicateEmail):
        await acme.create_user(make_user(acme.tenant_id, "sam@example.com"))
    with pytest.raises(DuplicateEmail):
        await other.create_user(make_user(other.tenant_id, "sam@example.com"))

    assert await store.locate_email("sam@example.com") == acme.tenant_id
    assert await other.list_users() == []
    assert await acme.list_users() == [first]


async def test_save_user_replaces_and_keeps_emails_unique(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    sam = make_user(scope.tenant_id, "sam@acme.example")
    kim = make_user(scope.tenant_id, "kim@acme.example")
    await scope.create_user(sam)
    await scope.create_user(kim)

    changed = dataclasses.replace(
        sam,
        email="samuel@acme.example",
        role="admin",
        disabled=True,
        totp_secret=b"\x02s",
        recovery_codes=("c" * 64,),
        updated_at=NOW + 5,
    )
    await scope.save_user(changed)
    assert await scope.get_user(sam.id) == changed
    assert await store.locate_email("samuel@acme.example") == scope.tenant_id
    assert await store.locate_email("sam@acme.example") is None

    cleared = dataclasses.replace(changed, totp_secret=None, recovery_codes=())
    await scope.save_user(cleared)
    assert await scope.get_user(sam.id) == cleared

    with pytest.raises(DuplicateEmail):
        await scope.save_user(dataclasses.replace(cleared, email="kim@acme.example"))
    assert await scope.get_user(sam.id) == cleared

    with pytest.raises(NotFound):
        await scope.save_user(make_user(scope.tenant_id, "new@acme.example"))
    assert await scope.find_user_by_email("new@acme.example") is None


async def test_delete_user(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    sam = make_user(scope.tenant_id, "sam@acme.example")
    await scope.create_user(sam)
    assert await scope.delete_user(sam.id) is True
    assert await scope.delete_user(sam.id) is False
    assert await scope.get_user(sam.id) is None
    assert await store.locate_email("sam@acme.example") is None
    # The address is free again.
    await scope.create_user(make_user(scope.tenant_id, "sam@acme.example"))


async def test_locate_email(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    await acme.create_user(make_user(acme.tenant_id, "a@acme.example"))
    await other.create_user(make_user(other.tenant_id, "b@other.example"))
    assert await store.locate_email("a@acme.example") == acme.tenant_id
    assert await store.locate_email("b@other.example") == other.tenant_id
    assert await store.locate_email("c@nowhere.example") is None


# --- tenant isolation ---


async def test_one_tenant_cannot_reach_another_tenants_users(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    sam = make_user(acme.tenant_id, "sam@acme.example")
    await acme.create_user(sam)

    assert await other.get_user(sam.id) is None
    assert await other.find_user_by_email("sam@acme.example") is None
    assert await other.list_users() == []
    assert await other.delete_user(sam.id) is False
    # Saving through B's scope, even with B's tenant id on the record, must not
    # touch A's row with the same id.
    with pytest.raises(NotFound):
        await other.save_user(dataclasses.replace(sam, tenant_id=other.tenant_id, role="admin"))

    assert await acme.get_user(sam.id) == sam
    assert await acme.list_users() == [sam]


async def test_one_tenant_cannot_reach_another_tenants_sessions(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    user_id = new_id()
    session = make_session(acme.tenant_id, user_id, expires_at=NOW - 1)
    await acme.create_auth_session(session)

    assert await other.get_auth_session(session.id) is None
    assert await other.delete_auth_session(session.id) is False
    assert await other.delete_user_auth_sessions(user_id) == 0
    assert await other.purge_expired_auth_sessions(NOW) == 0
    assert await acme.get_auth_session(session.id) == session


async def test_one_tenant_cannot_see_another_tenants_audit_events(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    event = make_event(acme.tenant_id)
    await acme.add_audit_event(event)
    assert await other.list_audit_events() == []
    assert await acme.list_audit_events() == [event]


async def test_one_tenant_cannot_see_another_tenant(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    acme_tenant = await acme.get_tenant()
    assert acme_tenant is not None
    with pytest.raises(InvalidInput):
        await other.save_tenant(dataclasses.replace(acme_tenant, name="Taken over"))
    assert await acme.get_tenant() == acme_tenant
    other_tenant = await other.get_tenant()
    assert other_tenant is not None
    assert other_tenant.name == "Other"


async def test_records_of_another_tenant_are_refused(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    sam = make_user(acme.tenant_id, "sam@acme.example")
    await acme.create_user(sam)

    with pytest.raises(InvalidInput):
        await other.create_user(make_user(acme.tenant_id, "kim@acme.example"))
    with pytest.raises(InvalidInput):
        await other.save_user(dataclasses.replace(sam, role="admin"))
    with pytest.raises(InvalidInput):
        await other.create_auth_session(make_session(acme.tenant_id, sam.id))
    with pytest.raises(InvalidInput):
        await other.add_audit_event(make_event(acme.tenant_id))

    assert await store.locate_email("kim@acme.example") is None
    assert await acme.get_user(sam.id) == sam
    assert await acme.list_audit_events() == []
    assert await other.list_audit_events() == []
    assert await acme.delete_user_auth_sessions(sam.id) == 0


async def test_reusing_another_tenants_record_id_is_refused(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    sam = make_user(acme.tenant_id, "sam@acme.example")
    session = make_session(acme.tenant_id, sam.id)
    await acme.create_user(sam)
    await acme.create_auth_session(session)

    with pytest.raises(Conflict) as caught:
        await other.create_user(dataclasses.replace(sam, tenant_id=other.tenant_id, email="x@o.ex"))
    assert not isinstance(caught.value, DuplicateEmail)
    with pytest.raises(Conflict):
        await other.create_auth_session(dataclasses.replace(session, tenant_id=other.tenant_id))

    assert await acme.get_user(sam.id) == sam
    assert await acme.get_auth_session(session.id) == session
    assert await other.list_users() == []
    assert await other.get_auth_session(session.id) is None


# --- signed-in browsers ---


async def test_auth_session_round_trip_and_delete(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    session = make_session(scope.tenant_id, new_id(), expires_at=NOW + 0.5)
    await scope.create_auth_session(session)
    assert await scope.get_auth_session(session.id) == session
    assert await scope.get_auth_session(new_id()) is None
    assert await scope.delete_auth_session(session.id) is True
    assert await scope.delete_auth_session(session.id) is False
    assert await scope.get_auth_session(session.id) is None


async def test_delete_user_auth_sessions_only_touches_that_user_in_that_tenant(
    store: Store,
) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    sam, kim = new_id(), new_id()
    sams = [make_session(acme.tenant_id, sam) for _ in range(3)]
    kims = make_session(acme.tenant_id, kim)
    # Same user id in another tenant: ids are opaque, isolation must not rely on them.
    elsewhere = make_session(other.tenant_id, sam)
    for session in [*sams, kims]:
        await acme.create_auth_session(session)
    await other.create_auth_session(elsewhere)

    assert await acme.delete_user_auth_sessions(sam) == 3
    assert await acme.delete_user_auth_sessions(sam) == 0
    assert all([await acme.get_auth_session(s.id) is None for s in sams])
    assert await acme.get_auth_session(kims.id) == kims
    assert await other.get_auth_session(elsewhere.id) == elsewhere


async def test_purge_removes_only_expired_sessions_of_the_tenant(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    user = new_id()
    expired = make_session(acme.tenant_id, user, expires_at=NOW - 60)
    at_now = make_session(acme.tenant_id, user, expires_at=NOW)  # expiry is inclusive
    live = make_session(acme.tenant_id, user, expires_at=NOW + 1)
    other_expired = make_session(other.tenant_id, user, expires_at=NOW - 60)
    for session in (expired, at_now, live):
        await acme.create_auth_session(session)
    await other.create_auth_session(other_expired)

    assert await acme.purge_expired_auth_sessions(NOW) == 2
    assert await acme.get_auth_session(expired.id) is None
    assert await acme.get_auth_session(at_now.id) is None
    assert await acme.get_auth_session(live.id) == live
    assert await other.get_auth_session(other_expired.id) == other_expired
    assert await acme.purge_expired_auth_sessions(NOW) == 0


# --- audit log ---


async def test_audit_event_round_trips_details(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    event = AuditEvent(
        id=new_id(),
        tenant_id=scope.tenant_id,
        at=NOW + 0.125,
        action="user.updated",
        actor="admin@acme.example",
        actor_id=new_id(),
        ip="2001:db8::1",
        target="sam@acme.example",
        details={"role": "admin", "count": 3, "ratio": 0.5, "whole": 2.0, "on": True, "gone": None},
    )
    bare = make_event(scope.tenant_id, at=NOW)
    await scope.add_audit_event(event)
    await scope.add_audit_event(bare)
    events = await scope.list_audit_events()
    assert events == [event, bare]
    # Equality alone would accept 2 for 2.0 and 1 for True.
    assert [type(v) for v in events[0].details.values()] == [
        str,
        int,
        float,
        float,
        bool,
        type(None),
    ]
    assert events[1].actor_id is None
    assert events[1].details == {}


async def test_audit_events_newest_first_with_limit(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    old = make_event(scope.tenant_id, at=NOW - 100, action="old")
    tied = [make_event(scope.tenant_id, at=NOW, action=f"tied.{i}") for i in range(3)]
    new = make_event(scope.tenant_id, at=NOW + 100, action="new")
    for event in (tied[0], new, old, tied[1], tied[2]):
        await scope.add_audit_event(event)

    # Same timestamp: the one stored last comes first.
    expected = [new, tied[2], tied[1], tied[0], old]
    assert await scope.list_audit_events() == expected
    assert await scope.list_audit_events(limit=2) == expected[:2]
    assert await scope.list_audit_events(limit=1) == expected[:1]
    assert await scope.list_audit_events(limit=0) == []


# --- sign-in guard ---


async def test_login_guard_counts_locks_and_clears(store: Store) -> None:
    key = "k-" + new_id()
    assert await store.get_login_guard(key) is None

    first = await store.add_login_failure(key)
    assert (first.key, first.failures, first.locked_until) == (key, 1, 0.0)
    second = await store.add_login_failure(key)
    assert second.failures == 2
    assert await store.get_login_guard(key) == second

    await store.lock_login(key, NOW + 300)
    locked = await store.get_login_guard(key)
    assert locked is not None
    assert (locked.failures, locked.locked_until) == (0, NOW + 300)

    after = await store.add_login_failure(key)
    assert (after.failures, after.locked_until) == (1, NOW + 300)

    other = await store.add_login_failure("k-other")
    assert other.failures == 1

    await store.clear_login_guard(key)
    assert await store.get_login_guard(key) is None
    still = await store.get_login_guard("k-other")
    assert still is not None
    assert still.failures == 1


async def test_lock_login_without_prior_failures(store: Store) -> None:
    await store.lock_login("fresh", NOW + 60)
    guard = await store.get_login_guard("fresh")
    assert guard is not None
    assert (guard.failures, guard.locked_until) == (0, NOW + 60)


async def test_login_failures_are_counted_atomically(store: Store, store_url: str) -> None:
    # Two store instances on the same data, like two LiveLens nodes (or the CLI
    # next to the server), racing on one address.
    second = await open_store(store_url)
    try:
        key = "k-" + new_id()
        attempts = [s.add_login_failure(key) for s in (store, second) for _ in range(10)]
        results = await asyncio.gather(*attempts)
    finally:
        await second.close()
    guard = await store.get_login_guard(key)
    assert guard is not None
    assert guard.failures == 20
    assert max(r.failures for r in results) == 20
    # Every failure saw at least its own increment.
    assert all(1 <= r.failures <= 20 for r in results)


# --- opening and persistence ---


async def test_data_persists_across_close_and_reopen(store_url: str) -> None:
    store = await open_store(store_url)
    scope = await new_tenant(store, "Acme")
    user = make_user(scope.tenant_id, "sam@acme.example", totp_secret=b"\x00\x01")
    await scope.create_user(user)
    await store.add_login_failure("k")
    await store.close()

    reopened = await open_store(store_url)
    try:
        await reopened.ping()
        assert await reopened.locate_email("sam@acme.example") == scope.tenant_id
        assert await reopened.scoped(scope.tenant_id).get_user(user.id) == user
        guard = await reopened.get_login_guard("k")
        assert guard is not None
        assert guard.failures == 1
        with pytest.raises(DuplicateTenant):
            await reopened.create_tenant(make_tenant("Acme"))
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    "url", ["redis://localhost/0", "postgres://db/livelens", "livelens.db", "", "sqlite:"]
)
async def test_open_store_rejects_unsupported_urls(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await open_store(url)
    assert "sqlite:///" in caught.value.message
    assert "mongodb://" in caught.value.message


async def test_open_store_rejects_relative_sqlite_path() -> None:
    with pytest.raises(InvalidInput):
        await open_store("sqlite://livelens.db")


async def test_unreachable_mongodb_fails_fast_with_one_line() -> None:
    with socket_closed_port() as port:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            await open_store(f"mongodb://user:hunter2@127.0.0.1:{port}/livelens")
        elapsed = time.monotonic() - started
    assert elapsed < 10  # default server selection timeout is 3 s, not PyMongo's 30 s
    message = caught.value.message
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message
    assert "hunter2" not in message
    assert len(message) < 400


async def test_bad_mongodb_url_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        await open_store("mongodb://127.0.0.1:notaport/")


# --- the embedded engine's own promises ---


@pytest.mark.parametrize("slashes", ["///", "////"])
async def test_sqlite_url_forms_name_the_same_absolute_file(tmp_path: Path, slashes: str) -> None:
    path = tmp_path / "nested" / "dir" / "x.db"
    store = await open_store(f"sqlite:{slashes}{str(path).lstrip('/')}")
    try:
        assert isinstance(store, SqliteStore)
        assert Path(store.path) == path
    finally:
        await store.close()
    assert path.exists()  # parent directories were created


async def test_sqlite_file_is_wal_with_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    store = await open_store(f"sqlite:///{path}")
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    conn.close()


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    await (await open_store(f"sqlite:///{path}")).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    conn.close()
    with pytest.raises(StoreUnavailable, match="999"):
        await open_store(f"sqlite:///{path}")


async def test_sqlite_unopenable_file_is_store_unavailable(tmp_path: Path) -> None:
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(f"sqlite:///{not_a_db}")
    assert "\n" not in caught.value.message

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreUnavailable):
        await open_store(f"sqlite:///{blocker}/sub/x.db")


async def test_sqlite_runs_queries_off_the_event_loop_thread(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "x.db"))
    try:
        loop_thread = threading.get_ident()
        worker = await store._run(lambda _conn: threading.get_ident())
        again = await store._run(lambda _conn: threading.get_ident())
        assert worker != loop_thread
        assert worker == again  # one dedicated thread owns the connection
    finally:
        await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()
