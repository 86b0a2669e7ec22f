"""The MongoDB store's queries. Documents and records are mapped by the field tables
(:mod:`livelens.store.schema`); connecting and indexes are :mod:`.connection`'s."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import DuplicateKeyError, PyMongoError

from livelens.errors import NotFound, StoreUnavailable
from livelens.store import records, schema, shared
from livelens.store.encryption import WrappedKey
from livelens.store.mongo.connection import (
    Doc,
    MongoConnection,
    contains_pattern,
    insert_unique,
    is_unique_violation,
    meta_once,
    next_seq,
    translated,
)
from livelens.store.repository import ALL_SESSIONS, SessionQuery


async def _read_all(table: schema.Table[schema.R], cursor: AsyncCursor[Doc]) -> list[schema.R]:
    return [table.from_doc(doc) async for doc in cursor]


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


class MongoStore(MongoConnection):
    """The :class:`~livelens.store.repository.Store` over one MongoDB database."""

    async def _locate(self, query: Doc) -> tuple[str, str] | None:
        """``(tenant_id, id)`` of the newest support session ``query`` finds."""
        doc = await self.support_sessions.find_one(
            query, {"tenant_id": 1}, sort=[("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        return None if doc is None else (str(doc["tenant_id"]), str(doc["_id"]))

    async def _security_events(
        self, tenant_id: str | None, limit: int
    ) -> list[records.SecurityEvent]:
        if limit <= 0:
            return []  # MongoDB reads limit 0 as "no limit"
        query = {"tenant_id": tenant_id}  # None: events without an account
        newest = [("at", DESCENDING), ("seq", DESCENDING)]
        return await _read_all(
            schema.SECURITY_EVENTS, self.security_events.find(query).sort(newest).limit(limit)
        )

    def scoped(self, tenant_id: str) -> MongoTenantStore:
        return MongoTenantStore(self, tenant_id)

    @translated
    async def derivation_key(self, candidate: WrappedKey) -> WrappedKey:
        doc = await meta_once(
            self.meta,
            "derivation_key",
            {"master_key_id": candidate.master_key_id, "sealed": candidate.sealed},
        )
        if doc is None:
            raise StoreUnavailable("The derivation key vanished from the store.")
        return WrappedKey(str(doc["master_key_id"]), bytes(doc["sealed"]))

    @translated
    async def replace_derivation_key(self, wrapped: WrappedKey) -> None:
        await self.meta.update_one(
            {"_id": "derivation_key"},
            {"$set": {"master_key_id": wrapped.master_key_id, "sealed": wrapped.sealed}},
        )

    # accounts

    @translated
    async def create_tenant(self, tenant: records.Tenant) -> None:
        await insert_unique(
            self.tenants,
            schema.TENANTS.doc(tenant),
            key="name",
            find_key=lambda: self.find_tenant_id_by_name(tenant.name),
            key_conflict=shared.duplicate_tenant(tenant),
            what="An account",
        )

    @translated
    async def find_tenant_id_by_name(self, name: str) -> str | None:
        doc = await self.tenants.find_one({"name": name}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    @translated
    async def list_tenant_ids(self) -> list[str]:
        cursor = self.tenants.find({}, {"_id": 1}).sort([("created_at", ASCENDING), ("_id", 1)])
        return [str(doc["_id"]) async for doc in cursor]

    # instance-level sign-in support

    @translated
    async def locate_email(self, email: str) -> str | None:
        doc = await self.users.find_one({"email": email}, {"tenant_id": 1})
        return None if doc is None else str(doc["tenant_id"])

    @translated
    async def login_tickets(self, key: str) -> list[records.LoginTicket]:
        # A key holds at most its newest round and the one before: read both, keep one.
        tickets = await _read_all(schema.LOGIN_TICKETS, self.sign_in_tickets.find({"key": key}))
        newest = max((t.round for t in tickets), default=0)
        return sorted((t for t in tickets if t.round == newest), key=lambda t: t.number)

    @translated
    async def take_login_ticket(self, ticket: records.LoginTicket) -> bool:
        # The unique _id makes the claim atomic, also on servers without transactions.
        try:
            await self.sign_in_tickets.insert_one(schema.LOGIN_TICKETS.doc(ticket))
        except DuplicateKeyError:
            return False
        return True

    @translated
    async def return_login_ticket(self, ticket: records.LoginTicket) -> None:
        await self.sign_in_tickets.delete_one({"_id": schema.login_ticket_id(ticket)})

    @translated
    async def open_login_round(self, key: str, round_: int, at: float) -> None:
        opening = records.LoginTicket(key, round_, 0, at)
        with contextlib.suppress(DuplicateKeyError):  # another request opened it
            await self.sign_in_tickets.insert_one(schema.LOGIN_TICKETS.doc(opening))
        # The round before stays: a request that read it a moment ago must still find
        # its tickets taken, or it would take one there unchecked by the new round.
        await self.sign_in_tickets.delete_many({"key": key, "round": {"$lt": round_ - 1}})

    # instance-level support-session joining

    @translated
    async def locate_join_token(self, token_hash: str) -> tuple[str, str] | None:
        return await self._locate({"join_token_hash": token_hash})

    @translated
    async def locate_pin(self, pin_hash: str) -> tuple[str, str] | None:
        return await self._locate({"pin_hash": pin_hash, "status": {"$ne": "ended"}})

    # instance-level API key look-up

    @translated
    async def locate_api_key(self, key_hash: str) -> tuple[str, str] | None:
        doc = await self.api_keys.find_one({"key_hash": key_hash}, {"tenant_id": 1})
        return None if doc is None else (str(doc["tenant_id"]), str(doc["_id"]))

    # security log

    @translated
    async def add_security_event(self, event: records.SecurityEvent) -> None:
        try:
            await self.security_events.insert_one(
                {**schema.SECURITY_EVENTS.doc(event), "seq": next_seq()}
            )
        except DuplicateKeyError as exc:
            raise shared.duplicate_id("A security event") from exc

    @translated
    async def list_instance_security_events(self, limit: int = 100) -> list[records.SecurityEvent]:
        return await self._security_events(None, limit)


class MongoTenantStore(shared.TenantScope):
    """One account's view of a :class:`MongoStore`: every filter names the tenant."""

    def __init__(self, store: MongoStore, tenant_id: str) -> None:
        super().__init__(tenant_id)
        self._store = store

    def _mine(self, record_id: str, **more: object) -> Doc:
        """The filter for this tenant's record ``record_id``."""
        return {"_id": record_id, "tenant_id": self.tenant_id, **more}

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
        doc = await self._store.users.find_one(self._mine(user_id))
        return None if doc is None else schema.USERS.from_doc(doc)

    @translated
    async def find_user_by_email(self, email: str) -> records.User | None:
        doc = await self._store.users.find_one({"email": email, "tenant_id": self.tenant_id})
        return None if doc is None else schema.USERS.from_doc(doc)

    @translated
    async def list_users(self) -> list[records.User]:
        cursor = self._store.users.find({"tenant_id": self.tenant_id})
        return await _read_all(
            schema.USERS, cursor.sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        )

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

    # signed-in browsers

    @translated
    async def create_auth_session(self, session: records.AuthSession) -> None:
        self._check(session.tenant_id, "session")
        try:
            await self._store.auth_sessions.insert_one(schema.AUTH_SESSIONS.doc(session))
        except DuplicateKeyError as exc:
            raise shared.duplicate_id("A session") from exc

    @translated
    async def get_auth_session(self, session_id: str) -> records.AuthSession | None:
        doc = await self._store.auth_sessions.find_one(self._mine(session_id))
        return None if doc is None else schema.AUTH_SESSIONS.from_doc(doc)

    @translated
    async def delete_auth_session(self, session_id: str) -> bool:
        result = await self._store.auth_sessions.delete_one(self._mine(session_id))
        return result.deleted_count > 0

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
        try:
            await self._store.audit_events.insert_one(
                {**schema.AUDIT_EVENTS.doc(event), "seq": next_seq()}
            )
        except DuplicateKeyError as exc:
            raise shared.duplicate_id("An audit event") from exc

    @translated
    async def list_audit_events(self, limit: int = 100) -> list[records.AuditEvent]:
        if limit <= 0:
            return []  # MongoDB reads limit 0 as "no limit"
        cursor = self._store.audit_events.find({"tenant_id": self.tenant_id})
        newest = [("at", DESCENDING), ("seq", DESCENDING)]
        return await _read_all(schema.AUDIT_EVENTS, cursor.sort(newest).limit(limit))

    # support sessions

    @translated
    async def create_support_session(self, session: records.SupportSession) -> None:
        # Join tokens are unique on the whole instance: a customer's link starts from one.
        await self._create(schema.SUPPORT_SESSIONS, session, "support session",
                           "join_token_hash", self._store.locate_join_token,
                           shared.duplicate_join_token())  # fmt: skip

    @translated
    async def get_support_session(self, session_id: str) -> records.SupportSession | None:
        doc = await self._store.support_sessions.find_one(self._mine(session_id))
        return None if doc is None else schema.SUPPORT_SESSIONS.from_doc(doc)

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
        cursor = self._store.support_sessions.find(found)
        direction = ASCENDING if query.oldest_first else DESCENDING
        order = [("created_at", direction), ("_id", direction)]
        return await _read_all(schema.SUPPORT_SESSIONS, cursor.sort(order).limit(query.limit))

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
        if limit <= 0:
            return []
        query: Doc = {"tenant_id": self.tenant_id, "session_id": session_id}
        if kind is not None:
            query["kind"] = kind
        cursor = self._store.session_items.find(query)
        newest = [("at", DESCENDING), ("seq", DESCENDING)]
        items = await _read_all(schema.SESSION_ITEMS, cursor.sort(newest).limit(limit))
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
        doc = await self._store.api_keys.find_one(self._mine(key_id))
        return None if doc is None else schema.API_KEYS.from_doc(doc)

    @translated
    async def list_api_keys(self) -> list[records.ApiKey]:
        cursor = self._store.api_keys.find({"tenant_id": self.tenant_id})
        return await _read_all(
            schema.API_KEYS, cursor.sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        )

    @translated
    async def delete_api_key(self, key_id: str) -> bool:
        result = await self._store.api_keys.delete_one(self._mine(key_id))
        return result.deleted_count > 0

    # security log

    @translated
    async def list_security_events(self, limit: int = 100) -> list[records.SecurityEvent]:
        return await self._store._security_events(self.tenant_id, limit)
