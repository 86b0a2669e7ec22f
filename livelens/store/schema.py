"""Each stored record described once: its fields, and how each engine keeps them.

A :class:`Table` is derived from a record's dataclass in :mod:`.records`
(:func:`dataclasses.fields` and the type annotations), and it writes the SQLite column
lists, statements and parameters and reads rows back, and maps records to MongoDB
documents and back. Adding a field to a record therefore changes both engines at
once; SQLite needs a migration as well (``ALTER TABLE ... ADD COLUMN`` with the
field's default, appended to ``MIGRATIONS``), which the contract suite checks. No I/O.

How a field is kept follows from its type:

=====================  =====================  ==================
type                   SQLite                 MongoDB
=====================  =====================  ==================
str, Literal of str    TEXT                   string
float                  REAL                   double
int                    INTEGER                int
bool                   INTEGER (0 or 1)       bool
bytes                  BLOB                   binary
tuple[str, ...]        TEXT (a JSON array)    array
dict[str, ...]         TEXT (a JSON object)   embedded document
X | None               NULL for None          null for None
=====================  =====================  ==================

The SQLite column and the document key are the field's name, except that a record's
``id`` is the document's ``_id``. A value a row or document lacks (a document written
before the field existed), or holds as null where the field cannot be None, reads as
the field's default; an optional field without a default reads as None.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from livelens.store import records

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Encoding:
    """How one kind of value is kept: in a SQLite column and in a MongoDB document.
    The functions never see None (see :class:`Column`)."""

    sql_type: str  # the column's declared type in the migrations
    to_sql: Callable[[Any], object]
    from_sql: Callable[[Any], object]
    to_doc: Callable[[Any], object]
    from_doc: Callable[[Any], object]


TEXT = Encoding("TEXT", _same, str, _same, str)
REAL = Encoding("REAL", float, float, float, float)
INTEGER = Encoding("INTEGER", int, int, int, int)
BOOLEAN = Encoding("INTEGER", int, bool, bool, bool)
BLOB = Encoding("BLOB", bytes, bytes, bytes, bytes)
STRINGS = Encoding(
    "TEXT", lambda v: json.dumps(list(v)), lambda v: tuple(json.loads(v)), list, tuple
)
JSON_OBJECT = Encoding("TEXT", json.dumps, json.loads, dict, dict)

_PLAIN: dict[object, Encoding] = {
    str: TEXT,
    float: REAL,
    int: INTEGER,
    bool: BOOLEAN,
    bytes: BLOB,
}


def encoding_of(annotation: object) -> tuple[Encoding, bool]:
    """The encoding of a field's type, and whether the field may be None."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return encoding_of(rest[0])[0], True
    elif origin is Literal and all(isinstance(arg, str) for arg in args):
        return TEXT, False
    elif origin is tuple and args == (str, ...):
        return STRINGS, False
    elif origin is dict and args[:1] == (str,):
        return JSON_OBJECT, False
    elif annotation in _PLAIN:
        return _PLAIN[annotation], False
    raise TypeError(f"No store encoding for {annotation!r}: add one in {__name__}.")


@dataclass(frozen=True)
class Column:
    """One field of a record, as stored."""

    name: str  # the record's field and the SQLite column
    key: str  # the MongoDB document's key
    encoding: Encoding
    optional: bool  # the field may be None
    default: Callable[[], object] | None  # the field's default, if it has one

    def read(self, stored: Mapping[str, Any], key: str, decode: Callable[[Any], object]) -> object:
        value = stored.get(key)
        if value is None and (key not in stored or not self.optional):
            if self.default is not None:
                return self.default()
            if self.optional:
                return None
            raise ValueError(f"A stored record has no value for {self.name!r}.")
        return None if value is None else decode(value)


def _column(field: dataclasses.Field[Any], annotation: object) -> Column:
    encoding, optional = encoding_of(annotation)
    default: Callable[[], object] | None = None
    if field.default is not dataclasses.MISSING:
        default = functools.partial(_same, field.default)
    elif field.default_factory is not dataclasses.MISSING:
        default = field.default_factory
    key = "_id" if field.name == "id" else field.name
    return Column(field.name, key, encoding, optional, default)


