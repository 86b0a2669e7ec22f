"""The store contract, run unchanged against every engine (see conftest.py).

Whatever one engine does here, the other must do too: the services above the
store never know which one they talk to.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest

from livelens.errors import (
    Conflict,
    DuplicateEmail,
    DuplicateTenant,
    InvalidInput,
    NotFound,
    StaleRecord,
    StoreUnavailable,
)
from livelens.store import Store, TenantStore, open_store
from livelens.store.encryption import WrappedKey
from livelens.store.mongo import SCHEMA_VERSION as MONGO_SCHEMA_VERSION
from livelens.store.mongo import MongoStore
from livelens.store.records import (
    AlertHook,
    ApiKey,
    AuditEvent,
    AuthSession,
    Branding,
    DeletionRecord,
    ExportJob,
    Lease,
    LoginTicket,
    Outcome,
    Recording,
    SecurityEvent,
    SessionItem,
    SessionKey,
    SessionStatus,
    SupportSession,
    Tenant,
    User,
    new_id,
)
from livelens.store.repository import SessionQuery
from livelens.store.schema import (
    ALERT_HOOKS,
    API_KEYS,
    AUDIT_EVENTS,
    AUTH_SESSIONS,
    BRANDING,
    DELETION_RECORDS,
    EXPORT_JOBS,
    LEASES,
    LOGIN_TICKETS,
    RECORDINGS,
    SECURITY_EVENTS,
    SESSION_ITEMS,
    SESSION_KEYS,
    SUPPORT_SESSIONS,
    TABLES,
    TENANTS,
    USERS,
    Table,
)
from livelens.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from tests.mongo_server import URL_ENV as MONGO_URL_ENV
from tests.mongo_server import database_url, drop_database, unique_database

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
        display_name="Sam de Vries",
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


def make_support_session(
    tenant_id: str, agent_id: str = "agent-1", created_at: float = NOW, **changes: Any
) -> SupportSession:
    session = SupportSession(
        id=new_id(),
        tenant_id=tenant_id,
        agent_id=agent_id,
        created_at=created_at,
        join_expires_at=created_at + 600,
        join_token_hash="t" + new_id(),
        pin_hash="p" + new_id(),
    )
    return dataclasses.replace(session, **changes)


def make_security_event(
    tenant_id: str | None = None, at: float = NOW, kind: str = "join.bad_token"
) -> SecurityEvent:
    return SecurityEvent(id=new_id(), at=at, kind=kind, tenant_id=tenant_id)


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


async def test_tenant_policies_and_subscription_are_kept_and_changed(store: Store) -> None:
    tenant = make_tenant("Acme")
    await store.create_tenant(tenant)
    scope = store.scoped(tenant.id)
    got = await scope.get_tenant()
    assert got is not None  # a new account: everything on, no rating, no limits
    assert (got.two_way_audio, got.snapshots, got.chat, got.pin_joining) == (True,) * 4
    assert (got.recording, got.join_link_minutes, got.retention_days) == ("off", 15, 90)
    assert (got.customer_rating, got.seats, got.subscription_ends) == (False, None, None)
    changed = dataclasses.replace(
        got, chat=False, recording="always", join_link_minutes=60, seats=3,
        subscription_ends="2027-06-30",
    )  # fmt: skip
    await scope.save_tenant(changed)
    assert await scope.get_tenant() == changed
    back = dataclasses.replace(changed, seats=None, subscription_ends=None)  # unlimited again
    await scope.save_tenant(back)
    assert await scope.get_tenant() == back
    other = make_tenant("Globex")
    await store.create_tenant(other)
    assert await store.scoped(other.id).get_tenant() == other  # untouched


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


async def test_totp_steps_and_recovery_codes_are_claimed_once_across_nodes(
    store: Store, store_url: str
) -> None:
    # Two sign-ins racing with one code, on two nodes: the store admits exactly one.
    second = await open_store(store_url)
    try:
        scope = await new_tenant(store, "Acme")
        sam = make_user(scope.tenant_id, "sam@acme.example", recovery_codes=("a" * 64, "b" * 64))
        await scope.create_user(sam)
        scopes = [s.scoped(scope.tenant_id) for s in (store, second)] * 3
        steps = await asyncio.gather(*(s.claim_totp_step(sam.id, 7, NOW + 1) for s in scopes))
        codes = await asyncio.gather(
            *(s.consume_recovery_code(sam.id, "a" * 64, NOW + 2) for s in scopes)
        )
    finally:
        await second.close()
    assert steps.count(True) == 1
    assert codes.count(True) == 1
    assert await scope.get_user(sam.id) == dataclasses.replace(
        sam, totp_last_step=7, recovery_codes=("b" * 64,), updated_at=NOW + 2
    )
    # An older or equal step is spent; a newer one is not. Unknown codes and users fail.
    assert await scope.claim_totp_step(sam.id, 6, NOW) is False
    assert await scope.claim_totp_step(sam.id, 8, NOW) is True
    assert await scope.consume_recovery_code(sam.id, "c" * 64, NOW) is False
    assert await scope.consume_recovery_code(sam.id, "b" * 64, NOW) is True
    assert (await scope.get_user(sam.id)).recovery_codes == ()  # type: ignore[union-attr]
    assert await scope.claim_totp_step("nobody", 9, NOW) is False
    # Another account cannot spend this user's codes.
    other = await new_tenant(store, "Other")
    assert await other.claim_totp_step(sam.id, 99, NOW) is False


async def test_the_first_stored_derivation_key_is_everyones(store: Store, store_url: str) -> None:
    # Nodes starting together each offer one; all of them get the one stored first.
    second = await open_store(store_url)
    try:
        offers = [WrappedKey(f"k{i}", bytes([i]) * 60) for i in range(6)]
        stores = [store, second] * 3
        got = await asyncio.gather(
            *(s.derivation_key(o) for s, o in zip(stores, offers, strict=True))
        )
    finally:
        await second.close()
    assert len(set(got)) == 1
    assert got[0] in offers
    assert await store.derivation_key(WrappedKey("later", b"x" * 60)) == got[0]


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


# --- support sessions ---


async def test_support_session_round_trips_every_field(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    full = SupportSession(
        id=new_id(),
        tenant_id=scope.tenant_id,
        agent_id=new_id(),
        created_at=NOW + 0.25,
        join_expires_at=NOW + 600.5,
        join_token_hash="a" * 64,
        pin_hash="b" * 64,
        status="live",
        customer_device_hash="c" * 64,
        joined_at=NOW + 10.125,
        consent_at=NOW + 20.0,
        consent_scopes=("screen", "camera", "audio"),
        live_at=NOW + 21.5,
        ended_at=NOW + 99.75,
        outcome="completed",
        ended_by="agent",
        experts=(new_id(), new_id()),
        ended_by_user_id=new_id(),
        ended_by_name="Sam de Vries",
        customer_name=b"\x01sealed\x00name\xff",
        reference="CASE-4711 / Router 🛜",
        tools_off=("snapshots",),
        rating_on=True,
        rating=1,
        rating_comment=b"\x02sealed\x00comment",
        rated_at=NOW + 130.0,
        version=3,  # created as given
    )
    bare = make_support_session(scope.tenant_id, pin_hash=None, created_at=NOW)
    await scope.create_support_session(full)
    await scope.create_support_session(bare)

    assert await scope.get_support_session(full.id) == full
    got = await scope.get_support_session(bare.id)
    assert got == bare
    assert got is not None
    assert got.status == "waiting"
    assert got.pin_hash is None
    assert got.customer_device_hash is None
    assert (got.joined_at, got.consent_at, got.live_at, got.ended_at) == (None,) * 4
    assert (got.outcome, got.ended_by, got.ended_by_user_id, got.ended_by_name) == (None,) * 4
    assert (got.customer_name, got.reference) == (None, None)
    assert (got.tools_off, got.rating_on, got.rating, got.rating_comment, got.rated_at) == (
        (), False, None, None, None)  # fmt: skip
    assert got.version == 0
    assert got.consent_scopes == ()
    assert isinstance(got.consent_scopes, tuple)
    assert await scope.get_support_session(new_id()) is None
    listed = await scope.list_support_sessions()
    assert listed == [full, bare]
    assert isinstance(listed[0].consent_scopes, tuple)
    assert listed[0].consent_scopes == ("screen", "camera", "audio")  # order kept


async def test_save_support_session_replaces_through_its_lifecycle(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    session = make_support_session(scope.tenant_id)
    await scope.create_support_session(session)

    changes: list[dict[str, Any]] = [
        {"customer_name": b"\x01sealed", "reference": "T-1"},
        {"join_token_hash": "t-new", "pin_hash": "p-new", "join_expires_at": NOW + 900},
        {"status": "joined", "customer_device_hash": "d" * 64, "joined_at": NOW + 5},
        {"status": "consented", "consent_at": NOW + 6, "consent_scopes": ("screen", "audio")},
        {"consent_scopes": ("screen",)},
        {"status": "live", "live_at": NOW + 7},
    ]
    current = session
    for number, change in enumerate(changes, start=1):
        changed = dataclasses.replace(current, **change)
        current = await scope.save_support_session(changed)
        assert current == dataclasses.replace(changed, version=number)
        assert await scope.get_support_session(session.id) == current
    assert current.status == "live"
    assert current.consent_scopes == ("screen",)

    for outcome in get_args(Outcome):
        ended = dataclasses.replace(
            current,
            status="ended",
            pin_hash=None,
            ended_at=NOW + 8,
            outcome=outcome,
            ended_by="agent",
            ended_by_user_id="agent-1",
            ended_by_name="Sam",
        )
        current = await scope.save_support_session(ended)
        assert current == dataclasses.replace(ended, version=ended.version + 1)
        assert await scope.get_support_session(session.id) == current
    assert await scope.list_support_sessions() == [current]

    # Back to all-empty: None and () replace stored values.
    emptied = dataclasses.replace(session, version=current.version)
    current = await scope.save_support_session(emptied)
    assert current == dataclasses.replace(session, version=emptied.version + 1)
    assert await scope.get_support_session(session.id) == current


async def test_save_unknown_support_session_is_not_found(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    ghost = make_support_session(scope.tenant_id)
    with pytest.raises(NotFound):
        await scope.save_support_session(ghost)
    assert await scope.get_support_session(ghost.id) is None
    assert await scope.list_support_sessions() == []
    assert await store.locate_join_token(ghost.join_token_hash) is None


async def test_duplicate_support_session_id_or_join_token_is_conflict(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    first = make_support_session(acme.tenant_id)
    await acme.create_support_session(first)

    same_id = make_support_session(acme.tenant_id, id=first.id)
    same_token = make_support_session(acme.tenant_id, join_token_hash=first.join_token_hash)
    for duplicate in (same_id, same_token):
        with pytest.raises(Conflict):
            await acme.create_support_session(duplicate)
    # Join tokens and ids are unique on the whole instance, not per account.
    for duplicate in (same_id, same_token):
        with pytest.raises(Conflict):
            await other.create_support_session(
                dataclasses.replace(duplicate, tenant_id=other.tenant_id)
            )

    assert await acme.list_support_sessions() == [first]
    assert await other.list_support_sessions() == []
    assert await store.locate_join_token(first.join_token_hash) == (acme.tenant_id, first.id)
    assert await store.locate_pin(same_token.pin_hash or "") is None


async def test_save_support_session_keeps_join_tokens_unique(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    first = make_support_session(scope.tenant_id)
    second = make_support_session(scope.tenant_id, created_at=NOW + 1)
    await scope.create_support_session(first)
    await scope.create_support_session(second)

    with pytest.raises(Conflict):
        await scope.save_support_session(
            dataclasses.replace(second, join_token_hash=first.join_token_hash, status="joined")
        )
    assert await scope.get_support_session(second.id) == second
    assert await store.locate_join_token(first.join_token_hash) == (scope.tenant_id, first.id)

    renewed = dataclasses.replace(second, join_token_hash="t-renewed")
    await scope.save_support_session(renewed)
    assert await store.locate_join_token("t-renewed") == (scope.tenant_id, second.id)
    assert await store.locate_join_token(second.join_token_hash) is None


async def test_concurrent_creates_with_one_join_token_admit_one(
    store: Store, store_url: str
) -> None:
    # Two nodes racing: the unique index, not a look-up before the insert, decides.
    second = await open_store(store_url)
    try:
        scope = await new_tenant(store, "Acme")
        token = "t-" + new_id()
        candidates = [
            make_support_session(scope.tenant_id, join_token_hash=token) for _ in range(6)
        ]
        stores = [store, second] * 3
        results = await asyncio.gather(
            *(
                s.scoped(scope.tenant_id).create_support_session(c)
                for s, c in zip(stores, candidates, strict=True)
            ),
            return_exceptions=True,
        )
    finally:
        await second.close()
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)
    winner = candidates[results.index(None)]
    assert await scope.list_support_sessions() == [winner]
    assert await store.locate_join_token(token) == (scope.tenant_id, winner.id)


async def test_locate_join_token_and_pin(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    a = make_support_session(acme.tenant_id)
    b = make_support_session(other.tenant_id)
    await acme.create_support_session(a)
    await other.create_support_session(b)

    assert await store.locate_join_token(a.join_token_hash) == (acme.tenant_id, a.id)
    assert await store.locate_join_token(b.join_token_hash) == (other.tenant_id, b.id)
    assert await store.locate_join_token("t-unknown") is None
    assert await store.locate_join_token(a.pin_hash or "") is None  # not a token
    assert await store.locate_pin(a.pin_hash or "") == (acme.tenant_id, a.id)
    assert await store.locate_pin(b.pin_hash or "") == (other.tenant_id, b.id)
    assert await store.locate_pin("p-unknown") is None
    assert await store.locate_pin(a.join_token_hash) is None  # not a PIN

    # Every status but "ended" can be found by PIN; a join token finds any status.
    for status in get_args(SessionStatus):
        if status == "ended":
            continue
        a = await acme.save_support_session(dataclasses.replace(a, status=status))
        assert await store.locate_pin(a.pin_hash or "") == (acme.tenant_id, a.id)
    ended = dataclasses.replace(a, status="ended", ended_at=NOW + 9, outcome="dropped")
    ended = await acme.save_support_session(ended)  # the PIN hash deliberately left in place
    assert await store.locate_pin(a.pin_hash or "") is None
    assert await store.locate_join_token(a.join_token_hash) == (acme.tenant_id, a.id)
    await acme.save_support_session(dataclasses.replace(ended, pin_hash=None))
    assert await store.locate_pin(a.pin_hash or "") is None
    assert await store.locate_join_token(a.join_token_hash) == (acme.tenant_id, a.id)


async def test_locate_pin_skips_ended_sessions_sharing_the_pin(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    pin = "p-" + new_id()
    # Newer but ended, in another account: must not shadow the waiting one.
    ended = make_support_session(
        other.tenant_id, created_at=NOW + 50, pin_hash=pin, status="ended", outcome="expired"
    )
    waiting = make_support_session(acme.tenant_id, created_at=NOW, pin_hash=pin)
    await other.create_support_session(ended)
    await acme.create_support_session(waiting)
    assert await store.locate_pin(pin) == (acme.tenant_id, waiting.id)
    await acme.save_support_session(dataclasses.replace(waiting, status="ended", pin_hash=None))
    assert await store.locate_pin(pin) is None


async def test_list_support_sessions_filters_order_and_limit(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    sam, kim = "agent-sam", "agent-kim"
    s0 = make_support_session(scope.tenant_id, sam, created_at=NOW - 100)
    k1 = make_support_session(scope.tenant_id, kim, created_at=NOW - 10)
    s2 = make_support_session(scope.tenant_id, sam, created_at=NOW)
    k3 = make_support_session(scope.tenant_id, kim, created_at=NOW + 0.5)
    s4 = make_support_session(scope.tenant_id, sam, created_at=NOW + 100)
    for session in (k3, s0, s4, k1, s2):  # insertion order must not matter
        await scope.create_support_session(session)

    def listed(**query: Any) -> Awaitable[list[SupportSession]]:
        return scope.list_support_sessions(SessionQuery(**query))

    assert await scope.list_support_sessions() == [s4, k3, s2, k1, s0]
    assert await listed(agent_id=sam) == [s4, s2, s0]
    assert await listed(agent_id=kim) == [k3, k1]
    assert await listed(agent_id="agent-nobody") == []
    # since is inclusive, until exclusive.
    assert await listed(since=NOW) == [s4, k3, s2]
    assert await listed(until=NOW) == [k1, s0]
    assert await listed(since=NOW - 10, until=NOW + 100) == [k3, s2, k1]
    assert await listed(since=NOW, until=NOW) == []
    assert await listed(since=NOW + 101) == []
    assert await listed(agent_id=sam, since=NOW, until=NOW + 100) == [s2]
    assert await listed(agent_id=kim, until=NOW + 0.5) == [k1]
    assert await listed(limit=2) == [s4, k3]
    assert await listed(limit=1, agent_id=kim) == [k3]
    assert await listed(limit=2, since=NOW - 10) == [s4, k3]
    assert await listed(limit=0) == []


async def test_list_support_sessions_breaks_ties_by_id(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    tied = [make_support_session(scope.tenant_id, created_at=NOW, id=f"id-{i}") for i in "bca"]
    for session in tied:
        await scope.create_support_session(session)
    listed = await scope.list_support_sessions()
    assert [s.id for s in listed] == ["id-c", "id-b", "id-a"]
    first_two = await scope.list_support_sessions(SessionQuery(limit=2))
    assert [s.id for s in first_two] == ["id-c", "id-b"]


async def test_one_tenant_cannot_reach_another_tenants_support_sessions(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    session = make_support_session(acme.tenant_id, "agent-sam")
    await acme.create_support_session(session)

    assert await other.get_support_session(session.id) is None
    assert await other.list_support_sessions() == []
    assert await other.list_support_sessions(SessionQuery(agent_id="agent-sam")) == []
    assert await other.list_support_sessions(SessionQuery(since=NOW - 1, until=NOW + 1)) == []
    # B's scope with B's tenant id on the record must not touch A's row with that id.
    hijack = dataclasses.replace(session, tenant_id=other.tenant_id, status="ended", pin_hash=None)
    with pytest.raises(NotFound):
        await other.save_support_session(hijack)
    # Records carrying another account's id are refused outright.
    with pytest.raises(InvalidInput):
        await other.save_support_session(dataclasses.replace(session, status="ended"))
    with pytest.raises(InvalidInput):
        await other.create_support_session(make_support_session(acme.tenant_id))
    with pytest.raises(InvalidInput):
        await acme.create_support_session(make_support_session(other.tenant_id))

    assert await acme.get_support_session(session.id) == session
    assert await acme.list_support_sessions() == [session]
    assert await other.list_support_sessions() == []
    assert await store.locate_pin(session.pin_hash or "") == (acme.tenant_id, session.id)


# --- compare-and-set saves of support sessions ---


async def test_save_support_session_is_compare_and_set(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    read = make_support_session(scope.tenant_id)
    await scope.create_support_session(read)

    joined = await scope.save_support_session(dataclasses.replace(read, status="joined"))
    assert joined == dataclasses.replace(read, status="joined", version=1)
    assert await scope.get_support_session(read.id) == joined

    # A save from the copy read before that one is refused and changes nothing: it
    # would have undone "joined" unseen.
    for stale in (
        dataclasses.replace(read, status="ended"),
        dataclasses.replace(joined, version=7),
    ):
        with pytest.raises(StaleRecord) as caught:
            await scope.save_support_session(stale)
        assert isinstance(caught.value, Conflict)
        assert await scope.get_support_session(read.id) == joined
    # Not even with another session's join token: the version is compared first.
    other = make_support_session(scope.tenant_id, created_at=NOW + 1)
    await scope.create_support_session(other)
    with pytest.raises(StaleRecord):
        await scope.save_support_session(
            dataclasses.replace(read, join_token_hash=other.join_token_hash)
        )

    # Read again, change again: the version goes on.
    fresh = await scope.get_support_session(read.id)
    assert fresh is not None
    live = await scope.save_support_session(dataclasses.replace(fresh, status="live"))
    assert (live.status, live.version) == ("live", 2)
    assert await scope.get_support_session(read.id) == live
    assert await scope.list_support_sessions() == [other, live]


async def test_stale_or_unknown_support_sessions_are_told_apart(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    session = make_support_session(acme.tenant_id)
    await acme.create_support_session(session)
    await acme.save_support_session(session)  # now at version 1

    with pytest.raises(StaleRecord):
        await acme.save_support_session(session)
    # Unknown here, whatever the version: NotFound, never StaleRecord.
    for version in (0, 1):
        foreign = dataclasses.replace(session, tenant_id=other.tenant_id, version=version)
        with pytest.raises(NotFound) as caught:
            await other.save_support_session(foreign)
        assert not isinstance(caught.value, StaleRecord)
    with pytest.raises(NotFound):
        await acme.save_support_session(make_support_session(acme.tenant_id))
    stored = await acme.get_support_session(session.id)
    assert stored == dataclasses.replace(session, version=1)


async def test_a_save_on_one_node_makes_the_other_nodes_copy_stale(
    store: Store, store_url: str
) -> None:
    second = await open_store(store_url)
    try:
        here = await new_tenant(store, "Acme")
        there = second.scoped(here.tenant_id)
        session = make_support_session(here.tenant_id)
        await here.create_support_session(session)
        copy_here = await here.get_support_session(session.id)
        copy_there = await there.get_support_session(session.id)
        assert copy_here is not None
        assert copy_there is not None

        saved = await there.save_support_session(dataclasses.replace(copy_there, experts=("x",)))
        with pytest.raises(StaleRecord):
            await here.save_support_session(dataclasses.replace(copy_here, status="ended"))
        assert await here.get_support_session(session.id) == saved
    finally:
        await second.close()


async def test_concurrent_saves_from_one_version_admit_one(store: Store, store_url: str) -> None:
    # Runs on SQLite, and on MongoDB only when LIVELENS_TEST_MONGO_URL names a real
    # mongod: FerretDB 1.24 (the default test server) runs a filtered update as a query
    # followed by a write, not atomically, so two concurrent saves from one version may
    # both succeed there (the limit stated on TenantStore.save_support_session; the
    # product routes every change of a session through its room instead).
    if store_url.startswith("mongodb") and not os.environ.get(MONGO_URL_ENV):
        pytest.skip("FerretDB does not compare-and-set atomically; set " + MONGO_URL_ENV)
    second = await open_store(store_url)
    try:
        scope = await new_tenant(store, "Acme")
        session = make_support_session(scope.tenant_id)
        await scope.create_support_session(session)
        scopes = [s.scoped(scope.tenant_id) for s in (store, second)] * 4
        changes = [dataclasses.replace(session, experts=(f"expert-{i}",)) for i in range(8)]
        results = await asyncio.gather(
            *(s.save_support_session(c) for s, c in zip(scopes, changes, strict=True)),
            return_exceptions=True,
        )
    finally:
        await second.close()
    saved = [r for r in results if isinstance(r, SupportSession)]
    assert len(saved) == 1
    assert all(isinstance(r, StaleRecord) for r in results if r is not saved[0])
    assert await scope.get_support_session(session.id) == saved[0]
    assert saved[0].version == 1


# --- session content ---


def make_item(tenant_id: str, session_id: str, kind: str = "chat", **changes: Any) -> SessionItem:
    item = SessionItem(id=new_id(), tenant_id=tenant_id, session_id=session_id,
                       kind=kind, at=NOW, author_id=None, media_type="application/json",
                       size=3, sealed=b"\x01sealed\x00")  # type: ignore[arg-type]  # fmt: skip
    return dataclasses.replace(item, **changes)


async def test_session_items_round_trip_in_order_and_by_kind(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    first = make_item(scope.tenant_id, "s1", author_id="u1")
    second = make_item(scope.tenant_id, "s1", "snapshot", media_type="image/png", size=9)
    same_time = make_item(scope.tenant_id, "s1")
    elsewhere = make_item(scope.tenant_id, "s2")
    for item in (first, second, same_time, elsewhere):
        await scope.put_session_item(item)
    assert await scope.list_session_items("s1") == [first, second, same_time]
    assert await scope.list_session_items("s1", "chat") == [first, same_time]
    assert await scope.list_session_items("s1", "chat", limit=1) == [same_time]  # newest
    assert await scope.list_session_items("s1", limit=0) == []
    assert await scope.get_session_item("s1", second.id) == second
    assert await scope.get_session_item("s2", second.id) is None  # wrong session

    edited = dataclasses.replace(first, sealed=b"\x01other", size=5, at=NOW + 1)
    await scope.put_session_item(edited)  # replaces
    assert await scope.get_session_item("s1", first.id) == edited


async def test_session_items_are_isolated_between_tenants(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    globex = await new_tenant(store, "Globex")
    item = make_item(acme.tenant_id, "s1")
    await acme.put_session_item(item)
    assert await globex.get_session_item("s1", item.id) is None
    assert await globex.list_session_items("s1") == []
    with pytest.raises(InvalidInput):
        await globex.put_session_item(item)
    with pytest.raises(Conflict):  # another account's id cannot be taken over
        await globex.put_session_item(dataclasses.replace(item, tenant_id=globex.tenant_id))
    assert await acme.get_session_item("s1", item.id) == item


async def test_sessions_an_agent_was_invited_into_are_listed_on_request(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    own = make_support_session(scope.tenant_id, "ann", created_at=NOW)
    invited = make_support_session(scope.tenant_id, "bob", created_at=NOW + 1, experts=("ann",))
    other = make_support_session(scope.tenant_id, "bob", created_at=NOW + 2, experts=("cy",))
    for session in (own, invited, other):
        await scope.create_support_session(session)
    assert await scope.list_support_sessions(SessionQuery(agent_id="ann")) == [own]
    both = await scope.list_support_sessions(SessionQuery(agent_id="ann", with_experts=True))
    assert both == [invited, own]


# --- security log ---


async def test_security_event_round_trips_every_field(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    full = SecurityEvent(
        id=new_id(),
        at=NOW + 0.125,
        kind="signalling.malformed",
        ip="2001:db8::7",
        tenant_id=scope.tenant_id,
        details={
            "frame": "offer",
            "size": 70000,
            "ratio": 0.5,
            "whole": 2.0,
            "bin": False,
            "none": None,
        },
    )
    bare = make_security_event(scope.tenant_id, at=NOW)
    await store.add_security_event(full)
    await store.add_security_event(bare)
    events = await scope.list_security_events()
    assert events == [full, bare]
    assert [type(v) for v in events[0].details.values()] == [
        str,
        int,
        float,
        float,
        bool,
        type(None),
    ]
    assert (events[1].ip, events[1].details) == (None, {})


async def test_security_events_are_listed_only_for_their_tenant(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    anonymous = make_security_event(None, at=NOW + 5, kind="ratelimit.pin")
    for_acme = make_security_event(acme.tenant_id, at=NOW, kind="join.bad_token")
    for_other = make_security_event(other.tenant_id, at=NOW + 1, kind="auth.lockout")
    for event in (anonymous, for_acme, for_other):
        await store.add_security_event(event)

    assert await acme.list_security_events() == [for_acme]
    assert await other.list_security_events() == [for_other]
    assert await store.scoped(new_id()).list_security_events() == []
    # The audit log is a separate thing.
    assert await acme.list_audit_events() == []
    with pytest.raises(InvalidInput):
        store.scoped("")


async def test_security_events_newest_first_with_limit(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    old = make_security_event(scope.tenant_id, at=NOW - 100, kind="old")
    tied = [make_security_event(scope.tenant_id, at=NOW, kind=f"tied.{i}") for i in range(3)]
    new = make_security_event(scope.tenant_id, at=NOW + 100, kind="new")
    for event in (tied[0], new, old, tied[1], make_security_event(None, at=NOW), tied[2]):
        await store.add_security_event(event)

    # Same timestamp: the one stored last comes first.
    expected = [new, tied[2], tied[1], tied[0], old]
    assert await scope.list_security_events() == expected
    assert await scope.list_security_events(limit=2) == expected[:2]
    assert await scope.list_security_events(limit=0) == []


async def test_duplicate_security_event_id_is_conflict(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    event = make_security_event(scope.tenant_id)
    await store.add_security_event(event)
    with pytest.raises(Conflict):
        await store.add_security_event(dataclasses.replace(event, kind="other"))
    with pytest.raises(Conflict):
        await store.add_security_event(dataclasses.replace(event, tenant_id=None))
    assert await scope.list_security_events() == [event]


async def test_instance_security_events_are_those_without_an_account(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    guess = make_security_event(None, at=NOW, kind="join.bad_pin")
    tied = [make_security_event(None, at=NOW + 5, kind=f"tied.{i}") for i in range(2)]
    newest = make_security_event(None, at=NOW + 9, kind="ratelimit.pin")
    for_acme = make_security_event(scope.tenant_id, at=NOW + 7, kind="join.other_device")
    for event in (tied[0], guess, for_acme, newest, tied[1]):
        await store.add_security_event(event)

    # Newest first; the same timestamp: the one stored last first; no account's events.
    expected = [newest, tied[1], tied[0], guess]
    assert await store.list_instance_security_events() == expected
    assert await store.list_instance_security_events(limit=2) == expected[:2]
    assert await store.list_instance_security_events(limit=0) == []
    assert await scope.list_security_events() == [for_acme]


# --- sign-in guard ---


async def test_login_tickets_are_taken_once_returned_and_rounds_move_on(store: Store) -> None:
    key = "k-" + new_id()
    assert await store.login_tickets(key) == []

    first = LoginTicket(key, 0, 1, NOW)
    assert await store.take_login_ticket(first)
    assert not await store.take_login_ticket(dataclasses.replace(first, at=NOW + 1))
    second = LoginTicket(key, 0, 2, NOW + 2)
    assert await store.take_login_ticket(second)
    assert await store.login_tickets(key) == [first, second]
    assert await store.login_tickets("k-other") == []

    await store.return_login_ticket(first)
    assert await store.login_tickets(key) == [second]
    assert await store.take_login_ticket(first)

    # A new round hides the old one's tickets; opening it twice is harmless.
    await store.open_login_round(key, 1, NOW + 3)
    await store.open_login_round(key, 1, NOW + 4)
    opening = LoginTicket(key, 1, 0, NOW + 3)
    assert await store.login_tickets(key) == [opening]
    # The round before stays (a request that read it keeps finding its tickets taken)...
    assert not await store.take_login_ticket(second)
    # ...until the next round after that.
    await store.open_login_round(key, 2, NOW + 5)
    assert await store.take_login_ticket(second)
    assert await store.login_tickets(key) == [LoginTicket(key, 2, 0, NOW + 5)]


async def test_login_tickets_are_taken_atomically(store: Store, store_url: str) -> None:
    # Two store instances on the same data, like two LiveLens nodes (or the CLI
    # next to the server), racing for the same tickets of one address.
    second = await open_store(store_url)
    try:
        key = "k-" + new_id()
        claims = [
            s.take_login_ticket(LoginTicket(key, 0, number, NOW))
            for number in (1, 2, 3)
            for s in (store, second)
            for _ in range(5)
        ]
        results = await asyncio.gather(*claims)
    finally:
        await second.close()
    assert sum(results) == 3
    assert [t.number for t in await store.login_tickets(key)] == [1, 2, 3]


# --- every record, as stored (livelens.store.schema) ---

# One record of each type with every field set, none to its default.
FULL: dict[str, Any] = {
    "tenant": make_tenant(
        require_totp=True, created_at=NOW + 0.25, two_way_audio=False, snapshots=False,
        chat=False, recording="agent", join_link_minutes=1440, pin_joining=False,
        retention_days=3650, customer_rating=True, seats=25, subscription_ends="2027-12-31",
    ),
    "user": make_user(
        "acme", "full@acme.example", role="admin", disabled=True, totp_secret=b"\x00s\xff",
        totp_pending=b"\x00p\x80", recovery_codes=("a" * 64, "b" * 64), totp_last_step=7,
        created_at=NOW + 0.5, updated_at=NOW + 1.75, last_sign_in_at=NOW + 2.5,
    ),
    "auth session": make_session("acme", "u1", expires_at=NOW + 0.5),
    "audit event": AuditEvent(
        id="e1", tenant_id="acme", at=NOW + 0.125, action="user.updated", actor="a@acme.example",
        actor_id="u1", ip="2001:db8::1", target="b@acme.example",
        details={"role": "admin", "count": 3, "whole": 2.0, "on": True, "gone": None},
    ),
    "support session": SupportSession(
        id="s1", tenant_id="acme", agent_id="u1", created_at=NOW + 0.25,
        join_expires_at=NOW + 600.5, join_token_hash="a" * 64, pin_hash="b" * 64,
        status="ended", customer_device_hash="c" * 64, joined_at=NOW + 10.125,
        consent_at=NOW + 20.0, consent_scopes=("camera", "audio"), live_at=NOW + 21.5,
        ended_at=NOW + 99.75, outcome="completed", ended_by="agent", experts=("u2", "u3"),
        ended_by_user_id="u2", ended_by_name="Kim", customer_name=b"\x01\x00n\xff",
        reference="T-42", tools_off=("chat", "two_way_audio"), rating_on=True, rating=5,
        rating_comment=b"\x01sealed\x00", rated_at=NOW + 120.5, version=4, own_key=True,
        purged_at=NOW + 86400.5, recording="always",
    ),
    "session item": SessionItem(
        id="i1", tenant_id="acme", session_id="s1", kind="snapshot", at=NOW + 0.5,
        author_id="u1", media_type="image/jpeg", size=70_000, sealed=b"\x00\xff" * 50,
    ),
    "security event": SecurityEvent(
        id="x1", at=NOW + 0.125, kind="join.bad_token", ip="192.0.2.7", tenant_id="acme",
        details={"frame": "offer", "size": 7, "ratio": 0.5, "bin": False, "none": None},
    ),
    "login ticket": LoginTicket("k-full", 3, 2, NOW + 0.5),
    "api key": ApiKey(id="k1", tenant_id="acme", name="BI export", key_hash="d" * 64,
                      created_at=NOW + 0.75, created_by="u1"),
    "export job": ExportJob(id="e1", tenant_id="acme", scope="session", requested_by="u1",
                            created_at=NOW + 0.5, expires_at=NOW + 7 * 86400.25,
                            session_id="s1", state="ready", finished_at=NOW + 3.5,
                            size=123_456, file_name="livelens-session.zip", error="none"),
    "branding": Branding(tenant_id="acme", updated_at=NOW + 0.5, display_name="Acme Care",
                         accent_color="#0f766e", logo=b"\x89PNG\x00\xff" * 9,
                         logo_type="image/png"),
    "alert hook": AlertHook(tenant_id="acme", hook_id="h1", url="https://hooks.example/x",
                            secret=b"\x01sealed\x00", created_at=NOW + 0.5, created_by="u1",
                            delivered=7, failed=3, abandoned=1, dropped=2,
                            last_success_at=NOW + 9.5, last_error="HTTP 500",
                            last_error_at=NOW + 8.25),
    "session key": SessionKey(id="s1", tenant_id="acme", sealed=b"\x01key\x00\xff",
                              created_at=NOW + 0.25),
    "deletion record": DeletionRecord(
        id="d1", at=NOW + 0.5, kind="account", account_id="acme", account_name="Acme",
        actor="a@acme.example", actor_id="u1", session_ids=("s1", "s2"),
        counts={"users": 3, "session_items": 12},
    ),
    "lease": Lease(name="retention", term=3, holder="node-1/42", expires_at=NOW + 600.5),
}  # fmt: skip
FULL["recording"] = Recording(
    id="r1", tenant_id="acme", session_id="s1", started_at=NOW + 0.5, updated_at=NOW + 9.25,
    state="complete", ended_at=NOW + 10.5, duration_s=9.75, size=123_456,
    stopped_reason="storage full", events=b"\x01sealed\x00", stats={"video_frames": 290},
)  # fmt: skip


async def _only(found: Awaitable[list[Any]]) -> Any:
    records = await found
    assert len(records) == 1, records
    return records[0]


# How the contract stores a record of each type, and reads it back.
KEPT: dict[str, tuple[Table[Any], Callable[[Store, Any], Awaitable[object]],
                      Callable[[Store, Any], Awaitable[Any]]]] = {
    "tenant": (TENANTS, lambda s, r: s.create_tenant(r),
               lambda s, r: s.scoped(r.id).get_tenant()),
    "user": (USERS, lambda s, r: s.scoped(r.tenant_id).create_user(r),
             lambda s, r: s.scoped(r.tenant_id).get_user(r.id)),
    "auth session": (AUTH_SESSIONS, lambda s, r: s.scoped(r.tenant_id).create_auth_session(r),
                     lambda s, r: s.scoped(r.tenant_id).get_auth_session(r.id)),
    "audit event": (AUDIT_EVENTS, lambda s, r: s.scoped(r.tenant_id).add_audit_event(r),
                    lambda s, r: _only(s.scoped(r.tenant_id).list_audit_events())),
    "support session": (SUPPORT_SESSIONS,
                        lambda s, r: s.scoped(r.tenant_id).create_support_session(r),
                        lambda s, r: s.scoped(r.tenant_id).get_support_session(r.id)),
    "session item": (SESSION_ITEMS, lambda s, r: s.scoped(r.tenant_id).put_session_item(r),
                     lambda s, r: s.scoped(r.tenant_id).get_session_item(r.session_id, r.id)),
    "security event": (SECURITY_EVENTS, lambda s, r: s.add_security_event(r),
                       lambda s, r: _only(s.scoped(r.tenant_id).list_security_events()
                                          if r.tenant_id else s.list_instance_security_events())),
    "login ticket": (LOGIN_TICKETS, lambda s, r: s.take_login_ticket(r),
                     lambda s, r: _only(s.login_tickets(r.key))),
    "api key": (API_KEYS, lambda s, r: s.scoped(r.tenant_id).create_api_key(r),
                lambda s, r: s.scoped(r.tenant_id).get_api_key(r.id)),
    "export job": (EXPORT_JOBS, lambda s, r: s.scoped(r.tenant_id).create_export_job(r),
                   lambda s, r: s.scoped(r.tenant_id).get_export_job(r.id)),
    "branding": (BRANDING, lambda s, r: s.scoped(r.tenant_id).save_branding(r),
                 lambda s, r: s.scoped(r.tenant_id).get_branding()),
    "alert hook": (ALERT_HOOKS, lambda s, r: s.scoped(r.tenant_id).put_alert_hook(r),
                   lambda s, r: s.scoped(r.tenant_id).get_alert_hook()),
    "session key": (SESSION_KEYS, lambda s, r: s.scoped(r.tenant_id).create_session_key(r),
                    lambda s, r: s.scoped(r.tenant_id).get_session_key(r.id)),
    "deletion record": (DELETION_RECORDS, lambda s, r: s.add_deletion_record(r),
                        lambda s, r: _only(s.list_deletion_records())),
    "lease": (LEASES, lambda s, r: s.take_lease(r), lambda s, r: s.current_lease(r.name)),
}  # fmt: skip
KEPT["recording"] = (
    RECORDINGS,
    lambda s, r: s.scoped(r.tenant_id).create_recording(r),
    lambda s, r: s.scoped(r.tenant_id).get_recording(r.session_id, r.id),
)


def defaults_only(record: Any) -> Any:
    """``record`` with every field that has a default set to it."""
    defaults: dict[str, object] = {}
    for field in dataclasses.fields(record):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
    return dataclasses.replace(record, **defaults)


async def store_as_an_older_release(store: Store, table: Table[Any], record: Any) -> None:
    """Store ``record`` as a release before its defaulted fields existed would have:
    a document without them; a row without the columns a migration added (those with
    a default, or nullable: the others were always written)."""
    defaulted = {c.name for c in table.columns if c.default is not None}
    if isinstance(store, MongoStore):
        keys = {c.key for c in table.columns if c.name in defaulted}
        doc = {k: v for k, v in table.doc(record).items() if k not in keys}
        await store.meta.database[table.name].insert_one(doc)
        return
    assert isinstance(store, SqliteStore)
    values = dict(zip((c.name for c in table.columns), table.row(record), strict=True))

    def insert(conn: sqlite3.Connection) -> None:
        info = conn.execute(f"PRAGMA table_info({table.name})").fetchall()
        added = {c["name"] for c in info if c["dflt_value"] is not None or not c["notnull"]}
        names = [n for n in values if n not in defaulted or n not in added]
        conn.execute(
            f"INSERT INTO {table.name} ({', '.join(names)})"  # noqa: S608
            f" VALUES ({', '.join('?' * len(names))})",
            [values[n] for n in names],
        )

    await store._run(insert)


def test_the_samples_set_every_field_of_every_stored_record() -> None:
    assert {id(kept[0]) for kept in KEPT.values()} == {id(table) for table in TABLES}
    for kind, (table, _put, _get) in KEPT.items():
        full = FULL[kind]
        assert type(full) is table.record_type
        assert [c.name for c in table.columns] == [f.name for f in dataclasses.fields(full)]
        bare = defaults_only(full)
        for column in table.columns:
            if column.default is not None:
                assert getattr(full, column.name) != getattr(bare, column.name), (kind, column)


@pytest.mark.parametrize("kind", list(KEPT))
async def test_every_field_of_every_record_round_trips(store: Store, kind: str) -> None:
    table, put, get = KEPT[kind]
    full = FULL[kind]
    await put(store, full)
    got = await get(store, full)
    assert got == full
    # Equality alone would accept 2 for 2.0, 1 for True, a list for a tuple.
    for column in table.columns:
        assert type(getattr(got, column.name)) is type(getattr(full, column.name)), column.name
    details = getattr(full, "details", {})
    assert [type(v) for v in getattr(got, "details", {}).values()] == [
        type(v) for v in details.values()
    ]


@pytest.mark.parametrize("kind", list(KEPT))
async def test_records_stored_before_a_field_existed_read_its_default(
    store: Store, kind: str
) -> None:
    table, _put, get = KEPT[kind]
    bare = defaults_only(FULL[kind])
    await store_as_an_older_release(store, table, bare)
    assert await get(store, bare) == bare


async def test_a_session_stored_before_versions_is_at_version_0_and_saves(store: Store) -> None:
    scope = store.scoped("acme")
    old = make_support_session("acme")
    await store_as_an_older_release(store, SUPPORT_SESSIONS, old)
    assert await scope.get_support_session(old.id) == old  # at version 0

    saved = await scope.save_support_session(dataclasses.replace(old, status="joined"))
    assert saved.version == 1
    assert await scope.get_support_session(old.id) == saved
    with pytest.raises(StaleRecord):
        await scope.save_support_session(old)


# --- opening and persistence ---


async def test_data_persists_across_close_and_reopen(store_url: str) -> None:
    store = await open_store(store_url)
    scope = await new_tenant(store, "Acme")
    user = make_user(scope.tenant_id, "sam@acme.example", totp_secret=b"\x00\x01")
    await scope.create_user(user)
    ticket = LoginTicket("k", 0, 1, NOW)
    await store.take_login_ticket(ticket)
    await store.close()

    reopened = await open_store(store_url)
    try:
        await reopened.ping()
        assert await reopened.locate_email("sam@acme.example") == scope.tenant_id
        assert await reopened.scoped(scope.tenant_id).get_user(user.id) == user
        assert await reopened.login_tickets("k") == [ticket]
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
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
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


async def test_sqlite_tables_have_a_column_for_every_field(tmp_path: Path) -> None:
    # A field added to a record needs its migration; this finds one that is missing.
    await (await open_store(f"sqlite:///{tmp_path / 'x.db'}")).close()
    with sqlite3.connect(tmp_path / "x.db") as conn:
        for table in TABLES:
            info = conn.execute(f"PRAGMA table_info({table.name})").fetchall()
            declared = {name: (kind, bool(notnull or pk)) for _, name, kind, notnull, _, pk in info}
            declared.pop("seq", None)  # insertion order, the engine's own
            expected = {c.name: (c.encoding.sql_type, not c.optional) for c in table.columns}
            assert declared == expected, table.name
    conn.close()


# --- schema upgrades ---


def make_v1_sqlite_file(path: Path) -> tuple[Tenant, User]:
    """A file as the first release left it: schema version 1, an account, a user,
    a signed-in browser, an audit event and a sign-in guard."""
    tenant = make_tenant("Acme", require_totp=True)
    user = make_user(
        tenant.id,
        "sam@acme.example",
        role="admin",
        totp_secret=b"\x00s\xff",
        recovery_codes=("a" * 64,),
        display_name="",  # no such column before version 6
    )
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            for statement in MIGRATIONS[0]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (1)")
            conn.execute(
                "INSERT INTO tenants (id, name, region, created_at, wrapped_data_key,"
                " master_key_id, require_totp) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tenant.id,
                    tenant.name,
                    tenant.region,
                    tenant.created_at,
                    tenant.wrapped_data_key,
                    tenant.master_key_id,
                    1,
                ),
            )
            conn.execute(
                "INSERT INTO users (id, tenant_id, email, role, password_hash, created_at,"
                " updated_at, disabled, totp_secret, totp_pending, recovery_codes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user.id,
                    user.tenant_id,
                    user.email,
                    user.role,
                    user.password_hash,
                    user.created_at,
                    user.updated_at,
                    0,
                    user.totp_secret,
                    None,
                    '["' + "a" * 64 + '"]',
                ),
            )
            conn.execute(
                "INSERT INTO auth_sessions (id, tenant_id, user_id, created_at, expires_at, ip,"
                " user_agent) VALUES ('s1', ?, ?, ?, ?, '192.0.2.7', 'UA')",
                (tenant.id, user.id, NOW, NOW + 3600),
            )
            conn.execute(
                "INSERT INTO audit_events (id, tenant_id, at, action, actor, details)"
                " VALUES ('e1', ?, ?, 'user.created', 'cli', '{}')",
                (tenant.id, NOW),
            )
            conn.execute(
                "INSERT INTO login_guards (key, failures, locked_until) VALUES ('k', 2, 0)"
            )
    finally:
        conn.close()
    return tenant, user


async def test_sqlite_upgrades_a_version_1_file_in_place(tmp_path: Path) -> None:
    assert SCHEMA_VERSION >= 2
    path = tmp_path / "v1.db"
    tenant, user = make_v1_sqlite_file(path)

    store = await open_store(f"sqlite:///{path}")
    try:
        scope = store.scoped(tenant.id)
        assert await scope.get_tenant() == tenant
        assert await scope.get_user(user.id) == user
        assert await store.locate_email(user.email) == tenant.id
        assert await scope.list_users() == [user]
        session = await scope.get_auth_session("s1")
        assert session is not None
        assert session.user_id == user.id
        assert [e.id for e in await scope.list_audit_events()] == ["e1"]
        # Failure counters were dropped for tickets (locks are minutes long).
        assert await store.login_tickets("k") == []

        support = make_support_session(tenant.id, user.id)
        await scope.create_support_session(support)
        assert await store.locate_join_token(support.join_token_hash) == (tenant.id, support.id)
        event = make_security_event(tenant.id)
        await store.add_security_event(event)
        assert await scope.list_security_events() == [event]
        with pytest.raises(Conflict):
            await scope.create_support_session(
                make_support_session(tenant.id, join_token_hash=support.join_token_hash)
            )
    finally:
        await store.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        indexes = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        plans = {
            sql: " ".join(str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
            for sql in (
                "SELECT id FROM support_sessions WHERE pin_hash = 'x'",
                "SELECT * FROM support_sessions WHERE tenant_id = 'a' AND created_at >= 1"
                " ORDER BY created_at DESC, id DESC LIMIT 5",
                "SELECT * FROM support_sessions WHERE tenant_id = 'a' AND agent_id = 'b'"
                " AND created_at < 9 ORDER BY created_at DESC, id DESC LIMIT 5",
                "SELECT id FROM security_events WHERE tenant_id = 'a' ORDER BY at DESC, seq DESC",
            )
        }
    conn.close()
    assert {
        "support_sessions_join_token",
        "support_sessions_pin",
        "support_sessions_newest",
        "support_sessions_agent",
        "security_events_newest",
    } <= indexes
    for sql, plan in plans.items():
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (sql, plan)
        assert "TEMP B-TREE" not in plan, (sql, plan)

    # Opening again finds nothing left to do.
    reopened = await open_store(f"sqlite:///{path}")
    try:
        assert await reopened.locate_join_token(support.join_token_hash) == (tenant.id, support.id)
        assert await reopened.scoped(tenant.id).get_user(user.id) == user
    finally:
        await reopened.close()


async def test_sqlite_failed_upgrade_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    tenant, user = make_v1_sqlite_file(path)
    # Something in the way of the upgrade's second statement onwards.
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE security_events (x TEXT)")
    conn.close()

    with pytest.raises(StoreUnavailable):
        await open_store(f"sqlite:///{path}")

    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert "support_sessions" not in tables  # rolled back with the rest
        assert conn.execute("SELECT id FROM users").fetchall() == [(user.id,)]
        assert conn.execute("SELECT name FROM tenants").fetchall() == [(tenant.name,)]
    conn.close()


# The support-session fields each schema version added (migration n made version n).
def added_in(table: str, column: str) -> int:
    """The schema version whose migration added ``column`` to ``table``."""
    return next(
        version + 1
        for version, statements in enumerate(MIGRATIONS)
        if any(f"ALTER TABLE {table} ADD COLUMN {column} " in s for s in statements)
    )


POLICY_VERSION = added_in("support_sessions", "tools_off")  # and the tenants' policies
SESSION_FIELDS_OF = {7: ("version", "ended_by_user_id", "ended_by_name"),
                     8: ("customer_name", "reference"),
                     POLICY_VERSION: ("tools_off", "rating_on", "rating", "rating_comment",
                                      "rated_at"),
                     added_in("support_sessions", "own_key"): ("own_key", "purged_at"),
                     added_in("support_sessions", "recording"): ("recording",)}  # fmt: skip
TENANT_FIELDS_OF_POLICY_VERSION = (
    "two_way_audio", "snapshots", "chat", "recording", "join_link_minutes", "pin_joining",
    "retention_days", "customer_rating", "seats", "subscription_ends",
)  # fmt: skip


def sqlite_file_with_sessions(path: Path, version: int, *sessions: SupportSession) -> None:
    """A file as the release of schema ``version`` left it, with ``sessions`` as it
    wrote them: without the fields later versions added."""
    later = {f for v, fields in SESSION_FIELDS_OF.items() if v > version for f in fields}
    columns = [c.name for c in SUPPORT_SESSIONS.columns if c.name not in later]
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            for statements in MIGRATIONS[:version]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            for session in sessions:
                row = dict(zip((c.name for c in SUPPORT_SESSIONS.columns),
                               SUPPORT_SESSIONS.row(session), strict=True))  # fmt: skip
                conn.execute(
                    f"INSERT INTO support_sessions ({', '.join(columns)})"  # noqa: S608
                    f" VALUES ({', '.join('?' * len(columns))})",
                    [row[name] for name in columns],
                )
    finally:
        conn.close()


async def test_sqlite_upgrades_a_version_6_file_with_sessions_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    tenant = make_tenant("Acme")
    waiting = make_support_session(tenant.id, "agent-1", created_at=NOW)
    ended = make_support_session(
        tenant.id, "agent-1", created_at=NOW + 1, pin_hash=None, status="ended",
        ended_at=NOW + 60, outcome="completed", ended_by="agent", experts=("agent-2",),
        consent_scopes=("camera",),
    )  # fmt: skip
    sqlite_file_with_sessions(path, 6, waiting, ended)

    store = await open_store(f"sqlite:///{path}")
    try:
        scope = store.scoped(tenant.id)
        # Existing sessions are at version 0, ended by no one named.
        assert await scope.list_support_sessions() == [ended, waiting]
        assert await store.locate_pin(waiting.pin_hash or "") == (tenant.id, waiting.id)
        named = dataclasses.replace(ended, ended_by_user_id="agent-2", ended_by_name="Kim")
        saved = await scope.save_support_session(named)
        assert saved == dataclasses.replace(named, version=1)
        with pytest.raises(StaleRecord):
            await scope.save_support_session(ended)
        assert await scope.get_support_session(ended.id) == saved
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        versions = conn.execute("SELECT version FROM support_sessions ORDER BY created_at")
        assert versions.fetchall() == [(0,), (1,)]
    conn.close()


async def test_sqlite_upgrades_a_version_7_file_with_sessions_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    ended = make_support_session(
        "acme", pin_hash=None, status="ended", ended_at=NOW + 60, outcome="completed",
        ended_by="agent", ended_by_user_id="agent-1", ended_by_name="Ann", version=5,
    )  # fmt: skip
    sqlite_file_with_sessions(path, 7, ended)

    store = await open_store(f"sqlite:///{path}")
    try:  # it names no customer and no case, and keeps its version
        assert await store.scoped("acme").list_support_sessions() == [ended]
        named = dataclasses.replace(ended, customer_name=b"\x01sealed", reference="T-7")
        assert await store.scoped("acme").save_support_session(named) == dataclasses.replace(
            named, version=6
        )
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)
        kept = conn.execute("SELECT customer_name, reference, version FROM support_sessions")
        assert kept.fetchall() == [(b"\x01sealed", "T-7", 6)]
    conn.close()


async def test_sqlite_upgrade_gives_accounts_and_sessions_the_policy_defaults(
    tmp_path: Path,
) -> None:
    path = tmp_path / "before-policies.db"
    before = POLICY_VERSION - 1
    assert all(added_in("tenants", f) == POLICY_VERSION for f in TENANT_FIELDS_OF_POLICY_VERSION)
    tenant = make_tenant("Acme", require_totp=True)
    ended = make_support_session(
        tenant.id, pin_hash=None, status="ended", ended_at=NOW + 60, outcome="completed",
        ended_by="customer", customer_device_hash="d" * 64, version=2,
    )  # fmt: skip
    sqlite_file_with_sessions(path, before, ended)
    columns = [c.name for c in TENANTS.columns if c.name not in TENANT_FIELDS_OF_POLICY_VERSION]
    row = dict(zip((c.name for c in TENANTS.columns), TENANTS.row(tenant), strict=True))
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"INSERT INTO tenants ({', '.join(columns)})"  # noqa: S608
            f" VALUES ({', '.join('?' * len(columns))})",
            [row[name] for name in columns],
        )
    conn.close()

    store = await open_store(f"sqlite:///{path}")
    try:
        scope = store.scoped(tenant.id)
        # Accounts as they were: every tool on, 15-minute links, PINs, no rating, no
        # limits; sessions with every tool on and no rating asked.
        assert await scope.get_tenant() == tenant
        assert await scope.list_support_sessions() == [ended]
        rated = dataclasses.replace(ended, rating=4, rating_comment=b"\x01s", rated_at=NOW + 90)
        assert await scope.save_support_session(rated) == dataclasses.replace(rated, version=3)
        limited = dataclasses.replace(tenant, seats=2, customer_rating=True, chat=False)
        await scope.save_tenant(limited)
        assert await scope.get_tenant() == limited
    finally:
        await store.close()


@pytest.fixture
def mongo_url(mongo_base_url: str) -> Iterator[str]:
    database = unique_database()
    yield database_url(mongo_base_url, database)
    drop_database(mongo_base_url, database)


async def mongo_upgraded_from(
    mongo_url: str, version: int, left: Callable[[MongoStore], Awaitable[None]]
) -> MongoStore:
    """The database as a release of schema ``version`` ``left`` it, opened by this one:
    upgraded, with the version it knows recorded."""
    store = await open_store(mongo_url)
    assert isinstance(store, MongoStore)
    try:
        await left(store)
        await store.meta.update_one({"_id": "schema"}, {"$set": {"version": version}})
    finally:
        await store.close()
    upgraded = await open_store(mongo_url)
    assert isinstance(upgraded, MongoStore)
    meta = await upgraded.meta.find_one({"_id": "schema"})
    if meta is None or meta["version"] != MONGO_SCHEMA_VERSION:
        await upgraded.close()
        pytest.fail(f"the schema version after the upgrade is {meta}")
    return upgraded


@pytest.mark.mongo
async def test_mongo_upgrades_a_version_6_database_with_sessions(mongo_url: str) -> None:
    assert MONGO_SCHEMA_VERSION >= 7  # 7: sessions may name their customer and case
    session = make_support_session("acme", version=2)

    async def version_6(store: MongoStore) -> None:
        # A session as version 6 wrote it: no customer name, no reference.
        doc = SUPPORT_SESSIONS.doc(session)
        del doc["customer_name"], doc["reference"]
        await store.support_sessions.insert_one(doc)

    upgraded = await mongo_upgraded_from(mongo_url, 6, version_6)
    try:
        scope = upgraded.scoped("acme")
        assert await scope.get_support_session(session.id) == session
        named = dataclasses.replace(session, customer_name=b"\x01sealed", reference="T-7")
        saved = await scope.save_support_session(named)
        assert saved == dataclasses.replace(named, version=3)
        assert await scope.get_support_session(session.id) == saved
    finally:
        await upgraded.close()


@pytest.mark.mongo
async def test_mongo_upgrades_a_version_1_database(mongo_url: str) -> None:
    tenant = make_tenant("Acme")
    user = make_user(tenant.id, "sam@acme.example")

    async def version_1(store: MongoStore) -> None:
        await store.create_tenant(tenant)
        await store.scoped(tenant.id).create_user(user)
        # What the first release left: no support sessions or security log at all.
        await store.support_sessions.drop()
        await store.security_events.drop()

    upgraded = await mongo_upgraded_from(mongo_url, 1, version_1)
    scope = upgraded.scoped(tenant.id)
    try:
        assert "tenant_session_order" in await upgraded.session_items.index_information()
        indexes = await upgraded.support_sessions.index_information()
        assert indexes["join_token_unique"].get("unique") is True
        assert {"pin", "tenant_newest", "tenant_agent_newest"} <= set(indexes)
        assert "tenant_newest" in await upgraded.security_events.index_information()

        assert await scope.get_user(user.id) == user
        session = make_support_session(tenant.id)
        await scope.create_support_session(session)
        with pytest.raises(Conflict):
            await scope.create_support_session(
                make_support_session(tenant.id, join_token_hash=session.join_token_hash)
            )
        # A newer schema than this code knows is refused.
        await upgraded.meta.update_one({"_id": "schema"}, {"$set": {"version": 999}})
    finally:
        await upgraded.close()
    with pytest.raises(StoreUnavailable, match="999"):
        await open_store(mongo_url)
