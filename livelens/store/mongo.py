"""The MongoDB engine, through PyMongo's async API, for scale-out deployments.

It must also run on FerretDB 1.24 (the CI server), which shapes a few choices:

* no transactions, and ``findAndModify``/``$inc`` are not atomic under concurrent
  requests (lost updates), so the sign-in failure counter claims numbered slots
  with plain inserts, which a unique ``_id`` makes atomic on every server;
* duplicate-key errors carry no ``keyPattern`` and a unique violation on update is
  a generic error, so the engine works out which constraint failed itself;
* no partial indexes, so a PIN hash cannot be made unique among sessions that
  have not ended (nor is it in SQLite: the services avoid collisions).
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import parse_qsl, urlsplit

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
)

from livelens.errors import (
    Conflict,
    DuplicateEmail,
    DuplicateTenant,
    InvalidInput,
    NotFound,
    StoreUnavailable,
)
from livelens.store.encryption import WrappedKey
from livelens.store.records import (
    AuditEvent,
    AuthSession,
    ContentKind,
    LoginTicket,
    Outcome,
    Role,
    SecurityEvent,
    SessionItem,
    SessionStatus,
    SupportSession,
    Tenant,
    User,
)

P = ParamSpec("P")
T = TypeVar("T")
Doc = dict[str, Any]

DEFAULT_DATABASE = "livelens"
# Fail fast when the store is down instead of PyMongo's 30 s default; a URL may
# still set its own values (e.g. a longer one to ride out replica-set elections).
DEFAULT_TIMEOUTS_MS = {"serverSelectionTimeoutMS": 3000, "connectTimeoutMS": 3000}
# 2: support sessions and the security log (new collections and indexes only).
# 3: session content (a new collection); sessions may carry invited experts (optional).
# 5: sign-in tickets replace the failure counters; users may carry a display name.
SCHEMA_VERSION = 5


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    # PyMongo appends timeouts and the whole topology description; keep the cause.
    text = text.split(", Timeout: ")[0]
    text = re.sub(r" \(configured timeouts:[^)]*\)", "", text)
    return text[:300]


def _hosts(url: str) -> str:
    """The host list of a MongoDB URL without credentials, for messages."""
    try:
        return urlsplit(url).netloc.rpartition("@")[2] or "?"
    except ValueError:
        return "?"


def _translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Report a lost connection as StoreUnavailable (HTTP 503), not a driver error."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except ConnectionFailure as exc:
            raise StoreUnavailable(f"MongoDB store unavailable: {_one_line(exc)}") from exc

    return wrapper


def _is_unique_violation(exc: PyMongoError) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    # FerretDB reports a unique index hit by an update as InternalError (code 1).
    return isinstance(exc, OperationFailure) and "UNIQUE constraint failed" in str(exc)


def _key_pattern(exc: PyMongoError) -> Mapping[str, Any] | None:
    details = exc.details if isinstance(exc, OperationFailure) else None
    pattern = details.get("keyPattern") if details else None
    return pattern if isinstance(pattern, Mapping) else None


async def _insert_unique(
    collection: AsyncCollection[Doc],
    doc: Doc,
    *,
    key: str,
    find_key: Callable[[], Awaitable[object]],
    key_conflict: Exception,
    what: str,
) -> None:
    """Inserts `doc`, telling a clash on the unique `key` from one on `_id`. The server
    names the index it hit; when it does not (FerretDB), `find_key` looks the key up."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError as exc:
        pattern = _key_pattern(exc)
        taken = key in pattern if pattern is not None else await find_key() is not None
        if taken:
            raise key_conflict from exc
        raise Conflict(f"{what} with this id already exists.") from exc


_last_seq = 0
_seq_lock = threading.Lock()


