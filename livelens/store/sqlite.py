"""The embedded engine: one SQLite file, so a small team needs nothing else installed.

sqlite3 calls block, so every one of them runs on a single dedicated worker thread;
the event loop only awaits futures. One thread also means one connection, which
SQLite handles best, and statements from this process never interleave.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

from livelens import private_files
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

T = TypeVar("T")

# Migration n brings the schema from version n to n + 1. Append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            region TEXT NOT NULL,
            created_at REAL NOT NULL,
            wrapped_data_key BLOB NOT NULL,
            master_key_id TEXT NOT NULL,
            require_totp INTEGER NOT NULL
        )""",
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            disabled INTEGER NOT NULL,
            totp_secret BLOB,
            totp_pending BLOB,
            recovery_codes TEXT NOT NULL
        )""",
        # E-mail addresses are unique on the whole instance: sign-in finds the
        # account from the address alone.
        "CREATE UNIQUE INDEX users_email ON users (email)",
        "CREATE INDEX users_tenant ON users (tenant_id, created_at)",
        """CREATE TABLE auth_sessions (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            ip TEXT NOT NULL,
            user_agent TEXT NOT NULL
        )""",
        "CREATE INDEX auth_sessions_user ON auth_sessions (tenant_id, user_id)",
        "CREATE INDEX auth_sessions_expiry ON auth_sessions (tenant_id, expires_at)",
        # seq keeps insertion order for events with the same timestamp.
        """CREATE TABLE audit_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL,
            at REAL NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            actor_id TEXT,
            ip TEXT,
            target TEXT,
            details TEXT NOT NULL
        )""",
        "CREATE INDEX audit_events_newest ON audit_events (tenant_id, at DESC, seq DESC)",
        """CREATE TABLE login_guards (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            locked_until REAL NOT NULL
        )""",
    ),
    # 1 -> 2: support sessions and the security log.
    (
        """CREATE TABLE support_sessions (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            join_expires_at REAL NOT NULL,
            join_token_hash TEXT NOT NULL,
            pin_hash TEXT,
            status TEXT NOT NULL,
            customer_device_hash TEXT,
            joined_at REAL,
            consent_at REAL,
            consent_scopes TEXT NOT NULL,
            live_at REAL,
            ended_at REAL,
            outcome TEXT,
            ended_by TEXT
        )""",
        # A customer's link finds the session (and its account) from the token alone.
        "CREATE UNIQUE INDEX support_sessions_join_token ON support_sessions (join_token_hash)",
        "CREATE INDEX support_sessions_pin ON support_sessions (pin_hash)",
        # Reports: newest first, ties by id, so the index alone serves ORDER BY ... LIMIT.
        "CREATE INDEX support_sessions_newest ON support_sessions (tenant_id, created_at, id)",
        "CREATE INDEX support_sessions_agent ON support_sessions"
        " (tenant_id, agent_id, created_at, id)",
        # tenant_id is NULL until the account is known; seq as in audit_events.
        """CREATE TABLE security_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            ip TEXT,
            tenant_id TEXT,
            details TEXT NOT NULL
        )""",
        "CREATE INDEX security_events_newest ON security_events (tenant_id, at DESC, seq DESC)",
    ),
    # 3: one-time codes are single-use (RFC 6238 §5.2).
    ("ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0",),
    # 4: session content (sealed) and invited experts.
    (
        "ALTER TABLE support_sessions ADD COLUMN experts TEXT NOT NULL DEFAULT '[]'",
        """CREATE TABLE session_items (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            at REAL NOT NULL,
            author_id TEXT,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sealed BLOB NOT NULL
        )""",
        "CREATE INDEX session_items_session ON session_items (tenant_id, session_id, at, seq)",
    ),
    # 5: instance-wide keys, sealed by a master key (the derivation key).
    (
        """CREATE TABLE instance_keys (
            name TEXT PRIMARY KEY,
            master_key_id TEXT NOT NULL,
            sealed BLOB NOT NULL
        )""",
    ),
    # 6: sign-in attempts reserved before they are checked (identity.lockout), which
    # replace the failure counters; display names for what customers see.
    (
        "DROP TABLE login_guards",
        """CREATE TABLE login_tickets (
            key TEXT NOT NULL,
            round INTEGER NOT NULL,
            number INTEGER NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (key, round, number)
        )""",
        "ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT ''",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _unavailable(exc: sqlite3.Error) -> StoreUnavailable:
    return StoreUnavailable(f"SQLite store failed: {' '.join(str(exc).split())}")


def _unique_violation(exc: sqlite3.IntegrityError, duplicate: dict[str, Exception]) -> Exception:
    """Turn "UNIQUE constraint failed: users.email" into the matching domain error."""
    message = str(exc)
    for column, error in duplicate.items():
        if column in message:
            return error
    return Conflict("A record with this id already exists.")


class SqliteStore:
    """The :class:`~livelens.store.repository.Store` over one SQLite file."""

    def __init__(self, path: str, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self.path = path
        self._executor = executor
        self._conn: sqlite3.Connection | None = conn

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="livelens-sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, _connect, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, executor, conn)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StoreUnavailable("The store is closed.")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, conn)
        except sqlite3.IntegrityError:
            raise  # callers map constraint violations to domain errors
        except sqlite3.Error as exc:  # locked, disk full, I/O error, corrupt file...
            raise _unavailable(exc) from exc

    async def _execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one write statement; return how many rows it changed."""
        return await self._run(lambda conn: conn.execute(sql, params).rowcount)

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        # Reading to the end finishes the statement, so no read snapshot (or, with
        # RETURNING, no write) stays open between calls.
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    async def ping(self) -> None:
        await self._fetchone("SELECT 1")

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, conn.close)
        finally:
            self._executor.shutdown(wait=True)

    def scoped(self, tenant_id: str) -> SqliteTenantStore:
        if not tenant_id:
            raise InvalidInput("A tenant id is required.")
        return SqliteTenantStore(self, tenant_id)

    async def derivation_key(self, candidate: WrappedKey) -> WrappedKey:
        def first_stored(conn: sqlite3.Connection) -> WrappedKey:
            conn.execute(
                "INSERT OR IGNORE INTO instance_keys (name, master_key_id, sealed)"
                " VALUES ('derivation', ?, ?)",
                (candidate.master_key_id, candidate.sealed),
            )
            row = conn.execute(
                "SELECT master_key_id, sealed FROM instance_keys WHERE name = 'derivation'"
            ).fetchone()
            return WrappedKey(row["master_key_id"], bytes(row["sealed"]))

        return await self._run(first_stored)

    async def replace_derivation_key(self, wrapped: WrappedKey) -> None:
        await self._execute(
            "UPDATE instance_keys SET master_key_id = ?, sealed = ? WHERE name = 'derivation'",
            (wrapped.master_key_id, wrapped.sealed),
        )

    # accounts

    async def create_tenant(self, tenant: Tenant) -> None:
        try:
            await self._execute(
                "INSERT INTO tenants (id, name, region, created_at, wrapped_data_key,"
                " master_key_id, require_totp) VALUES (?, ?, ?, ?, ?, ?, ?)",
                _tenant_params(tenant),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _tenant_duplicates(tenant)) from exc

    async def find_tenant_id_by_name(self, name: str) -> str | None:
        row = await self._fetchone("SELECT id FROM tenants WHERE name = ?", (name,))
        return None if row is None else str(row["id"])

    async def list_tenant_ids(self) -> list[str]:
        rows = await self._fetchall("SELECT id FROM tenants ORDER BY created_at, id")
        return [str(row["id"]) for row in rows]

    # instance-level sign-in support

    async def locate_email(self, email: str) -> str | None:
        row = await self._fetchone("SELECT tenant_id FROM users WHERE email = ?", (email,))
        return None if row is None else str(row["tenant_id"])

    async def login_tickets(self, key: str) -> list[LoginTicket]:
        rows = await self._fetchall(
            "SELECT key, round, number, at FROM login_tickets WHERE key = ? AND round ="
            " (SELECT MAX(round) FROM login_tickets WHERE key = ?) ORDER BY number",
            (key, key),
        )
        return [_login_ticket(row) for row in rows]

    async def take_login_ticket(self, ticket: LoginTicket) -> bool:
        changed = await self._execute(
            "INSERT OR IGNORE INTO login_tickets (key, round, number, at) VALUES (?, ?, ?, ?)",
            (ticket.key, ticket.round, ticket.number, ticket.at),
        )
        return changed > 0

    async def return_login_ticket(self, ticket: LoginTicket) -> None:
        await self._execute(
            "DELETE FROM login_tickets WHERE key = ? AND round = ? AND number = ?",
            (ticket.key, ticket.round, ticket.number),
        )

    async def open_login_round(self, key: str, round_: int, at: float) -> None:
        # The round before stays: a request that read it a moment ago must still find
        # its tickets taken, or it would take one there unchecked by the new round.
        def open_round(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO login_tickets (key, round, number, at) VALUES (?, ?, 0, ?)",
                (key, round_, at),
            )
            conn.execute("DELETE FROM login_tickets WHERE key = ? AND round < ?", (key, round_ - 1))

        await self._run(open_round)

    # instance-level support-session joining

    async def locate_join_token(self, token_hash: str) -> tuple[str, str] | None:
        row = await self._fetchone(
            "SELECT tenant_id, id FROM support_sessions WHERE join_token_hash = ?",
            (token_hash,),
        )
        return None if row is None else (str(row["tenant_id"]), str(row["id"]))

    async def locate_pin(self, pin_hash: str) -> tuple[str, str] | None:
        row = await self._fetchone(
            "SELECT tenant_id, id FROM support_sessions WHERE pin_hash = ? AND status != 'ended'"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (pin_hash,),
        )
        return None if row is None else (str(row["tenant_id"]), str(row["id"]))

    # security log

    async def add_security_event(self, event: SecurityEvent) -> None:
        try:
            await self._execute(
                "INSERT INTO security_events (id, at, kind, ip, tenant_id, details)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.id,
                    event.at,
                    event.kind,
                    event.ip,
                    event.tenant_id,
                    json.dumps(event.details),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, {}) from exc

    async def list_instance_security_events(self, limit: int = 100) -> list[SecurityEvent]:
        if limit <= 0:
            return []
        rows = await self._fetchall(
            "SELECT id, at, kind, ip, tenant_id, details FROM security_events"
            " WHERE tenant_id IS NULL ORDER BY at DESC, seq DESC LIMIT ?",
            (limit,),
        )
        return [_security_event(row) for row in rows]


