"""The MongoDB store's queries within one account: every filter names the tenant.
Documents and records are mapped by the field tables (:mod:`livelens.store.schema`)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import DuplicateKeyError, PyMongoError

from livelens.errors import NotFound
from livelens.store import records, schema, shared
from livelens.store.mongo.alert_hooks import MongoAlertHooks
from livelens.store.mongo.branding import MongoBranding
from livelens.store.mongo.connection import (
    Doc,
    connection_kept,
    contains_pattern,
    insert_new,
    insert_unique,
    is_unique_violation,
    next_seq,
    read_all,
    read_newest,
    translated,
)
from livelens.store.mongo.exports import MongoExportJobs
from livelens.store.mongo.recordings import MongoRecordings
from livelens.store.repository import ALL_SESSIONS, SessionQuery


async def _replace(
    collection: AsyncCollection[Doc], query: Doc, doc: Doc, duplicate: Exception, missing: str
) -> None:
    """Replace the one document ``query`` finds; ``duplicate`` if that breaks a unique
    index (``_id`` cannot change here, so it is the record's one other unique key)."""
    try:
        result = await collection.replace_one(query, doc)
    except PyMongoError as exc:
        if is_unique_violation(exc):
            raise duplicate from exc
        raise
    if result.matched_count == 0:
        raise NotFound(missing)


class MongoTenantStore(MongoAlertHooks, MongoExportJobs, MongoBranding, MongoRecordings):
    """One account's view of a :class:`.store.MongoStore`: every filter names the tenant
    (the parts' common ground is :class:`.connection.MongoTenantPart`)."""

    async def _oldest_first(
        self, collection: AsyncCollection[Doc], table: schema.Table[schema.R]
    ) -> list[schema.R]:
        cursor = collection.find({"tenant_id": self.tenant_id})
        return await read_all(table, cursor.sort([("created_at", ASCENDING), ("_id", ASCENDING)]))

    @translated
    async def get_tenant(self) -> records.Tenant | None:
        doc = await self._store.tenants.find_one({"_id": self.tenant_id})
        return None if doc is None else schema.TENANTS.from_doc(doc)

    @translated
    async def save_tenant(self, tenant: records.Tenant) -> None:
        self._check(tenant.id, "account")
        await _replace(
            self._store.tenants,
            {"_id": self.tenant_id},
            schema.TENANTS.doc(tenant),
            shared.duplicate_tenant(tenant),
            "No such account.",
        )

    # users

    async def _create(
        self, table: schema.Table[Any], record: Any, what: str, key: str,
        locate: Callable[[str], Awaitable[object]], key_conflict: Exception,
    ) -> None:  # fmt: skip
        """Insert this account's ``record`` (a ``what``), whose ``key`` is unique on the
        whole instance, so that ``locate`` (an instance-level look-up) finds it."""
        self._check(record.tenant_id, what)
        await insert_unique(
            self._store.collection(table),
            table.doc(record),
            key=key,
            find_key=lambda: locate(getattr(record, key)),
            key_conflict=key_conflict,
            what=f"A {what}",
        )

    @translated
    async def create_user(self, user: records.User) -> None:
        # E-mail addresses are unique on the whole instance: sign-in starts from one.
        await self._create(schema.USERS, user, "user", "email", self._store.locate_email,
                           shared.duplicate_email(user))  # fmt: skip

    @translated
    async def get_user(self, user_id: str) -> records.User | None:
        return await self._get(schema.USERS, user_id)

    @translated
    async def find_user_by_email(self, email: str) -> records.User | None:
        doc = await self._store.users.find_one({"email": email, "tenant_id": self.tenant_id})
        return None if doc is None else schema.USERS.from_doc(doc)

    @translated
    async def list_users(self) -> list[records.User]:
        return await self._oldest_first(self._store.users, schema.USERS)

    @translated
    async def save_user(self, user: records.User) -> None:
        self._check(user.tenant_id, "user")
        await _replace(
            self._store.users,
            self._mine(user.id),
            schema.USERS.doc(user),
            shared.duplicate_email(user),
            "No such user.",
        )

    # Single-use codes. A filtered update_one is atomic on MongoDB but not on every
    # MongoDB-protocol server (FerretDB 1 reads, then writes), while a unique _id is
    # enforced by all: so a code is spent by inserting its marker, and only then
    # recorded on the user.

    @translated
    async def claim_totp_step(self, user_id: str, step: int, at: float) -> bool:
        doc = await self._store.users.find_one(self._mine(user_id), {"totp_last_step": 1})
        if doc is None or int(doc.get("totp_last_step", 0)) >= step:
            return False
        if not await self._spend(user_id, f"totp/{step}", at, step=step):
            return False
        await self._store.users.update_one(
            self._mine(user_id), {"$max": {"totp_last_step": step}, "$set": {"updated_at": at}}
        )
        # Codes this old no longer match at all (the window is a step either side).
        await self._store.spent_codes.delete_many(
            {"tenant_id": self.tenant_id, "user_id": user_id, "step": {"$lt": step - 4}}
        )
        return True

    @translated
    async def consume_recovery_code(self, user_id: str, digest: str, at: float) -> bool:
        if not await self._spend(user_id, f"recovery/{digest}", at):
            return False
        result = await self._store.users.update_one(
            self._mine(user_id, recovery_codes=digest),
            {"$pull": {"recovery_codes": digest}, "$set": {"updated_at": at}},
        )
        return result.modified_count > 0

    async def _spend(self, user_id: str, code: str, at: float, step: int | None = None) -> bool:
        marker: Doc = {
            "_id": f"{self.tenant_id}/{user_id}/{code}",
            "tenant_id": self.tenant_id,
            "user_id": user_id,
            "at": at,
        }
        if step is not None:
            marker["step"] = step
        try:
            await self._store.spent_codes.insert_one(marker)
        except DuplicateKeyError:
            return False
        return True

    @translated
    async def delete_user(self, user_id: str) -> bool:
        result = await self._store.users.delete_one(self._mine(user_id))
        await self._store.spent_codes.delete_many({"tenant_id": self.tenant_id, "user_id": user_id})
        return result.deleted_count > 0

    @translated
    async def note_sign_in(self, user_id: str, at: float) -> bool:
        result = await self._store.users.update_one(
            self._mine(user_id), {"$set": {"last_sign_in_at": at}}
        )
        return result.matched_count > 0

    # signed-in browsers

    @translated
    async def create_auth_session(self, session: records.AuthSession) -> None:
        self._check(session.tenant_id, "session")
        await insert_new(self._store.auth_sessions, schema.AUTH_SESSIONS.doc(session), "A session")

    @translated
    async def get_auth_session(self, session_id: str) -> records.AuthSession | None:
        return await self._get(schema.AUTH_SESSIONS, session_id)

    @translated
    async def delete_auth_session(self, session_id: str) -> bool:
        return await self._delete_one(schema.AUTH_SESSIONS, session_id)

    @translated
    async def delete_user_auth_sessions(self, user_id: str) -> int:
        result = await self._store.auth_sessions.delete_many(
            {"tenant_id": self.tenant_id, "user_id": user_id}
        )
        return result.deleted_count

    @translated
    async def purge_expired_auth_sessions(self, now: float) -> int:
        result = await self._store.auth_sessions.delete_many(
            {"tenant_id": self.tenant_id, "expires_at": {"$lte": now}}
        )
        return result.deleted_count

    # audit log

    @translated
    async def add_audit_event(self, event: records.AuditEvent) -> None:
        self._check(event.tenant_id, "audit event")
        doc = {**schema.AUDIT_EVENTS.doc(event), "seq": next_seq()}
        await insert_new(self._store.audit_events, doc, "An audit event")

    @translated
    async def list_audit_events(self, limit: int = 100) -> list[records.AuditEvent]:
        mine = {"tenant_id": self.tenant_id}
        return await read_newest(schema.AUDIT_EVENTS, self._store.audit_events, mine, limit)

    # support sessions

    @translated
    async def create_support_session(self, session: records.SupportSession) -> None:
        # Join tokens are unique on the whole instance: a customer's link starts from one.
        await self._create(schema.SUPPORT_SESSIONS, session, "support session",
                           "join_token_hash", self._store.locate_join_token,
                           shared.duplicate_join_token())  # fmt: skip

    @translated
    async def get_support_session(self, session_id: str) -> records.SupportSession | None:
        return await self._get(schema.SUPPORT_SESSIONS, session_id)

    @translated
    async def save_support_session(self, session: records.SupportSession) -> records.SupportSession:
        self._check(session.tenant_id, "support session")
        stored = dataclasses.replace(session, version=session.version + 1)
        # A document stored before sessions had versions has none, and reads as 0.
        version: object = session.version or {"$in": [0, None]}
        try:
            # One filtered write: atomic on MongoDB (not on FerretDB 1, see the contract).
            await _replace(
                self._store.support_sessions,
                self._mine(session.id, version=version),
                schema.SUPPORT_SESSIONS.doc(stored),
                shared.duplicate_join_token(),
                "No such support session.",
            )
        except NotFound:
            found = await self._store.support_sessions.find_one(self._mine(session.id), {"_id": 1})
            raise shared.refused_session_save(exists=found is not None) from None
        return stored

    @translated
    async def list_support_sessions(
        self, query: SessionQuery = ALL_SESSIONS
    ) -> list[records.SupportSession]:
        if query.limit <= 0:
            return []  # MongoDB reads limit 0 as "no limit"
        return await read_all(schema.SUPPORT_SESSIONS, self._sessions(query).limit(query.limit))

    async def stream_support_sessions(
        self, query: SessionQuery, batch: int
    ) -> AsyncIterator[list[records.SupportSession]]:
        # One cursor, not keyset pages: FerretDB cannot run a page's $or on an index, so
        # each page would read the whole account again.
        page: list[records.SupportSession] = []
        with connection_kept():
            async for doc in self._sessions(dataclasses.replace(query, after=None)).batch_size(
                batch
            ):
                page.append(schema.SUPPORT_SESSIONS.from_doc(doc))
                if len(page) == batch:
                    yield page
                    page = []
        if page:
            yield page

    def _sessions(self, query: SessionQuery) -> AsyncCursor[Doc]:
        """The query's sessions in its order, its limit aside."""
        found: Doc = {"tenant_id": self.tenant_id}
        more: list[Doc] = []  # conditions that need an $or of their own
        if query.agent_id is not None and query.with_experts:
            more.append({"$or": [{"agent_id": query.agent_id}, {"experts": query.agent_id}]})
        elif query.agent_id is not None:
            found["agent_id"] = query.agent_id
        created: Doc = {}
        if query.since is not None:
            created["$gte"] = query.since
        if query.until is not None:
            created["$lt"] = query.until
        if created:
            found["created_at"] = created
        if query.outcome is not None:
            found["outcome"] = query.outcome
        if query.reference:
            found["reference"] = {"$regex": contains_pattern(query.reference)}
        beyond = "$gt" if query.oldest_first else "$lt"
        if query.after is not None:
            at, last_id = query.after
            more.append({"$or": [{"created_at": {beyond: at}},
                                 {"created_at": at, "_id": {beyond: last_id}}]})  # fmt: skip
        if more:
            found["$and"] = more
        direction = ASCENDING if query.oldest_first else DESCENDING
        order = [("created_at", direction), ("_id", direction)]
        return self._store.support_sessions.find(found).sort(order)

    # session content

    @translated
    async def put_session_item(self, item: records.SessionItem) -> None:
        self._check(item.tenant_id, "session item")
        try:
            # Matched by id and tenant: another account's id makes the upsert insert a
            # second _id, which the unique index refuses.
            await self._store.session_items.replace_one(
                self._mine(item.id),
                {**schema.SESSION_ITEMS.doc(item), "seq": next_seq()},
                upsert=True,
            )
        except PyMongoError as exc:
            if is_unique_violation(exc):
                raise shared.duplicate_id("A record") from exc
            raise

    @translated
    async def get_session_item(self, session_id: str, item_id: str) -> records.SessionItem | None:
        doc = await self._store.session_items.find_one(self._mine(item_id, session_id=session_id))
        return None if doc is None else schema.SESSION_ITEMS.from_doc(doc)

    @translated
    async def list_session_items(
        self, session_id: str, kind: records.ContentKind | None = None, limit: int = 1000
    ) -> list[records.SessionItem]:
        query: Doc = {"tenant_id": self.tenant_id, "session_id": session_id}
        if kind is not None:
            query["kind"] = kind
        items = await read_newest(schema.SESSION_ITEMS, self._store.session_items, query, limit)
        items.reverse()
        return items

    # API keys

    @translated
    async def create_api_key(self, key: records.ApiKey) -> None:
        # Key hashes are unique on the whole instance: a request starts from its key.
        await self._create(schema.API_KEYS, key, "API key", "key_hash",
                           self._store.locate_api_key,
                           shared.duplicate_id("An API key"))  # fmt: skip

    @translated
    async def get_api_key(self, key_id: str) -> records.ApiKey | None:
        return await self._get(schema.API_KEYS, key_id)

    @translated
    async def list_api_keys(self) -> list[records.ApiKey]:
        return await self._oldest_first(self._store.api_keys, schema.API_KEYS)

    @translated
    async def delete_api_key(self, key_id: str) -> bool:
        return await self._delete_one(schema.API_KEYS, key_id)

    # security log

    @translated
    async def list_security_events(self, limit: int = 100) -> list[records.SecurityEvent]:
        return await self._store._security_events(self.tenant_id, limit)