def _next_seq() -> int:
    """Strictly increasing in this process, roughly time-ordered across processes:
    orders audit events that share a timestamp by insertion."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return _last_seq


class MongoStore:
    """The :class:`~livelens.store.repository.Store` over one MongoDB database."""

    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self._client = client
        db = client[database]
        self.database = database
        self.tenants: AsyncCollection[Doc] = db["tenants"]
        self.users: AsyncCollection[Doc] = db["users"]
        self.auth_sessions: AsyncCollection[Doc] = db["auth_sessions"]
        self.audit_events: AsyncCollection[Doc] = db["audit_events"]
        self.sign_in_tickets: AsyncCollection[Doc] = db["login_tickets"]
        self.support_sessions: AsyncCollection[Doc] = db["support_sessions"]
        self.security_events: AsyncCollection[Doc] = db["security_events"]
        self.session_items: AsyncCollection[Doc] = db["session_items"]
        self.spent_codes: AsyncCollection[Doc] = db["spent_codes"]
        self.meta: AsyncCollection[Doc] = db["meta"]

    @classmethod
    async def open(cls, url: str) -> MongoStore:
        try:
            given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query)}
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket
            raise InvalidInput(f"Invalid MongoDB store URL: {exc}") from exc
        options: dict[str, Any] = {
            k: v for k, v in DEFAULT_TIMEOUTS_MS.items() if k.lower() not in given
        }
        try:
            client: AsyncMongoClient[Doc] = AsyncMongoClient(url, appname="livelens", **options)
        except (InvalidURI, ValueError) as exc:  # PyMongo raises both for malformed URLs
            raise InvalidInput(f"Invalid MongoDB store URL: {_one_line(exc)}") from exc
        except ConfigurationError as exc:  # e.g. the SRV record cannot be resolved
            raise StoreUnavailable(
                f"Cannot use the MongoDB store at {_hosts(url)}: {_one_line(exc)}"
            ) from exc
        database = client.get_default_database(DEFAULT_DATABASE).name
        store = cls(client, database)
        try:
            await client.admin.command("ping")
            await store._prepare()
        except PyMongoError as exc:
            await client.close()
            raise StoreUnavailable(
                f"Cannot reach the MongoDB store at {_hosts(url)}: {_one_line(exc)}"
            ) from exc
        except BaseException:
            await client.close()
            raise
        return store

    async def _meta_once(self, doc_id: str, fields: Doc) -> Doc | None:
        """The meta document ``doc_id``, created with ``fields`` if there is none: of
        nodes doing this at the same moment, all read the one created first."""
        try:
            await self.meta.update_one({"_id": doc_id}, {"$setOnInsert": fields}, upsert=True)
        except PyMongoError as exc:
            if not _is_unique_violation(exc):
                raise
            # Another node created it at the same moment (FerretDB does not retry).
        return await self.meta.find_one({"_id": doc_id})

    async def _prepare(self) -> None:
        meta = await self._meta_once("schema", {"version": SCHEMA_VERSION})
        version = int(meta["version"]) if meta else SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"The store has schema version {version}; this LiveLens knows up to "
                f"{SCHEMA_VERSION}. Upgrade LiveLens."
            )
        # createIndexes is idempotent, so every node runs it at start-up.
        await self.tenants.create_index("name", unique=True, name="name_unique")
        # E-mail addresses are unique on the whole instance: sign-in finds the
        # account from the address alone.
        await self.users.create_index("email", unique=True, name="email_unique")
        await self.users.create_index(
            [("tenant_id", ASCENDING), ("created_at", ASCENDING)], name="tenant_created"
        )
        await self.auth_sessions.create_index(
            [("tenant_id", ASCENDING), ("user_id", ASCENDING)], name="tenant_user"
        )
        await self.auth_sessions.create_index(
            [("tenant_id", ASCENDING), ("expires_at", ASCENDING)], name="tenant_expiry"
        )
        await self.audit_events.create_index(
            [("tenant_id", ASCENDING), ("at", DESCENDING), ("seq", DESCENDING)],
            name="tenant_newest",
        )
        await self.sign_in_tickets.create_index(
            [("key", ASCENDING), ("round", ASCENDING)], name="key_round"
        )
        # A customer's link finds the session (and its account) from the token alone.
        await self.support_sessions.create_index(
            "join_token_hash", unique=True, name="join_token_unique"
        )
        await self.support_sessions.create_index("pin_hash", name="pin")
        # Reports: newest first, ties by id.
        await self.support_sessions.create_index(
            [("tenant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="tenant_newest",
        )
        await self.support_sessions.create_index(
            [
                ("tenant_id", ASCENDING),
                ("agent_id", ASCENDING),
                ("created_at", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="tenant_agent_newest",
        )
        await self.security_events.create_index(
            [("tenant_id", ASCENDING), ("at", DESCENDING), ("seq", DESCENDING)],
            name="tenant_newest",
        )
        await self.session_items.create_index(
            [("tenant_id", ASCENDING), ("session_id", ASCENDING), ("at", ASCENDING),
             ("seq", ASCENDING)],
            name="tenant_session_order",
        )  # fmt: skip
        await self.spent_codes.create_index(
            [("tenant_id", ASCENDING), ("user_id", ASCENDING), ("step", ASCENDING)],
            name="tenant_user_step",
        )
        if version < 5:  # failure counters, replaced by sign-in tickets
            for name in ("login_guards", "login_failures"):
                await self._client[self.database].drop_collection(name)
        if version < SCHEMA_VERSION:
            # Recorded only once everything above exists; a node that stops half-way
            # simply redoes the (idempotent) work on its next start.
            await self.meta.update_one(
                {"_id": "schema", "version": {"$lt": SCHEMA_VERSION}},
                {"$set": {"version": SCHEMA_VERSION}},
            )

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise StoreUnavailable(f"MongoDB store unavailable: {_one_line(exc)}") from exc

    async def close(self) -> None:
        await self._client.close()

    def scoped(self, tenant_id: str) -> MongoTenantStore:
        if not tenant_id:
            raise InvalidInput("A tenant id is required.")
        return MongoTenantStore(self, tenant_id)

    @_translated
    async def derivation_key(self, candidate: WrappedKey) -> WrappedKey:
        doc = await self._meta_once(
            "derivation_key", {"master_key_id": candidate.master_key_id, "sealed": candidate.sealed}
        )
        if doc is None:
            raise StoreUnavailable("The derivation key vanished from the store.")
        return WrappedKey(str(doc["master_key_id"]), bytes(doc["sealed"]))

    @_translated
    async def replace_derivation_key(self, wrapped: WrappedKey) -> None:
        await self.meta.update_one(
            {"_id": "derivation_key"},
            {"$set": {"master_key_id": wrapped.master_key_id, "sealed": wrapped.sealed}},
        )

    # accounts

    @_translated
    async def create_tenant(self, tenant: Tenant) -> None:
        await _insert_unique(
            self.tenants,
            _tenant_doc(tenant),
            key="name",
            find_key=lambda: self.find_tenant_id_by_name(tenant.name),
            key_conflict=_duplicate_tenant(tenant),
            what="An account",
        )

    @_translated
    async def find_tenant_id_by_name(self, name: str) -> str | None:
        doc = await self.tenants.find_one({"name": name}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    @_translated
    async def list_tenant_ids(self) -> list[str]:
        cursor = self.tenants.find({}, {"_id": 1}).sort([("created_at", ASCENDING), ("_id", 1)])
        return [str(doc["_id"]) async for doc in cursor]

    # instance-level sign-in support

    @_translated
    async def locate_email(self, email: str) -> str | None:
        doc = await self.users.find_one({"email": email}, {"tenant_id": 1})
        return None if doc is None else str(doc["tenant_id"])

    @_translated
    async def login_tickets(self, key: str) -> list[LoginTicket]:
        # A key holds at most its newest round and the one before: read both, keep one.
        docs = [doc async for doc in self.sign_in_tickets.find({"key": key})]
        newest = max((int(doc["round"]) for doc in docs), default=0)
        tickets = [_login_ticket(doc) for doc in docs if int(doc["round"]) == newest]
        return sorted(tickets, key=lambda t: t.number)

    @_translated
    async def take_login_ticket(self, ticket: LoginTicket) -> bool:
        # The unique _id makes the claim atomic, also on servers without transactions.
        try:
            await self.sign_in_tickets.insert_one(_login_ticket_doc(ticket))
        except DuplicateKeyError:
            return False
        return True

    @_translated
    async def return_login_ticket(self, ticket: LoginTicket) -> None:
        await self.sign_in_tickets.delete_one({"_id": _login_ticket_id(ticket)})

    @_translated
    async def open_login_round(self, key: str, round_: int, at: float) -> None:
        opening = LoginTicket(key, round_, 0, at)
        with contextlib.suppress(DuplicateKeyError):  # another request opened it
            await self.sign_in_tickets.insert_one(_login_ticket_doc(opening))
        # The round before stays: a request that read it a moment ago must still find
        # its tickets taken, or it would take one there unchecked by the new round.
        await self.sign_in_tickets.delete_many({"key": key, "round": {"$lt": round_ - 1}})

    # instance-level support-session joining

    @_translated
    async def locate_join_token(self, token_hash: str) -> tuple[str, str] | None:
        doc = await self.support_sessions.find_one(
            {"join_token_hash": token_hash}, {"tenant_id": 1}
        )
        return None if doc is None else (str(doc["tenant_id"]), str(doc["_id"]))

    @_translated
    async def locate_pin(self, pin_hash: str) -> tuple[str, str] | None:
        doc = await self.support_sessions.find_one(
            {"pin_hash": pin_hash, "status": {"$ne": "ended"}},
            {"tenant_id": 1},
            sort=[("created_at", DESCENDING), ("_id", DESCENDING)],
        )
        return None if doc is None else (str(doc["tenant_id"]), str(doc["_id"]))

    # security log

    @_translated
    async def add_security_event(self, event: SecurityEvent) -> None:
        try:
            await self.security_events.insert_one(
                {
                    "_id": event.id,
                    "at": event.at,
                    "seq": _next_seq(),
                    "kind": event.kind,
                    "ip": event.ip,
                    "tenant_id": event.tenant_id,
                    "details": dict(event.details),
                }
            )
        except DuplicateKeyError as exc:
            raise Conflict("A security event with this id already exists.") from exc

    @_translated
    async def list_instance_security_events(self, limit: int = 100) -> list[SecurityEvent]:
        if limit <= 0:
            return []
        cursor = (
            self.security_events.find({"tenant_id": None})
            .sort([("at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
        )
        return [_security_event(doc) async for doc in cursor]


class MongoTenantStore:
    """One account's view of a :class:`MongoStore`: every filter names the tenant."""

    def __init__(self, store: MongoStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def _check(self, tenant_id: str, what: str) -> None:
        if tenant_id != self._tenant_id:
            raise InvalidInput(f"The {what} belongs to another account.")

    @_translated
    async def get_tenant(self) -> Tenant | None:
        doc = await self._store.tenants.find_one({"_id": self._tenant_id})
        return None if doc is None else _tenant(doc)

    @_translated
    async def save_tenant(self, tenant: Tenant) -> None:
        self._check(tenant.id, "account")
        try:
            result = await self._store.tenants.replace_one(
                {"_id": self._tenant_id}, _tenant_doc(tenant)
            )
        except PyMongoError as exc:
            if _is_unique_violation(exc):
                raise _duplicate_tenant(tenant) from exc
            raise
        if result.matched_count == 0:
            raise NotFound("No such account.")

    # users

    @_translated
    async def create_user(self, user: User) -> None:
        self._check(user.tenant_id, "user")
        # E-mail uniqueness is instance-wide, so it is checked at instance level.
        await _insert_unique(
            self._store.users,
            _user_doc(user),
            key="email",
            find_key=lambda: self._store.locate_email(user.email),
            key_conflict=_duplicate_email(user),
            what="A user",
        )

    @_translated
    async def get_user(self, user_id: str) -> User | None:
        doc = await self._store.users.find_one({"_id": user_id, "tenant_id": self._tenant_id})
        return None if doc is None else _user(doc)

    @_translated
    async def find_user_by_email(self, email: str) -> User | None:
        doc = await self._store.users.find_one({"email": email, "tenant_id": self._tenant_id})
        return None if doc is None else _user(doc)

    @_translated
    async def list_users(self) -> list[User]:
        cursor = self._store.users.find({"tenant_id": self._tenant_id}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [_user(doc) async for doc in cursor]

    @_translated
    async def save_user(self, user: User) -> None:
        self._check(user.tenant_id, "user")
        try:
            result = await self._store.users.replace_one(
                {"_id": user.id, "tenant_id": self._tenant_id}, _user_doc(user)
            )
        except PyMongoError as exc:
            # _id cannot change here, so the only unique key left is the e-mail.
            if _is_unique_violation(exc):
                raise _duplicate_email(user) from exc
            raise
        if result.matched_count == 0:
            raise NotFound("No such user.")

    # Single-use codes. A filtered update_one is atomic on MongoDB but not on every
    # MongoDB-protocol server (FerretDB 1 reads, then writes), while a unique _id is
    # enforced by all: so a code is spent by inserting its marker, and only then
    # recorded on the user.

    @_translated
    async def claim_totp_step(self, user_id: str, step: int, at: float) -> bool:
        doc = await self._store.users.find_one(
            {"_id": user_id, "tenant_id": self._tenant_id}, {"totp_last_step": 1}
        )
        if doc is None or int(doc.get("totp_last_step", 0)) >= step:
            return False
        if not await self._spend(user_id, f"totp/{step}", at, step=step):
            return False
        await self._store.users.update_one(
            {"_id": user_id, "tenant_id": self._tenant_id},
            {"$max": {"totp_last_step": step}, "$set": {"updated_at": at}},
        )
        # Codes this old no longer match at all (the window is a step either side).
        await self._store.spent_codes.delete_many(
            {"tenant_id": self._tenant_id, "user_id": user_id, "step": {"$lt": step - 4}}
        )
        return True

    @_translated
    async def consume_recovery_code(self, user_id: str, digest: str, at: float) -> bool:
        if not await self._spend(user_id, f"recovery/{digest}", at):
            return False
        result = await self._store.users.update_one(
            {"_id": user_id, "tenant_id": self._tenant_id, "recovery_codes": digest},
            {"$pull": {"recovery_codes": digest}, "$set": {"updated_at": at}},
        )
        return result.modified_count > 0

    async def _spend(self, user_id: str, code: str, at: float, step: int | None = None) -> bool:
        marker: Doc = {
            "_id": f"{self._tenant_id}/{user_id}/{code}",
            "tenant_id": self._tenant_id,
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

    @_translated
    async def delete_user(self, user_id: str) -> bool:
        result = await self._store.users.delete_one({"_id": user_id, "tenant_id": self._tenant_id})
        await self._store.spent_codes.delete_many(
            {"tenant_id": self._tenant_id, "user_id": user_id}
        )
        return result.deleted_count > 0

    # signed-in browsers

    @_translated
    async def create_auth_session(self, session: AuthSession) -> None:
        self._check(session.tenant_id, "session")
        try:
            await self._store.auth_sessions.insert_one(
                {
                    "_id": session.id,
                    "tenant_id": session.tenant_id,
                    "user_id": session.user_id,
                    "created_at": session.created_at,
                    "expires_at": session.expires_at,
                    "ip": session.ip,
                    "user_agent": session.user_agent,
                }
            )
        except DuplicateKeyError as exc:
            raise Conflict("A session with this id already exists.") from exc

    @_translated
    async def get_auth_session(self, session_id: str) -> AuthSession | None:
        doc = await self._store.auth_sessions.find_one(
            {"_id": session_id, "tenant_id": self._tenant_id}
        )
        return None if doc is None else _auth_session(doc)

    @_translated
    async def delete_auth_session(self, session_id: str) -> bool:
        result = await self._store.auth_sessions.delete_one(
            {"_id": session_id, "tenant_id": self._tenant_id}
        )
        return result.deleted_count > 0

    @_translated
    async def delete_user_auth_sessions(self, user_id: str) -> int:
        result = await self._store.auth_sessions.delete_many(
            {"tenant_id": self._tenant_id, "user_id": user_id}
        )
        return result.deleted_count

    @_translated
    async def purge_expired_auth_sessions(self, now: float) -> int:
        result = await self._store.auth_sessions.delete_many(
            {"tenant_id": self._tenant_id, "expires_at": {"$lte": now}}
        )
        return result.deleted_count

    # audit log

    @_translated
    async def add_audit_event(self, event: AuditEvent) -> None:
        self._check(event.tenant_id, "audit event")
        try:
            await self._store.audit_events.insert_one(
                {
                    "_id": event.id,
                    "tenant_id": event.tenant_id,
                    "at": event.at,
                    "seq": _next_seq(),
                    "action": event.action,
                    "actor": event.actor,
                    "actor_id": event.actor_id,
                    "ip": event.ip,
                    "target": event.target,
                    "details": dict(event.details),
                }
            )
        except DuplicateKeyError as exc:
            raise Conflict("An audit event with this id already exists.") from exc

    @_translated
    async def list_audit_events(self, limit: int = 100) -> list[AuditEvent]:
        if limit <= 0:
            return []  # MongoDB reads limit 0 as "no limit"
        cursor = (
            self._store.audit_events.find({"tenant_id": self._tenant_id})
            .sort([("at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
        )
        return [_audit_event(doc) async for doc in cursor]

    # support sessions

    @_translated
    async def create_support_session(self, session: SupportSession) -> None:
        self._check(session.tenant_id, "support session")
        # The token is unique on the whole instance, so it is checked at that level.
        await _insert_unique(
            self._store.support_sessions,
            _support_session_doc(session),
            key="join_token_hash",
            find_key=lambda: self._store.locate_join_token(session.join_token_hash),
            key_conflict=_duplicate_join_token(),
            what="A support session",
        )

    @_translated
    async def get_support_session(self, session_id: str) -> SupportSession | None:
        doc = await self._store.support_sessions.find_one(
            {"_id": session_id, "tenant_id": self._tenant_id}
        )
        return None if doc is None else _support_session(doc)

    @_translated
    async def save_support_session(self, session: SupportSession) -> None:
        self._check(session.tenant_id, "support session")
        try:
            result = await self._store.support_sessions.replace_one(
                {"_id": session.id, "tenant_id": self._tenant_id}, _support_session_doc(session)
            )
        except PyMongoError as exc:
            # _id cannot change here, so the only unique key left is the join token.
            if _is_unique_violation(exc):
                raise _duplicate_join_token() from exc
            raise
        if result.matched_count == 0:
            raise NotFound("No such support session.")

    @_translated
    async def list_support_sessions(
        self,
        *,
        agent_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        with_experts: bool = False,
    ) -> list[SupportSession]:
        if limit <= 0:
            return []  # MongoDB reads limit 0 as "no limit"
        query: Doc = {"tenant_id": self._tenant_id}
        if agent_id is not None and with_experts:
            query["$or"] = [{"agent_id": agent_id}, {"experts": agent_id}]
        elif agent_id is not None:
            query["agent_id"] = agent_id
        created: Doc = {}
        if since is not None:
            created["$gte"] = since
        if until is not None:
            created["$lt"] = until
        if created:
            query["created_at"] = created
        cursor = (
            self._store.support_sessions.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [_support_session(doc) async for doc in cursor]

    # session content

    @_translated
    async def put_session_item(self, item: SessionItem) -> None:
        self._check(item.tenant_id, "session item")
        doc = {
            "_id": item.id,
            "tenant_id": item.tenant_id,
            "session_id": item.session_id,
            "kind": item.kind,
            "at": item.at,
            "seq": _next_seq(),
            "author_id": item.author_id,
            "media_type": item.media_type,
            "size": item.size,
            "sealed": item.sealed,
        }
        try:
            # Matched by id and tenant: another account's id makes the upsert insert a
            # second _id, which the unique index refuses.
            await self._store.session_items.replace_one(
                {"_id": item.id, "tenant_id": self._tenant_id}, doc, upsert=True
            )
        except PyMongoError as exc:
            if _is_unique_violation(exc):
                raise Conflict("A record with this id already exists.") from exc
            raise

    @_translated
    async def get_session_item(self, session_id: str, item_id: str) -> SessionItem | None:
        doc = await self._store.session_items.find_one(
            {"_id": item_id, "tenant_id": self._tenant_id, "session_id": session_id}
        )
        return None if doc is None else _session_item(doc)

    @_translated
    async def list_session_items(
        self, session_id: str, kind: ContentKind | None = None, limit: int = 1000
    ) -> list[SessionItem]:
        if limit <= 0:
            return []
        query: Doc = {"tenant_id": self._tenant_id, "session_id": session_id}
        if kind is not None:
            query["kind"] = kind
        cursor = (
            self._store.session_items.find(query)
            .sort([("at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
        )
        items = [_session_item(doc) async for doc in cursor]
        items.reverse()
        return items

    # security log

    @_translated
    async def list_security_events(self, limit: int = 100) -> list[SecurityEvent]:
        if limit <= 0:
            return []
        cursor = (
            self._store.security_events.find({"tenant_id": self._tenant_id})
            .sort([("at", DESCENDING), ("seq", DESCENDING)])
            .limit(limit)
        )
        return [_security_event(doc) async for doc in cursor]


# --- documents and records ---


def _duplicate_tenant(tenant: Tenant) -> DuplicateTenant:
    return DuplicateTenant(f"An account named {tenant.name!r} already exists.")


def _duplicate_email(user: User) -> DuplicateEmail:
    return DuplicateEmail(f"A user with e-mail {user.email} already exists.")


def _duplicate_join_token() -> Conflict:
    return Conflict("A support session with this join token already exists.")


def _login_ticket_id(ticket: LoginTicket) -> str:
    return f"{ticket.key}#{ticket.round}#{ticket.number}"


def _login_ticket_doc(ticket: LoginTicket) -> Doc:
    return {
        "_id": _login_ticket_id(ticket),
        "key": ticket.key,
        "round": ticket.round,
        "number": ticket.number,
        "at": float(ticket.at),
    }


def _login_ticket(doc: Doc) -> LoginTicket:
    return LoginTicket(
        key=doc["key"], round=int(doc["round"]), number=int(doc["number"]), at=float(doc["at"])
    )


def _tenant_doc(tenant: Tenant) -> Doc:
    return {
        "_id": tenant.id,
        "name": tenant.name,
        "region": tenant.region,
        "created_at": tenant.created_at,
        "wrapped_data_key": tenant.wrapped_data_key,
        "master_key_id": tenant.master_key_id,
        "require_totp": tenant.require_totp,
    }


def _tenant(doc: Doc) -> Tenant:
    return Tenant(
        id=doc["_id"],
        name=doc["name"],
        region=doc["region"],
        created_at=doc["created_at"],
        wrapped_data_key=bytes(doc["wrapped_data_key"]),
        master_key_id=doc["master_key_id"],
        require_totp=bool(doc["require_totp"]),
    )


def _user_doc(user: User) -> Doc:
    return {
        "_id": user.id,
        "tenant_id": user.tenant_id,
        "email": user.email,
        "role": user.role,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "disabled": user.disabled,
        "totp_secret": user.totp_secret,
        "totp_pending": user.totp_pending,
        "recovery_codes": list(user.recovery_codes),
        "totp_last_step": user.totp_last_step,
        "display_name": user.display_name,
    }


def _optional_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _user(doc: Doc) -> User:
    return User(
        id=doc["_id"],
        tenant_id=doc["tenant_id"],
        email=doc["email"],
        role=cast(Role, doc["role"]),
        password_hash=doc["password_hash"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        disabled=bool(doc["disabled"]),
        totp_secret=_optional_bytes(doc.get("totp_secret")),
        totp_pending=_optional_bytes(doc.get("totp_pending")),
        recovery_codes=tuple(doc.get("recovery_codes", ())),
        totp_last_step=int(doc.get("totp_last_step", 0)),
        display_name=str(doc.get("display_name", "")),
    )


def _auth_session(doc: Doc) -> AuthSession:
    return AuthSession(
        id=doc["_id"],
        tenant_id=doc["tenant_id"],
        user_id=doc["user_id"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        ip=doc["ip"],
        user_agent=doc["user_agent"],
    )


def _audit_event(doc: Doc) -> AuditEvent:
    return AuditEvent(
        id=doc["_id"],
        tenant_id=doc["tenant_id"],
        at=doc["at"],
        action=doc["action"],
        actor=doc["actor"],
        actor_id=doc.get("actor_id"),
        ip=doc.get("ip"),
        target=doc.get("target"),
        details=dict(doc.get("details") or {}),
    )


def _support_session_doc(session: SupportSession) -> Doc:
    return {
        "_id": session.id,
        "tenant_id": session.tenant_id,
        "agent_id": session.agent_id,
        "created_at": session.created_at,
        "join_expires_at": session.join_expires_at,
        "join_token_hash": session.join_token_hash,
        "pin_hash": session.pin_hash,
        "status": session.status,
        "customer_device_hash": session.customer_device_hash,
        "joined_at": session.joined_at,
        "consent_at": session.consent_at,
        "consent_scopes": list(session.consent_scopes),
        "live_at": session.live_at,
        "ended_at": session.ended_at,
        "outcome": session.outcome,
        "ended_by": session.ended_by,
        "experts": list(session.experts),
    }


def _support_session(doc: Doc) -> SupportSession:
    return SupportSession(
        id=doc["_id"],
        tenant_id=doc["tenant_id"],
        agent_id=doc["agent_id"],
        created_at=doc["created_at"],
        join_expires_at=doc["join_expires_at"],
        join_token_hash=doc["join_token_hash"],
        pin_hash=doc.get("pin_hash"),
        status=cast(SessionStatus, doc["status"]),
        customer_device_hash=doc.get("customer_device_hash"),
        joined_at=doc.get("joined_at"),
        consent_at=doc.get("consent_at"),
        consent_scopes=tuple(doc.get("consent_scopes", ())),
        live_at=doc.get("live_at"),
        ended_at=doc.get("ended_at"),
        outcome=cast(Outcome | None, doc.get("outcome")),
        ended_by=doc.get("ended_by"),
        experts=tuple(doc.get("experts", ())),
    )


def _session_item(doc: Doc) -> SessionItem:
    return SessionItem(
        id=doc["_id"],
        tenant_id=doc["tenant_id"],
        session_id=doc["session_id"],
        kind=cast(ContentKind, doc["kind"]),
        at=doc["at"],
        author_id=doc.get("author_id"),
        media_type=doc["media_type"],
        size=int(doc["size"]),
        sealed=bytes(doc["sealed"]),
    )


def _security_event(doc: Doc) -> SecurityEvent:
    return SecurityEvent(
        id=doc["_id"],
        at=doc["at"],
        kind=doc["kind"],
        ip=doc.get("ip"),
        tenant_id=doc.get("tenant_id"),
        details=dict(doc.get("details") or {}),
    )
