"""The MongoDB store's part in deletion and retention: session keys, deleting a session
or a whole account, the instance's signing key, its record of deletions, and leases.

FerretDB 1.x has no transactions and no atomic filtered updates, so a lease term is
taken by inserting it under a unique ``_id`` (its name and number), as sign-in tickets
are (see :mod:`.connection`)."""

from __future__ import annotations

from collections import Counter

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from livelens.errors import StoreUnavailable
from livelens.store import records, schema, shared
from livelens.store.encryption import WrappedKey
from livelens.store.mongo.connection import (
    Doc,
    MongoConnection,
    MongoTenantPart,
    insert_new,
    meta_once,
    next_seq,
    read_all,
    read_newest,
    translated,
)


class MongoLifecycle(MongoConnection, shared.InstanceKeys):
    """The instance-level part, a base of :class:`.store.MongoStore`."""

    @translated
    async def _kept_key(self, name: str, candidate: WrappedKey) -> WrappedKey:
        """The instance key in the meta document ``<name>_key``, ``candidate`` stored first
        if there is none."""
        doc_id = f"{name}_key"
        doc = await meta_once(
            self.meta,
            doc_id,
            {"master_key_id": candidate.master_key_id, "sealed": candidate.sealed},
        )
        if doc is None:
            raise StoreUnavailable(f"The instance key {doc_id} vanished from the store.")
        return WrappedKey(str(doc["master_key_id"]), bytes(doc["sealed"]))

    @translated
    async def _replace_key(self, name: str, wrapped: WrappedKey) -> None:
        await self.meta.update_one(
            {"_id": f"{name}_key"},
            {"$set": {"master_key_id": wrapped.master_key_id, "sealed": wrapped.sealed}},
        )

    @translated
    async def add_deletion_record(self, record: records.DeletionRecord) -> None:
        doc = {**schema.DELETION_RECORDS.doc(record), "seq": next_seq()}
        await insert_new(self.collection(schema.DELETION_RECORDS), doc, "A deletion record")

    @translated
    async def list_deletion_records(self, limit: int = 100) -> list[records.DeletionRecord]:
        table = schema.DELETION_RECORDS
        return await read_newest(table, self.collection(table), {}, limit)

    @translated
    async def current_lease(self, name: str) -> records.Lease | None:
        cursor = self.collection(schema.LEASES).find({"name": name})
        found = await read_all(schema.LEASES, cursor.sort([("term", DESCENDING)]).limit(1))
        return found[0] if found else None

    @translated
    async def take_lease(self, lease: records.Lease) -> bool:
        leases = self.collection(schema.LEASES)
        try:
            await leases.insert_one(schema.LEASES.doc(lease))
        except DuplicateKeyError:
            return False
        await leases.delete_many({"name": lease.name, "term": {"$lt": lease.term - 1}})
        return True

    async def forget_deleted(self) -> None:
        """Nothing to do: the server manages its own files."""


class MongoDeletion(MongoTenantPart):
    """The account-level part of :class:`.tenant.MongoTenantStore`."""

    @translated
    async def create_session_key(self, key: records.SessionKey) -> None:
        self._check(key.tenant_id, "session key")
        table = schema.SESSION_KEYS
        await insert_new(self._of(table), table.doc(key), "A session key")

    @translated
    async def get_session_key(self, session_id: str) -> records.SessionKey | None:
        return await self._get(schema.SESSION_KEYS, session_id)

    @translated
    async def delete_session_key(self, session_id: str) -> bool:
        return await self._delete_one(schema.SESSION_KEYS, session_id)

    @translated
    async def delete_session_items(self, session_id: str) -> dict[str, int]:
        items = self._of(schema.SESSION_ITEMS)
        query = {"tenant_id": self.tenant_id, "session_id": session_id}
        kinds = Counter([str(doc["kind"]) async for doc in items.find(query, {"kind": 1})])
        await items.delete_many(query)
        return dict(kinds)

    @translated
    async def delete_support_session(self, session_id: str) -> bool:
        return await self._delete_one(schema.SUPPORT_SESSIONS, session_id)

    @translated
    async def list_sessions_to_purge(
        self, created_before: float, limit: int, after: tuple[float, str] | None = None
    ) -> list[records.SupportSession]:
        if limit <= 0:
            return []  # MongoDB reads limit 0 as "no limit"
        # purged_at None: unset, or a document from before the field existed.
        found: Doc = {"tenant_id": self.tenant_id, "purged_at": None,
                      "created_at": {"$lt": created_before}}  # fmt: skip
        if after is not None:
            at, last_id = after
            found["$or"] = [{"created_at": {"$gt": at}},
                            {"created_at": at, "_id": {"$gt": last_id}}]  # fmt: skip
        cursor = self._of(schema.SUPPORT_SESSIONS).find(found)
        oldest = [("created_at", ASCENDING), ("_id", ASCENDING)]
        return await read_all(schema.SUPPORT_SESSIONS, cursor.sort(oldest).limit(limit))

    @translated
    async def delete_account(self) -> dict[str, int]:
        mine = {"tenant_id": self.tenant_id}
        counts: dict[str, int] = {}
        for table in schema.ACCOUNT_TABLES:
            counts[table.name] = (await self._of(table).delete_many(mine)).deleted_count
        await self._store.spent_codes.delete_many(mine)  # single-use code markers
        result = await self._of(schema.TENANTS).delete_one({"_id": self.tenant_id})
        counts[schema.TENANTS.name] = result.deleted_count
        return counts
