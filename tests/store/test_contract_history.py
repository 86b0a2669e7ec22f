"""The store contract for session history, reports and API keys, on every engine (see
conftest.py): paging by keyset, filters and search, and API keys kept per account."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from livelens.errors import Conflict, InvalidInput
from livelens.store import Store, TenantStore, open_store
from livelens.store.mongo import MongoStore
from livelens.store.records import ApiKey, SupportSession, new_id
from livelens.store.repository import SessionQuery
from tests.mongo_server import database_url, drop_database, unique_database
from tests.store.test_contract import NOW, make_support_session, new_tenant


def make_key(tenant_id: str, name: str = "BI export", **changes: Any) -> ApiKey:
    key = ApiKey(id=new_id(), tenant_id=tenant_id, name=name, key_hash="h" + new_id(),
                 created_at=NOW, created_by="admin-1")  # fmt: skip
    return dataclasses.replace(key, **changes)


async def listed(scope: TenantStore, **query: Any) -> list[SupportSession]:
    return await scope.list_support_sessions(SessionQuery(**query))


async def all_pages(scope: TenantStore, size: int, **query: Any) -> list[list[str]]:
    """Every page of ``size`` sessions, by id, following the keyset to the end."""
    pages: list[list[str]] = []
    after = None
    while True:
        page = await listed(scope, limit=size, after=after, **query)
        if page:
            pages.append([s.id for s in page])
        if len(page) < size:
            return pages
        after = (page[-1].created_at, page[-1].id)


# --- API keys ---


async def test_api_keys_are_kept_listed_found_and_deleted(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    later = make_key(acme.tenant_id, "later", created_at=NOW + 5)
    first = make_key(acme.tenant_id, "first", created_at=NOW)
    tied = make_key(acme.tenant_id, "tied", created_at=NOW, id="f" * 32)
    for key in (later, tied, first):
        await acme.create_api_key(key)

    assert await acme.get_api_key(first.id) == first
    # Oldest first, ties by id.
    assert await acme.list_api_keys() == [*sorted([first, tied], key=lambda k: k.id), later]
    assert await store.locate_api_key(first.key_hash) == (acme.tenant_id, first.id)
    assert await store.locate_api_key("h-nobody") is None

    assert await acme.delete_api_key(first.id) is True
    assert await acme.delete_api_key(first.id) is False
    assert await acme.get_api_key(first.id) is None
    assert await store.locate_api_key(first.key_hash) is None
    assert [k.id for k in await acme.list_api_keys()] == [tied.id, later.id]


async def test_api_keys_belong_to_one_account(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    key = make_key(acme.tenant_id)
    await acme.create_api_key(key)

    assert await other.get_api_key(key.id) is None
    assert await other.list_api_keys() == []
    assert await other.delete_api_key(key.id) is False
    assert await acme.get_api_key(key.id) == key
    with pytest.raises(InvalidInput):
        await other.create_api_key(make_key(acme.tenant_id))
    # Ids and key hashes are unique on the whole instance.
    with pytest.raises(Conflict):
        await other.create_api_key(make_key(other.tenant_id, key_hash=key.key_hash))
    with pytest.raises(Conflict):
        await other.create_api_key(make_key(other.tenant_id, id=key.id))
    with pytest.raises(Conflict):
        await acme.create_api_key(make_key(acme.tenant_id, key_hash=key.key_hash))
    assert await other.list_api_keys() == []
    assert await acme.list_api_keys() == [key]


# --- session history and reports ---


async def test_keyset_pages_cover_every_session_once_in_both_orders(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    # Ties in created_at across page boundaries: ids must break them the same way.
    made = [
        make_support_session(scope.tenant_id, created_at=NOW + (i // 3), id=f"{i:032x}")
        for i in range(10)
    ]
    for session in reversed(made):
        await scope.create_support_session(session)
    newest = [s.id for s in sorted(made, key=lambda s: (s.created_at, s.id), reverse=True)]

    for size in (1, 2, 3, 4, 10, 11):
        pages = await all_pages(scope, size)
        assert [i for page in pages for i in page] == newest, size
        assert all(len(page) <= size for page in pages)
        pages = await all_pages(scope, size, oldest_first=True)
        assert [i for page in pages for i in page] == newest[::-1], size
    # A page goes on after the given session, whichever it is.
    after, at = (made[4].created_at, made[4].id), newest.index(made[4].id)
    assert [s.id for s in await listed(scope, after=after)] == newest[at + 1 :]
    oldest = [s.id for s in await listed(scope, after=after, oldest_first=True)]
    assert oldest == newest[:at][::-1]


async def test_a_stream_gives_every_matching_session_once_in_batches(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    await other.create_support_session(make_support_session(other.tenant_id))
    made = [
        make_support_session(scope.tenant_id, agent_id=("a1", "a2")[i % 2],
                             created_at=NOW + (i // 3), id=f"{i:032x}")
        for i in range(10)
    ]  # fmt: skip
    for session in reversed(made):
        await scope.create_support_session(session)
    oldest = sorted(made, key=lambda s: (s.created_at, s.id))

    async def streamed(batch: int, **query: Any) -> list[list[SupportSession]]:
        return [page async for page in scope.stream_support_sessions(SessionQuery(**query), batch)]

    # The query's limit does not cut a stream; its filters and order hold.
    for batch in (1, 3, 10, 11):
        pages = await streamed(batch, oldest_first=True, limit=2)
        assert [s for page in pages for s in page] == oldest, batch
        assert [len(page) for page in pages][:-1] == [batch] * (len(pages) - 1)
    newest_a1 = [s.id for s in reversed(oldest) if s.agent_id == "a1"]
    assert [s.id for page in await streamed(2, agent_id="a1") for s in page] == newest_a1
    assert await streamed(4, agent_id="nobody") == []


async def test_sessions_are_found_by_outcome(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    done = make_support_session(scope.tenant_id, created_at=NOW, status="ended",
                                outcome="completed", pin_hash=None)  # fmt: skip
    dropped = make_support_session(scope.tenant_id, created_at=NOW + 1, status="ended",
                                   outcome="dropped", pin_hash=None)  # fmt: skip
    running = make_support_session(scope.tenant_id, created_at=NOW + 2, status="live")
    for session in (done, dropped, running):
        await scope.create_support_session(session)

    assert await listed(scope, outcome="completed") == [done]
    assert await listed(scope, outcome="dropped") == [dropped]
    assert await listed(scope, outcome="expired") == []
    assert await listed(scope) == [running, dropped, done]


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("T-42", {"T-42", "t-42b", "ticket T-420"}),
        ("t-42", {"T-42", "t-42b", "ticket T-420"}),
        ("ticket", {"ticket T-420", "TICKET_9"}),
        ("_", {"TICKET_9"}),  # LIKE's wildcards are plain characters
        ("%", {"100% fixed"}),
        ("\\", {"back\\slash"}),
        (".*", {"a.*b"}),  # so are a regular expression's
        ("(", {"(x)"}),
        ("[x", set()),
        ("ÉCRAN", {"ÉCRAN"}),  # letters beyond ASCII: as they are
        ("écran", {"écran 2"}),
        ("a b", {"a b"}),
        ("zzz", set()),
    ],
)
async def test_sessions_are_found_by_their_reference(
    store: Store, search: str, found: set[str]
) -> None:
    scope = await new_tenant(store, "Acme")
    references = ["T-42", "t-42b", "ticket T-420", "TICKET_9", "100% fixed", "back\\slash",
                  "a.*b", "(x)", "ÉCRAN", "écran 2", "a b", None]  # fmt: skip
    for i, reference in enumerate(references):
        await scope.create_support_session(
            make_support_session(scope.tenant_id, created_at=NOW + i, reference=reference)
        )
    assert {s.reference for s in await listed(scope, reference=search)} == found


async def test_filters_and_paging_combine(store: Store) -> None:
    scope = await new_tenant(store, "Acme")
    ann, bob = "agent-ann", "agent-bob"
    made = []
    for i in range(12):
        owner = ann if i % 2 else bob
        made.append(make_support_session(
            scope.tenant_id, owner, created_at=NOW + i, reference=f"case-{i % 3}",
            experts=(ann,) if i % 4 == 0 else (), status="ended", pin_hash=None,
            outcome="completed" if i % 3 else "declined",
        ))  # fmt: skip
    for session in made:
        await scope.create_support_session(session)

    def expected(keep: Any) -> list[str]:
        return [s.id for s in reversed(made) if keep(s)]

    # Ann's own and those she was invited into, with a reference filter, page by page.
    query: dict[str, Any] = {"agent_id": ann, "with_experts": True, "reference": "CASE-1"}
    pages = await all_pages(scope, 2, **query)
    assert [i for page in pages for i in page] == expected(
        lambda s: (s.agent_id == ann or ann in s.experts) and s.reference == "case-1"
    )
    pages = await all_pages(scope, 2, agent_id=bob, outcome="completed",
                            since=NOW + 2, until=NOW + 10, oldest_first=True)  # fmt: skip
    assert [i for page in pages for i in page] == expected(
        lambda s: s.agent_id == bob and s.outcome == "completed"
        and NOW + 2 <= s.created_at < NOW + 10
    )[::-1]  # fmt: skip


async def test_history_filters_stay_within_the_account(store: Store) -> None:
    acme = await new_tenant(store, "Acme")
    other = await new_tenant(store, "Other")
    session = make_support_session(acme.tenant_id, "agent-ann", reference="T-1",
                                   status="ended", outcome="completed", pin_hash=None)  # fmt: skip
    await acme.create_support_session(session)
    for query in ({"reference": "T-1"}, {"outcome": "completed"}, {"agent_id": "agent-ann"},
                  {"after": (NOW + 1, "f" * 32)}, {"oldest_first": True}):  # fmt: skip
        assert await listed(other, **query) == [], query
        assert await listed(acme, **query) == [session], query


# --- indexes ---


def sqlite_plan(path: Path, where: str, params: tuple[object, ...], order: str) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT * FROM support_sessions WHERE {where}"  # noqa: S608
            f" ORDER BY created_at {order}, id {order} LIMIT 100",
            params,
        ).fetchall()
    conn.close()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    ("where", "params", "index"),
    [
        ("tenant_id = ?", ("a",), "support_sessions_newest"),
        ("tenant_id = ? AND (created_at, id) < (?, ?)", ("a", NOW, "x"), "support_sessions_newest"),
        ("tenant_id = ? AND agent_id = ? AND (created_at, id) < (?, ?)", ("a", "b", NOW, "x"),
         "support_sessions_agent"),
        ("tenant_id = ? AND outcome = ? AND created_at >= ? AND created_at < ?",
         ("a", "completed", NOW, NOW + 1), "support_sessions_outcome"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("order", ["DESC", "ASC"])
async def test_sqlite_pages_come_from_an_index_in_either_order(
    tmp_path: Path, where: str, params: tuple[object, ...], index: str, order: str
) -> None:
    await (await open_store(f"sqlite:///{tmp_path / 'x.db'}")).close()
    plan = sqlite_plan(tmp_path / "x.db", where, params, order)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order


@pytest.mark.mongo
async def test_mongo_has_the_history_and_api_key_indexes(mongo_base_url: str) -> None:
    database = unique_database()
    store = await open_store(database_url(mongo_base_url, database))
    assert isinstance(store, MongoStore)
    try:
        sessions = await store.support_sessions.index_information()
        assert "tenant_outcome_newest" in sessions
        keys = await store.api_keys.index_information()
        assert keys["key_hash_unique"].get("unique") is True
        assert "tenant_created" in keys
    finally:
        await store.close()
        drop_database(mongo_base_url, database)
