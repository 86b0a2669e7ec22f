"""Reaching the MongoDB server, preparing the database (indexes, schema version), and
the driver's errors and quirks that every query has to deal with.

The engine must also run on FerretDB 1.24 (the CI server), which shapes a few choices:

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
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
)

from livelens.errors import InvalidInput, NotFound, StoreUnavailable
from livelens.store import schema, shared

if TYPE_CHECKING:
    from livelens.store.mongo.store import MongoStore

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
# 6: support sessions carry a version (compare-and-set saves) and who ended them; a
#    document without these fields reads as version 0, ended by no one named.
# 7: support sessions may carry the customer's name (sealed) and a case reference; a
#    document without them reads as naming neither.
SCHEMA_VERSION = 7


def one_line(exc: BaseException) -> str:
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


@contextlib.contextmanager
def connection_kept() -> Iterator[None]:
    """Report a lost connection as StoreUnavailable (HTTP 503), not a driver error."""
    try:
        yield
    except ConnectionFailure as exc:
        raise StoreUnavailable(f"MongoDB store unavailable: {one_line(exc)}") from exc


def translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """:func:`connection_kept` around a whole operation."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with connection_kept():
            return await fn(*args, **kwargs)

    return wrapper


def is_unique_violation(exc: PyMongoError) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    # FerretDB reports a unique index hit by an update as InternalError (code 1).
    return isinstance(exc, OperationFailure) and "UNIQUE constraint failed" in str(exc)


def _key_pattern(exc: PyMongoError) -> Mapping[str, Any] | None:
    details = exc.details if isinstance(exc, OperationFailure) else None
    pattern = details.get("keyPattern") if details else None
    return pattern if isinstance(pattern, Mapping) else None