class Table(Generic[R]):
    """One record type as stored: a SQLite table and a MongoDB collection, both called
    ``name``. ``doc_id`` gives the ``_id`` of a record that has no ``id`` field."""

    def __init__(
        self, name: str, record_type: type[R], *, doc_id: Callable[[R], str] | None = None
    ) -> None:
        hints = get_type_hints(record_type)
        self.name = name
        self.record_type = record_type
        self.columns = tuple(_column(f, hints[f.name]) for f in dataclasses.fields(record_type))
        self._make: Callable[..., R] = record_type
        self._doc_id = doc_id
        names = ", ".join(c.name for c in self.columns)
        # Names from the record's fields only; every value is a bound parameter.
        self.select = f"SELECT {names} FROM {name}"  # noqa: S608
        self._insert = f"INTO {name} ({names}) VALUES ({', '.join('?' * len(self.columns))})"

    # SQLite

    def insert(self, verb: str = "INSERT") -> str:
        """``{verb} INTO name (every column) VALUES (?, ...)``, for :meth:`row`."""
        return f"{verb} {self._insert}"

    def assignments(self, skip: Collection[str]) -> str:
        """``a = ?, b = ?``: every column but ``skip``, for ``row(record, skip=skip)``."""
        return ", ".join(f"{c.name} = ?" for c in self.columns if c.name not in skip)

    def take_excluded(self, skip: Collection[str]) -> str:
        """``a = excluded.a, ...``: an upsert's update of every column but ``skip``."""
        return ", ".join(
            f"{c.name} = excluded.{c.name}" for c in self.columns if c.name not in skip
        )

    def row(self, record: R, *, skip: Collection[str] = ()) -> tuple[object, ...]:
        """The record's column values in column order, without the columns ``skip``."""
        return tuple(
            None if (value := getattr(record, c.name)) is None else c.encoding.to_sql(value)
            for c in self.columns
            if c.name not in skip
        )

    def from_row(self, row: Mapping[str, Any]) -> R:
        return self._make(
            **{c.name: c.read(row, c.name, c.encoding.from_sql) for c in self.columns}
        )

    # MongoDB

    def doc(self, record: R) -> dict[str, Any]:
        doc: dict[str, Any] = {} if self._doc_id is None else {"_id": self._doc_id(record)}
        for c in self.columns:
            value = getattr(record, c.name)
            doc[c.key] = None if value is None else c.encoding.to_doc(value)
        return doc

    def from_doc(self, doc: Mapping[str, Any]) -> R:
        return self._make(**{c.name: c.read(doc, c.key, c.encoding.from_doc) for c in self.columns})


def login_ticket_id(ticket: records.LoginTicket) -> str:
    """A ticket's ``_id``: its ``(key, round, number)``, unique by construction."""
    return f"{ticket.key}#{ticket.round}#{ticket.number}"


TENANTS = Table("tenants", records.Tenant)
USERS = Table("users", records.User)
AUTH_SESSIONS = Table("auth_sessions", records.AuthSession)
AUDIT_EVENTS = Table("audit_events", records.AuditEvent)
SUPPORT_SESSIONS = Table("support_sessions", records.SupportSession)
SESSION_ITEMS = Table("session_items", records.SessionItem)
SECURITY_EVENTS = Table("security_events", records.SecurityEvent)
LOGIN_TICKETS = Table("login_tickets", records.LoginTicket, doc_id=login_ticket_id)
API_KEYS = Table("api_keys", records.ApiKey)
EXPORT_JOBS = Table("export_jobs", records.ExportJob)


def lease_id(lease: records.Lease) -> str:
    """A lease term's ``_id``: its ``(name, term)``, unique by construction."""
    return f"{lease.name}#{lease.term}"


SESSION_KEYS = Table("session_keys", records.SessionKey)
DELETION_RECORDS = Table("deletion_records", records.DeletionRecord)
LEASES = Table("leases", records.Lease, doc_id=lease_id)


def branding_id(branding: records.Branding) -> str:
    """A brand's ``_id``: its account's id (one brand per account)."""
    return branding.tenant_id


BRANDING = Table("branding", records.Branding, doc_id=branding_id)


def alert_hook_id(hook: records.AlertHook) -> str:
    """An alert hook's ``_id``: its account's id (one hook per account)."""
    return hook.tenant_id


ALERT_HOOKS = Table("alert_hooks", records.AlertHook, doc_id=alert_hook_id)
# Recordings of sessions' media; their sealed bytes are kept beside them by each engine.
RECORDINGS = Table("recordings", records.Recording)

TABLES: tuple[Table[Any], ...] = (
    TENANTS,
    USERS,
    AUTH_SESSIONS,
    AUDIT_EVENTS,
    SUPPORT_SESSIONS,
    SESSION_ITEMS,
    SECURITY_EVENTS,
    LOGIN_TICKETS,
    API_KEYS,
    SESSION_KEYS,
    DELETION_RECORDS,
    LEASES,
    EXPORT_JOBS,
    BRANDING,
    ALERT_HOOKS,
    RECORDINGS,
)

# The tables whose records belong to one account (they have a tenant_id, the account
# itself aside): an account's deletion empties them of its records.
ACCOUNT_TABLES = tuple(
    t for t in TABLES if t is not TENANTS and any(c.name == "tenant_id" for c in t.columns)
)

# What identifies an account's record: an UPDATE matches these and sets the other columns.
KEYS = ("id", "tenant_id")