class SqliteTenantStore:
    """One account's view of a :class:`SqliteStore`: every statement names the tenant."""

    def __init__(self, store: SqliteStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def _check(self, tenant_id: str, what: str) -> None:
        if tenant_id != self._tenant_id:
            raise InvalidInput(f"The {what} belongs to another account.")

    async def get_tenant(self) -> Tenant | None:
        row = await self._store._fetchone(
            "SELECT id, name, region, created_at, wrapped_data_key, master_key_id, require_totp"
            " FROM tenants WHERE id = ?",
            (self._tenant_id,),
        )
        return None if row is None else _tenant(row)

    async def save_tenant(self, tenant: Tenant) -> None:
        self._check(tenant.id, "account")
        try:
            changed = await self._store._execute(
                "UPDATE tenants SET name = ?, region = ?, created_at = ?, wrapped_data_key = ?,"
                " master_key_id = ?, require_totp = ? WHERE id = ?",
                (*_tenant_params(tenant)[1:], self._tenant_id),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _tenant_duplicates(tenant)) from exc
        if changed == 0:
            raise NotFound("No such account.")

    # users

    async def create_user(self, user: User) -> None:
        self._check(user.tenant_id, "user")
        try:
            await self._store._execute(
                "INSERT INTO users (id, tenant_id, email, role, password_hash, created_at,"
                " updated_at, disabled, totp_secret, totp_pending, recovery_codes,"
                " totp_last_step, display_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _user_params(user),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _user_duplicates(user)) from exc

    async def get_user(self, user_id: str) -> User | None:
        row = await self._store._fetchone(
            _SELECT_USERS + " WHERE tenant_id = ? AND id = ?",
            (self._tenant_id, user_id),
        )
        return None if row is None else _user(row)

    async def find_user_by_email(self, email: str) -> User | None:
        row = await self._store._fetchone(
            _SELECT_USERS + " WHERE tenant_id = ? AND email = ?",
            (self._tenant_id, email),
        )
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        rows = await self._store._fetchall(
            _SELECT_USERS + " WHERE tenant_id = ? ORDER BY created_at, id",
            (self._tenant_id,),
        )
        return [_user(row) for row in rows]

    async def save_user(self, user: User) -> None:
        self._check(user.tenant_id, "user")
        params = _user_params(user)
        try:
            changed = await self._store._execute(
                "UPDATE users SET email = ?, role = ?, password_hash = ?, created_at = ?,"
                " updated_at = ?, disabled = ?, totp_secret = ?, totp_pending = ?,"
                " recovery_codes = ?, totp_last_step = ?, display_name = ?"
                " WHERE tenant_id = ? AND id = ?",
                (*params[2:], self._tenant_id, user.id),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _user_duplicates(user)) from exc
        if changed == 0:
            raise NotFound("No such user.")

    async def claim_totp_step(self, user_id: str, step: int, at: float) -> bool:
        changed = await self._store._execute(
            "UPDATE users SET totp_last_step = ?, updated_at = ?"
            " WHERE tenant_id = ? AND id = ? AND totp_last_step < ?",
            (step, at, self._tenant_id, user_id, step),
        )
        return changed > 0

    async def consume_recovery_code(self, user_id: str, digest: str, at: float) -> bool:
        # One statement, so the check and the removal cannot interleave with another use.
        changed = await self._store._execute(
            "UPDATE users SET updated_at = ?, recovery_codes = ("
            "  SELECT json_group_array(value) FROM json_each(users.recovery_codes)"
            "  WHERE value != ?)"
            " WHERE tenant_id = ? AND id = ? AND EXISTS ("
            "  SELECT 1 FROM json_each(users.recovery_codes) WHERE value = ?)",
            (at, digest, self._tenant_id, user_id, digest),
        )
        return changed > 0

    async def delete_user(self, user_id: str) -> bool:
        changed = await self._store._execute(
            "DELETE FROM users WHERE tenant_id = ? AND id = ?", (self._tenant_id, user_id)
        )
        return changed > 0

    # signed-in browsers

    async def create_auth_session(self, session: AuthSession) -> None:
        self._check(session.tenant_id, "session")
        try:
            await self._store._execute(
                "INSERT INTO auth_sessions (id, tenant_id, user_id, created_at, expires_at, ip,"
                " user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.tenant_id,
                    session.user_id,
                    session.created_at,
                    session.expires_at,
                    session.ip,
                    session.user_agent,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, {}) from exc

    async def get_auth_session(self, session_id: str) -> AuthSession | None:
        row = await self._store._fetchone(
            "SELECT id, tenant_id, user_id, created_at, expires_at, ip, user_agent"
            " FROM auth_sessions WHERE tenant_id = ? AND id = ?",
            (self._tenant_id, session_id),
        )
        return None if row is None else _auth_session(row)

    async def delete_auth_session(self, session_id: str) -> bool:
        changed = await self._store._execute(
            "DELETE FROM auth_sessions WHERE tenant_id = ? AND id = ?",
            (self._tenant_id, session_id),
        )
        return changed > 0

    async def delete_user_auth_sessions(self, user_id: str) -> int:
        return await self._store._execute(
            "DELETE FROM auth_sessions WHERE tenant_id = ? AND user_id = ?",
            (self._tenant_id, user_id),
        )

    async def purge_expired_auth_sessions(self, now: float) -> int:
        return await self._store._execute(
            "DELETE FROM auth_sessions WHERE tenant_id = ? AND expires_at <= ?",
            (self._tenant_id, now),
        )

    # audit log

    async def add_audit_event(self, event: AuditEvent) -> None:
        self._check(event.tenant_id, "audit event")
        try:
            await self._store._execute(
                "INSERT INTO audit_events (id, tenant_id, at, action, actor, actor_id, ip,"
                " target, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.id,
                    event.tenant_id,
                    event.at,
                    event.action,
                    event.actor,
                    event.actor_id,
                    event.ip,
                    event.target,
                    json.dumps(event.details),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, {}) from exc

    async def list_audit_events(self, limit: int = 100) -> list[AuditEvent]:
        if limit <= 0:
            return []
        rows = await self._store._fetchall(
            "SELECT id, tenant_id, at, action, actor, actor_id, ip, target, details"
            " FROM audit_events WHERE tenant_id = ? ORDER BY at DESC, seq DESC LIMIT ?",
            (self._tenant_id, limit),
        )
        return [_audit_event(row) for row in rows]

    # support sessions

    async def create_support_session(self, session: SupportSession) -> None:
        self._check(session.tenant_id, "support session")
        try:
            await self._store._execute(
                "INSERT INTO support_sessions (id, tenant_id, agent_id, created_at,"
                " join_expires_at, join_token_hash, pin_hash, status, customer_device_hash,"
                " joined_at, consent_at, consent_scopes, live_at, ended_at, outcome, ended_by,"
                " experts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _support_session_params(session),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _support_session_duplicates()) from exc

    async def get_support_session(self, session_id: str) -> SupportSession | None:
        row = await self._store._fetchone(
            _SELECT_SUPPORT_SESSIONS + " WHERE tenant_id = ? AND id = ?",
            (self._tenant_id, session_id),
        )
        return None if row is None else _support_session(row)

    async def save_support_session(self, session: SupportSession) -> None:
        self._check(session.tenant_id, "support session")
        params = _support_session_params(session)
        try:
            changed = await self._store._execute(
                "UPDATE support_sessions SET agent_id = ?, created_at = ?, join_expires_at = ?,"
                " join_token_hash = ?, pin_hash = ?, status = ?, customer_device_hash = ?,"
                " joined_at = ?, consent_at = ?, consent_scopes = ?, live_at = ?, ended_at = ?,"
                " outcome = ?, ended_by = ?, experts = ? WHERE tenant_id = ? AND id = ?",
                (*params[2:], self._tenant_id, session.id),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _support_session_duplicates()) from exc
        if changed == 0:
            raise NotFound("No such support session.")

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
            return []
        where = ["tenant_id = ?"]
        params: list[object] = [self._tenant_id]
        if agent_id is not None and with_experts:
            where.append(
                "(agent_id = ? OR EXISTS (SELECT 1 FROM json_each(experts) WHERE value = ?))"
            )
            params += [agent_id, agent_id]
        elif agent_id is not None:
            where.append("agent_id = ?")
            params.append(agent_id)
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        if until is not None:
            where.append("created_at < ?")
            params.append(until)
        params.append(limit)
        rows = await self._store._fetchall(
            _SELECT_SUPPORT_SESSIONS
            + " WHERE "
            + " AND ".join(where)
            + " ORDER BY created_at DESC, id DESC LIMIT ?",
            params,
        )
        return [_support_session(row) for row in rows]

    # session content

    async def put_session_item(self, item: SessionItem) -> None:
        self._check(item.tenant_id, "session item")
        try:
            # The update applies only within this tenant: an id of another account's
            # item changes nothing, and is reported as a conflict below.
            changed = await self._store._execute(
                "INSERT INTO session_items (id, tenant_id, session_id, kind, at, author_id,"
                " media_type, size, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id,"
                " kind = excluded.kind, at = excluded.at, author_id = excluded.author_id,"
                " media_type = excluded.media_type, size = excluded.size,"
                " sealed = excluded.sealed WHERE tenant_id = excluded.tenant_id",
                (item.id, item.tenant_id, item.session_id, item.kind, item.at, item.author_id,
                 item.media_type, item.size, item.sealed),
            )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, {}) from exc
        if changed == 0:
            raise Conflict("A record with this id already exists.")

    async def get_session_item(self, session_id: str, item_id: str) -> SessionItem | None:
        row = await self._store._fetchone(
            _SELECT_SESSION_ITEMS + " WHERE tenant_id = ? AND session_id = ? AND id = ?",
            (self._tenant_id, session_id, item_id),
        )
        return None if row is None else _session_item(row)

    async def list_session_items(
        self, session_id: str, kind: ContentKind | None = None, limit: int = 1000
    ) -> list[SessionItem]:
        if limit <= 0:
            return []
        where, params = "tenant_id = ? AND session_id = ?", [self._tenant_id, session_id]
        if kind is not None:
            where += " AND kind = ?"
            params.append(kind)
        rows = await self._store._fetchall(
            _SELECT_SESSION_ITEMS + f" WHERE {where} ORDER BY at DESC, seq DESC LIMIT ?",
            (*params, limit),
        )
        return [_session_item(row) for row in reversed(rows)]

    # security log

    async def list_security_events(self, limit: int = 100) -> list[SecurityEvent]:
        if limit <= 0:
            return []
        rows = await self._store._fetchall(
            "SELECT id, at, kind, ip, tenant_id, details FROM security_events"
            " WHERE tenant_id = ? ORDER BY at DESC, seq DESC LIMIT ?",
            (self._tenant_id, limit),
        )
        return [_security_event(row) for row in rows]


_SELECT_USERS = (
    "SELECT id, tenant_id, email, role, password_hash, created_at, updated_at, disabled,"
    " totp_secret, totp_pending, recovery_codes, totp_last_step, display_name FROM users"
)

_SELECT_SUPPORT_SESSIONS = (
    "SELECT id, tenant_id, agent_id, created_at, join_expires_at, join_token_hash, pin_hash,"
    " status, customer_device_hash, joined_at, consent_at, consent_scopes, live_at, ended_at,"
    " outcome, ended_by, experts FROM support_sessions"
)

_SELECT_SESSION_ITEMS = (
    "SELECT id, tenant_id, session_id, kind, at, author_id, media_type, size, sealed"
    " FROM session_items"
)


# --- opening and migrating (worker thread only) ---


def _connect(path: str) -> sqlite3.Connection:
    try:
        private_files.make_dir(Path(path).parent)
        # Made 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        private_files.create_file(Path(path))
    except OSError as exc:
        raise StoreUnavailable(f"Cannot create the store file {path}: {exc}") from exc
    conn: sqlite3.Connection | None = None
    try:
        # isolation_level=None: autocommit; the one multi-statement job (migration)
        # opens its own transaction explicitly.
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        # NORMAL is durable across application crashes in WAL mode and much faster.
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        reason = " ".join(str(exc).split())
        raise StoreUnavailable(f"Cannot open the SQLite store {path}: {reason}") from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    # IMMEDIATE takes the write lock first, so two processes opening a new file
    # at once do not both run the same migration.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        current = 0 if row is None else int(row[0])
        if current > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"The store has schema version {current}; this LiveLens knows up to "
                f"{SCHEMA_VERSION}. Upgrade LiveLens."
            )
        for statements in MIGRATIONS[current:]:
            for statement in statements:
                conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif current != SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# --- rows and records ---


def _tenant_params(tenant: Tenant) -> tuple[object, ...]:
    return (
        tenant.id,
        tenant.name,
        tenant.region,
        tenant.created_at,
        tenant.wrapped_data_key,
        tenant.master_key_id,
        int(tenant.require_totp),
    )


def _tenant_duplicates(tenant: Tenant) -> dict[str, Exception]:
    return {"tenants.name": DuplicateTenant(f"An account named {tenant.name!r} already exists.")}


def _tenant(row: sqlite3.Row) -> Tenant:
    return Tenant(
        id=row["id"],
        name=row["name"],
        region=row["region"],
        created_at=row["created_at"],
        wrapped_data_key=bytes(row["wrapped_data_key"]),
        master_key_id=row["master_key_id"],
        require_totp=bool(row["require_totp"]),
    )


def _user_params(user: User) -> tuple[object, ...]:
    return (
        user.id,
        user.tenant_id,
        user.email,
        user.role,
        user.password_hash,
        user.created_at,
        user.updated_at,
        int(user.disabled),
        user.totp_secret,
        user.totp_pending,
        json.dumps(list(user.recovery_codes)),
        user.totp_last_step,
        user.display_name,
    )


def _user_duplicates(user: User) -> dict[str, Exception]:
    return {"users.email": DuplicateEmail(f"A user with e-mail {user.email} already exists.")}


def _optional_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        tenant_id=row["tenant_id"],
        email=row["email"],
        role=cast(Role, row["role"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        disabled=bool(row["disabled"]),
        totp_secret=_optional_bytes(row["totp_secret"]),
        totp_pending=_optional_bytes(row["totp_pending"]),
        recovery_codes=tuple(json.loads(row["recovery_codes"])),
        totp_last_step=int(row["totp_last_step"]),
        display_name=str(row["display_name"]),
    )


def _auth_session(row: sqlite3.Row) -> AuthSession:
    return AuthSession(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        ip=row["ip"],
        user_agent=row["user_agent"],
    )


def _audit_event(row: sqlite3.Row) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        tenant_id=row["tenant_id"],
        at=row["at"],
        action=row["action"],
        actor=row["actor"],
        actor_id=row["actor_id"],
        ip=row["ip"],
        target=row["target"],
        details=json.loads(row["details"]),
    )


def _login_ticket(row: sqlite3.Row) -> LoginTicket:
    return LoginTicket(
        key=row["key"], round=int(row["round"]), number=int(row["number"]), at=float(row["at"])
    )


def _support_session_params(session: SupportSession) -> tuple[object, ...]:
    return (
        session.id,
        session.tenant_id,
        session.agent_id,
        session.created_at,
        session.join_expires_at,
        session.join_token_hash,
        session.pin_hash,
        session.status,
        session.customer_device_hash,
        session.joined_at,
        session.consent_at,
        json.dumps(list(session.consent_scopes)),
        session.live_at,
        session.ended_at,
        session.outcome,
        session.ended_by,
        json.dumps(list(session.experts)),
    )


def _support_session_duplicates() -> dict[str, Exception]:
    return {
        "support_sessions.join_token_hash": Conflict(
            "A support session with this join token already exists."
        ),
        "support_sessions.id": Conflict("A support session with this id already exists."),
    }


def _support_session(row: sqlite3.Row) -> SupportSession:
    return SupportSession(
        id=row["id"],
        tenant_id=row["tenant_id"],
        agent_id=row["agent_id"],
        created_at=row["created_at"],
        join_expires_at=row["join_expires_at"],
        join_token_hash=row["join_token_hash"],
        pin_hash=row["pin_hash"],
        status=cast(SessionStatus, row["status"]),
        customer_device_hash=row["customer_device_hash"],
        joined_at=row["joined_at"],
        consent_at=row["consent_at"],
        consent_scopes=tuple(json.loads(row["consent_scopes"])),
        live_at=row["live_at"],
        ended_at=row["ended_at"],
        outcome=cast(Outcome | None, row["outcome"]),
        ended_by=row["ended_by"],
        experts=tuple(json.loads(row["experts"])),
    )


def _session_item(row: sqlite3.Row) -> SessionItem:
    return SessionItem(
        id=row["id"],
        tenant_id=row["tenant_id"],
        session_id=row["session_id"],
        kind=cast(ContentKind, row["kind"]),
        at=row["at"],
        author_id=row["author_id"],
        media_type=row["media_type"],
        size=int(row["size"]),
        sealed=bytes(row["sealed"]),
    )


def _security_event(row: sqlite3.Row) -> SecurityEvent:
    return SecurityEvent(
        id=row["id"],
        at=row["at"],
        kind=row["kind"],
        ip=row["ip"],
        tenant_id=row["tenant_id"],
        details=json.loads(row["details"]),
    )
