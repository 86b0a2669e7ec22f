"""The recording policy's "agent's choice" was stored as ``agent_choice`` before
recording was built; the API documents it as ``agent``. Stores written then read it
back as ``agent`` after the upgrade, on both engines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from livelens.store import open_store
from livelens.store.schema import TENANTS
from livelens.store.sqlite import SCHEMA_VERSION
from tests.mongo_server import database_url, drop_database, unique_database
from tests.store.test_contract import make_tenant, sqlite_file_with_sessions


async def test_sqlite_reads_the_old_name_of_agent_choice_as_agent(tmp_path: Path) -> None:
    path = tmp_path / "before.db"
    tenant = make_tenant("Acme")
    sqlite_file_with_sessions(path, SCHEMA_VERSION - 1)
    columns = [c.name for c in TENANTS.columns]
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(
                f"INSERT INTO tenants ({', '.join(columns)})"  # noqa: S608
                f" VALUES ({', '.join('?' * len(columns))})",
                TENANTS.row(tenant),
            )
            conn.execute("UPDATE tenants SET recording = 'agent_choice'")
    finally:
        conn.close()

    store = await open_store(f"sqlite:///{path}")
    try:
        stored = await store.scoped(tenant.id).get_tenant()
    finally:
        await store.close()
    assert stored is not None and stored.recording == "agent"


@pytest.mark.mongo
async def test_mongo_reads_the_old_name_of_agent_choice_as_agent(mongo_base_url: str) -> None:
    database = unique_database()
    url = database_url(mongo_base_url, database)
    tenant = make_tenant("Acme")
    store = await open_store(url)
    try:
        await store.create_tenant(tenant)
    finally:
        await store.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
    try:
        await client[database][TENANTS.name].update_one(
            {"_id": tenant.id}, {"$set": {"recording": "agent_choice"}}
        )
        store = await open_store(url)  # every node's start-up brings it up to date
        try:
            stored = await store.scoped(tenant.id).get_tenant()
        finally:
            await store.close()
        assert stored is not None and stored.recording == "agent"
    finally:
        await client.close()
        drop_database(mongo_base_url, database)