async def insert_unique(
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
        raise shared.duplicate_id(what) from exc


def contains_pattern(text: str) -> str:
    """A regular expression that finds ``text`` in a string, as SQLite's LIKE does: ASCII
    letters in either case, anything else as it is. Punctuation is escaped by a backslash
    and nothing else is, which MongoDB's PCRE and FerretDB's Go expressions read alike."""
    out = []
    for char in text:
        if char.isascii() and char.isalpha():
            out.append(f"[{char.lower()}{char.upper()}]")
        elif char.isascii() and not char.isalnum() and char.isprintable() and char != " ":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


_last_seq = 0
_seq_lock = threading.Lock()


def next_seq() -> int:
    """Strictly increasing in this process, roughly time-ordered across processes:
    orders audit events that share a timestamp by insertion."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return _last_seq


async def _connect(url: str) -> AsyncDatabase[Doc]:
    """The database the URL names (``livelens`` if none), reachable and prepared."""
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
        raise InvalidInput(f"Invalid MongoDB store URL: {one_line(exc)}") from exc
    except ConfigurationError as exc:  # e.g. the SRV record cannot be resolved
        raise StoreUnavailable(
            f"Cannot use the MongoDB store at {_hosts(url)}: {one_line(exc)}"
        ) from exc
    db = client.get_default_database(DEFAULT_DATABASE)
    try:
        await client.admin.command("ping")
        await _prepare(db)
    except PyMongoError as exc:
        await client.close()
        raise StoreUnavailable(
            f"Cannot reach the MongoDB store at {_hosts(url)}: {one_line(exc)}"
        ) from exc
    except BaseException:
        await client.close()
        raise
    return db


async def meta_once(meta: AsyncCollection[Doc], doc_id: str, fields: Doc) -> Doc | None:
    """The meta document ``doc_id``, created with ``fields`` if there is none: of
    nodes doing this at the same moment, all read the one created first."""
    try:
        await meta.update_one({"_id": doc_id}, {"$setOnInsert": fields}, upsert=True)
    except PyMongoError as exc:
        if not is_unique_violation(exc):
            raise
        # Another node created it at the same moment (FerretDB does not retry).
    return await meta.find_one({"_id": doc_id})


# One account's records, newest first, ties by id (support sessions, export jobs).
_TENANT_NEWEST = [("tenant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]


async def _prepare(db: AsyncDatabase[Doc]) -> None:
    meta = await meta_once(db["meta"], "schema", {"version": SCHEMA_VERSION})
    version = int(meta["version"]) if meta else SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise StoreUnavailable(
            f"The store has schema version {version}; this LiveLens knows up to "
            f"{SCHEMA_VERSION}. Upgrade LiveLens."
        )
    # createIndexes is idempotent, so every node runs it at start-up.
    await db[schema.TENANTS.name].create_index("name", unique=True, name="name_unique")
    # The recording policy's "agent's choice" is named "agent", as the API documents it
    # (idempotent, like the indexes).
    await db[schema.TENANTS.name].update_many(
        {"recording": "agent_choice"}, {"$set": {"recording": "agent"}}
    )
    # E-mail addresses are unique on the whole instance: sign-in finds the
    # account from the address alone.
    users = db[schema.USERS.name]
    await users.create_index("email", unique=True, name="email_unique")
    await users.create_index(
        [("tenant_id", ASCENDING), ("created_at", ASCENDING)], name="tenant_created"
    )
    auth_sessions = db[schema.AUTH_SESSIONS.name]
    await auth_sessions.create_index(
        [("tenant_id", ASCENDING), ("user_id", ASCENDING)], name="tenant_user"
    )
    await auth_sessions.create_index(
        [("tenant_id", ASCENDING), ("expires_at", ASCENDING)], name="tenant_expiry"
    )
    newest = [("tenant_id", ASCENDING), ("at", DESCENDING), ("seq", DESCENDING)]
    await db[schema.AUDIT_EVENTS.name].create_index(newest, name="tenant_newest")
    await db[schema.SECURITY_EVENTS.name].create_index(newest, name="tenant_newest")
    await db[schema.LOGIN_TICKETS.name].create_index(
        [("key", ASCENDING), ("round", ASCENDING)], name="key_round"
    )
    # A customer's link finds the session (and its account) from the token alone.
    support_sessions = db[schema.SUPPORT_SESSIONS.name]
    await support_sessions.create_index("join_token_hash", unique=True, name="join_token_unique")
    await support_sessions.create_index("pin_hash", name="pin")
    # Reports: newest first, ties by id.
    await support_sessions.create_index(_TENANT_NEWEST, name="tenant_newest")
    await support_sessions.create_index(
        [("tenant_id", ASCENDING), ("agent_id", ASCENDING), ("created_at", DESCENDING),
         ("_id", DESCENDING)],
        name="tenant_agent_newest",
    )  # fmt: skip
    # Session history and reports by outcome. (New collections and indexes need no
    # schema version: every node creates what is missing when it starts.)
    await support_sessions.create_index(
        [("tenant_id", ASCENDING), ("outcome", ASCENDING), ("created_at", DESCENDING),
         ("_id", DESCENDING)],
        name="tenant_outcome_newest",
    )  # fmt: skip
    # A request's API key finds its account from the key alone.
    api_keys = db[schema.API_KEYS.name]
    await api_keys.create_index("key_hash", unique=True, name="key_hash_unique")
    await api_keys.create_index(
        [("tenant_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
        name="tenant_created",
    )
    await db[schema.SESSION_ITEMS.name].create_index(
        [("tenant_id", ASCENDING), ("session_id", ASCENDING), ("at", ASCENDING),
         ("seq", ASCENDING)],
        name="tenant_session_order",
    )  # fmt: skip
    await db["spent_codes"].create_index(
        [("tenant_id", ASCENDING), ("user_id", ASCENDING), ("step", ASCENDING)],
        name="tenant_user_step",
    )
    await db[schema.EXPORT_JOBS.name].create_index(_TENANT_NEWEST, name="tenant_newest")
    # Deletion and retention (.deletion): sessions whose content is still kept, by age;
    # the session keys and the instance's record of deletions; lease terms by number.
    await support_sessions.create_index(
        [("tenant_id", ASCENDING), ("purged_at", ASCENDING), ("created_at", ASCENDING),
         ("_id", ASCENDING)],
        name="tenant_purge",
    )  # fmt: skip
    await db[schema.SESSION_KEYS.name].create_index("tenant_id", name="tenant")
    await db[schema.DELETION_RECORDS.name].create_index(
        [("at", DESCENDING), ("seq", DESCENDING)], name="newest"
    )
    await db[schema.LEASES.name].create_index(
        [("name", ASCENDING), ("term", DESCENDING)], name="name_term"
    )
    # A session's recordings, oldest first (their bytes: GridFS, see .recordings).
    await db[schema.RECORDINGS.name].create_index(
        [("tenant_id", ASCENDING), ("session_id", ASCENDING), ("started_at", ASCENDING),
         ("_id", ASCENDING)],
        name="tenant_session_oldest",
    )  # fmt: skip
    if version < 5:  # failure counters, replaced by sign-in tickets
        for name in ("login_guards", "login_failures"):
            await db.drop_collection(name)
    if version < SCHEMA_VERSION:
        # Recorded only once everything above exists; a node that stops half-way
        # simply redoes the (idempotent) work on its next start.
        await db["meta"].update_one(
            {"_id": "schema", "version": {"$lt": SCHEMA_VERSION}},
            {"$set": {"version": SCHEMA_VERSION}},
        )


class MongoConnection:
    """The database and its collections; :class:`.store.MongoStore` adds the queries."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._client = db.client
        self._db = db
        self.database = db.name
        self.tenants: AsyncCollection[Doc] = db[schema.TENANTS.name]
        self.users: AsyncCollection[Doc] = db[schema.USERS.name]
        self.auth_sessions: AsyncCollection[Doc] = db[schema.AUTH_SESSIONS.name]
        self.audit_events: AsyncCollection[Doc] = db[schema.AUDIT_EVENTS.name]
        self.sign_in_tickets: AsyncCollection[Doc] = db[schema.LOGIN_TICKETS.name]
        self.support_sessions: AsyncCollection[Doc] = db[schema.SUPPORT_SESSIONS.name]
        self.security_events: AsyncCollection[Doc] = db[schema.SECURITY_EVENTS.name]
        self.session_items: AsyncCollection[Doc] = db[schema.SESSION_ITEMS.name]
        self.spent_codes: AsyncCollection[Doc] = db["spent_codes"]
        self.api_keys: AsyncCollection[Doc] = db[schema.API_KEYS.name]
        self.meta: AsyncCollection[Doc] = db["meta"]

    def collection(self, table: schema.Table[Any]) -> AsyncCollection[Doc]:
        """The collection that keeps ``table``'s records."""
        return self._db[table.name]

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The database itself, for what is kept beside the records (GridFS buckets)."""
        return self._db

    @classmethod
    async def open(cls, url: str) -> Self:
        return cls(await _connect(url))

    async def ping(self) -> None:
        try:
            await self._client.admin.command("ping")
        except PyMongoError as exc:
            raise StoreUnavailable(f"MongoDB store unavailable: {one_line(exc)}") from exc

    async def close(self) -> None:
        await self._client.close()


async def read_all(table: schema.Table[schema.R], cursor: AsyncCursor[Doc]) -> list[schema.R]:
    return [table.from_doc(doc) async for doc in cursor]


async def insert_new(collection: AsyncCollection[Doc], doc: Doc, what: str) -> None:
    """Insert ``doc``; one whose ``_id`` is taken is refused as a duplicate ``what``."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError as exc:
        raise shared.duplicate_id(what) from exc


async def read_newest(
    table: schema.Table[schema.R], collection: AsyncCollection[Doc], query: Doc, limit: int
) -> list[schema.R]:
    """The newest ``limit`` log entries ``query`` finds: by time, then by insertion
    (``seq``, see :func:`next_seq`)."""
    if limit <= 0:
        return []  # MongoDB reads limit 0 as "no limit"
    cursor = collection.find(query).sort([("at", DESCENDING), ("seq", DESCENDING)])
    return await read_all(table, cursor.limit(limit))


class MongoTenantPart(shared.TenantScope):
    """A part of :class:`.tenant.MongoTenantStore`, one account's view of the store's
    collections: the filters every part builds name the tenant."""

    def __init__(self, store: MongoStore, tenant_id: str) -> None:
        super().__init__(tenant_id)
        self._store = store

    def _of(self, table: schema.Table[Any]) -> AsyncCollection[Doc]:
        return self._store.collection(table)

    def _mine(self, record_id: str, **more: object) -> Doc:
        """The filter for this tenant's record ``record_id``."""
        return {"_id": record_id, "tenant_id": self.tenant_id, **more}

    async def _get(self, table: schema.Table[schema.R], record_id: str) -> schema.R | None:
        """This tenant's record ``record_id`` of ``table``; for a table of one record per
        account (its ``_id`` the tenant id), ``record_id`` is the tenant id."""
        doc = await self._of(table).find_one(self._mine(record_id))
        return None if doc is None else table.from_doc(doc)

    async def _replace_mine(self, table: schema.Table[Any], record: Any, missing: str) -> None:
        """Replace this tenant's record of ``table`` that has ``record``'s id;
        NotFound(``missing``) if there is none."""
        result = await self._of(table).replace_one(self._mine(record.id), table.doc(record))
        if result.matched_count == 0:
            raise NotFound(missing)

    async def _put_account_record(self, table: schema.Table[schema.R], record: schema.R) -> None:
        """Store the account's one record of ``table``, in place of any before it."""
        await self._of(table).replace_one({"_id": self.tenant_id}, table.doc(record), upsert=True)

    async def _delete_one(self, table: schema.Table[Any], record_id: str) -> bool:
        result = await self._of(table).delete_one(self._mine(record_id))
        return result.deleted_count > 0
