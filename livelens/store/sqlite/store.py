"""The SQLite store's queries. Column lists, parameters and rows come from the field
tables (:mod:`livelens.store.schema`); the schema itself from :mod:`.migrations`.

Statements are put together from column names and this module's own WHERE clauses
(hence the S608 exemptions); every value is a bound parameter.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from livelens.errors import NotFound
from livelens.store import records, schema, shared
from livelens.store.repository import ALL_SESSIONS, SessionQuery
from livelens.store.sqlite.alert_hooks import SqliteAlertHooks
from livelens.store.sqlite.branding import SqliteBranding
from livelens.store.sqlite.deletion import SqliteLifecycle
from livelens.store.sqlite.exports import SqliteExportJobs
from livelens.store.sqlite.recordings import SqliteRecordings


def _unique_violation(exc: sqlite3.IntegrityError, duplicate: Mapping[str, Exception]) -> Exception:
    """Turn "UNIQUE constraint failed: users.email" into the matching domain error."""
    message = str(exc)
    for column, error in duplicate.items():
        if column in message:
            return error
    return shared.duplicate_id("A record")


def _like_escaped(text: str) -> str:
    """``text`` as a LIKE pattern matches only itself (with ``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _session_duplicates() -> Mapping[str, Exception]:
    return {
        "support_sessions.join_token_hash": shared.duplicate_join_token(),
        "support_sessions.id": shared.duplicate_id("A support session"),
    }


class SqliteStore(SqliteLifecycle):
    """The :class:`~livelens.store.repository.Store` over one SQLite file."""

    async def _insert(
        self,
        table: schema.Table[Any],
        record: object,
        duplicate: Mapping[str, Exception] | None = None,
    ) -> None:
        try:
            await self._execute(table.insert(), table.row(record))
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, duplicate or {}) from exc

    async def _locate(self, where: str, params: Sequence[object]) -> tuple[str, str] | None:
        """``(tenant_id, id)`` of the newest support session matching ``where``."""
        row = await self._fetchone(
            f"SELECT tenant_id, id FROM support_sessions WHERE {where}"  # noqa: S608
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            params,
        )
        return None if row is None else (str(row["tenant_id"]), str(row["id"]))

    async def _security_events(
        self, where: str, params: Sequence[object], limit: int
    ) -> list[records.SecurityEvent]:
        if limit <= 0:
            return []
        return await self._records(
            schema.SECURITY_EVENTS,
            f"WHERE {where} ORDER BY at DESC, seq DESC LIMIT ?",
            (*params, limit),
        )

    def scoped(self, tenant_id: str) -> SqliteTenantStore:
        return SqliteTenantStore(self, tenant_id)

    # accounts

    async def create_tenant(self, tenant: records.Tenant) -> None:
        await self._insert(
            schema.TENANTS, tenant, {"tenants.name": shared.duplicate_tenant(tenant)}
        )

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

    async def login_tickets(self, key: str) -> list[records.LoginTicket]:
        return await self._records(
            schema.LOGIN_TICKETS,
            "WHERE key = ? AND round = (SELECT MAX(round) FROM login_tickets WHERE key = ?)"
            " ORDER BY number",
            (key, key),
        )

    async def take_login_ticket(self, ticket: records.LoginTicket) -> bool:
        changed = await self._execute(
            schema.LOGIN_TICKETS.insert("INSERT OR IGNORE"), schema.LOGIN_TICKETS.row(ticket)
        )
        return changed > 0

    async def return_login_ticket(self, ticket: records.LoginTicket) -> None:
        await self._execute(
            "DELETE FROM login_tickets WHERE key = ? AND round = ? AND number = ?",
            (ticket.key, ticket.round, ticket.number),
        )

    async def open_login_round(self, key: str, round_: int, at: float) -> None:
        opening = schema.LOGIN_TICKETS.row(records.LoginTicket(key, round_, 0, at))

        # The round before stays: a request that read it a moment ago must still find
        # its tickets taken, or it would take one there unchecked by the new round.
        def open_round(conn: sqlite3.Connection) -> None:
            conn.execute(schema.LOGIN_TICKETS.insert("INSERT OR IGNORE"), opening)
            conn.execute("DELETE FROM login_tickets WHERE key = ? AND round < ?", (key, round_ - 1))

        await self._run(open_round)

    # instance-level support-session joining

    async def locate_join_token(self, token_hash: str) -> tuple[str, str] | None:
        return await self._locate("join_token_hash = ?", (token_hash,))

    async def locate_pin(self, pin_hash: str) -> tuple[str, str] | None:
        return await self._locate("pin_hash = ? AND status != 'ended'", (pin_hash,))

    # instance-level API key look-up

    async def locate_api_key(self, key_hash: str) -> tuple[str, str] | None:
        row = await self._fetchone(
            "SELECT tenant_id, id FROM api_keys WHERE key_hash = ?", (key_hash,)
        )
        return None if row is None else (str(row["tenant_id"]), str(row["id"]))

    # security log

    async def add_security_event(self, event: records.SecurityEvent) -> None:
        await self._insert(schema.SECURITY_EVENTS, event)

    async def list_instance_security_events(self, limit: int = 100) -> list[records.SecurityEvent]:
        return await self._security_events("tenant_id IS NULL", (), limit)


class SqliteTenantStore(SqliteAlertHooks, SqliteExportJobs, SqliteRecordings, SqliteBranding):
    """One account's view of a :class:`SqliteStore`: every statement names the tenant
    (the parts' common ground is :class:`.connection.SqliteTenantPart`)."""

    async def _save(
        self, table: schema.Table[Any], record: object, keys: Sequence[str],
        duplicate: Mapping[str, Exception], missing: str,
    ) -> None:  # fmt: skip
        """Replace the record whose ``keys`` (this tenant's id and the record's) match."""
        where = " AND ".join(f"{key} = ?" for key in keys)
        key_values = [
            self.tenant_id if key == "tenant_id" else getattr(record, key) for key in keys
        ]
        try:
            changed = await self._store._execute(
                f"UPDATE {table.name} SET {table.assignments(keys)} WHERE {where}",  # noqa: S608
                (*table.row(record, skip=keys), *key_values),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, duplicate) from exc
        if changed == 0:
            raise NotFound(missing)

    async def _oldest_first(self, table: schema.Table[schema.R]) -> list[schema.R]:
        return await self._store._records(
            table, "WHERE tenant_id = ? ORDER BY created_at, id", (self.tenant_id,)
        )

    async def get_tenant(self) -> records.Tenant | None:
        return await self._store._record(schema.TENANTS, "id = ?", (self.tenant_id,))

    async def save_tenant(self, tenant: records.Tenant) -> None:
        self._check(tenant.id, "account")
        duplicate = {"tenants.name": shared.duplicate_tenant(tenant)}
        await self._save(schema.TENANTS, tenant, ("id",), duplicate, "No such account.")

    # users

    async def create_user(self, user: records.User) -> None:
        self._check(user.tenant_id, "user")
        await self._store._insert(schema.USERS, user, {"users.email": shared.duplicate_email(user)})

    async def get_user(self, user_id: str) -> records.User | None:
        return await self._mine(schema.USERS, user_id)

    async def find_user_by_email(self, email: str) -> records.User | None:
        return await self._store._record(
            schema.USERS, "tenant_id = ? AND email = ?", (self.tenant_id, email)
        )

    async def list_users(self) -> list[records.User]:
        return await self._oldest_first(schema.USERS)

    async def save_user(self, user: records.User) -> None:
        self._check(user.tenant_id, "user")
        duplicate = {"users.email": shared.duplicate_email(user)}
        await self._save(schema.USERS, user, schema.KEYS, duplicate, "No such user.")

    async def claim_totp_step(self, user_id: str, step: int, at: float) -> bool:
        changed = await self._store._execute(
            "UPDATE users SET totp_last_step = ?, updated_at = ?"
            " WHERE tenant_id = ? AND id = ? AND totp_last_step < ?",
            (step, at, self.tenant_id, user_id, step),
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
            (at, digest, self.tenant_id, user_id, digest),
        )
        return changed > 0

    async def delete_user(self, user_id: str) -> bool:
        changed = await self._store._execute(
            "DELETE FROM users WHERE tenant_id = ? AND id = ?", (self.tenant_id, user_id)
        )
        return changed > 0

    async def note_sign_in(self, user_id: str, at: float) -> bool:
        changed = await self._store._execute(
            "UPDATE users SET last_sign_in_at = ? WHERE tenant_id = ? AND id = ?",
            (at, self.tenant_id, user_id),
        )
        return changed > 0

    # signed-in browsers

    async def create_auth_session(self, session: records.AuthSession) -> None:
        self._check(session.tenant_id, "session")
        await self._store._insert(schema.AUTH_SESSIONS, session)

    async def get_auth_session(self, session_id: str) -> records.AuthSession | None:
        return await self._mine(schema.AUTH_SESSIONS, session_id)

    async def delete_auth_session(self, session_id: str) -> bool:
        changed = await self._store._execute(
            "DELETE FROM auth_sessions WHERE tenant_id = ? AND id = ?",
            (self.tenant_id, session_id),
        )
        return changed > 0

    async def delete_user_auth_sessions(self, user_id: str) -> int:
        return await self._store._execute(
            "DELETE FROM auth_sessions WHERE tenant_id = ? AND user_id = ?",
            (self.tenant_id, user_id),
        )

    async def purge_expired_auth_sessions(self, now: float) -> int:
        return await self._store._execute(
            "DELETE FROM auth_sessions WHERE tenant_id = ? AND expires_at <= ?",
            (self.tenant_id, now),
        )

    # audit log

    async def add_audit_event(self, event: records.AuditEvent) -> None:
        self._check(event.tenant_id, "audit event")
        await self._store._insert(schema.AUDIT_EVENTS, event)

    async def list_audit_events(self, limit: int = 100) -> list[records.AuditEvent]:
        if limit <= 0:
            return []
        return await self._store._records(
            schema.AUDIT_EVENTS,
            "WHERE tenant_id = ? ORDER BY at DESC, seq DESC LIMIT ?",
            (self.tenant_id, limit),
        )

    # support sessions

    async def create_support_session(self, session: records.SupportSession) -> None:
        self._check(session.tenant_id, "support session")
        await self._store._insert(schema.SUPPORT_SESSIONS, session, _session_duplicates())

    async def get_support_session(self, session_id: str) -> records.SupportSession | None:
        return await self._mine(schema.SUPPORT_SESSIONS, session_id)

    async def save_support_session(self, session: records.SupportSession) -> records.SupportSession:
        self._check(session.tenant_id, "support session")
        stored = dataclasses.replace(session, version=session.version + 1)
        update = (
            f"UPDATE support_sessions SET {schema.SUPPORT_SESSIONS.assignments(schema.KEYS)}"  # noqa: S608
            " WHERE tenant_id = ? AND id = ? AND version = ?"
        )
        values = schema.SUPPORT_SESSIONS.row(stored, skip=schema.KEYS)
        params = (*values, self.tenant_id, session.id, session.version)

        def compare_and_set(conn: sqlite3.Connection) -> bool | None:
            """True if saved; else whether the session exists (then it is stale)."""
            if conn.execute(update, params).rowcount > 0:
                return True
            found = conn.execute(
                "SELECT 1 FROM support_sessions WHERE tenant_id = ? AND id = ?",
                (self.tenant_id, session.id),
            ).fetchone()
            return None if found is None else False

        try:
            saved = await self._store._run(compare_and_set)
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, _session_duplicates()) from exc
        if not saved:
            raise shared.refused_session_save(exists=saved is False)
        return stored

    async def list_support_sessions(
        self, query: SessionQuery = ALL_SESSIONS
    ) -> list[records.SupportSession]:
        if query.limit <= 0:
            return []
        where = ["tenant_id = ?"]
        params: list[object] = [self.tenant_id]
        if query.agent_id is not None and query.with_experts:
            where.append(
                "(agent_id = ? OR EXISTS (SELECT 1 FROM json_each(experts) WHERE value = ?))"
            )
            params += [query.agent_id, query.agent_id]
        elif query.agent_id is not None:
            where.append("agent_id = ?")
            params.append(query.agent_id)
        for clause, value in [("created_at >= ?", query.since), ("created_at < ?", query.until),
                              ("outcome = ?", query.outcome)]:  # fmt: skip
            if value is not None:
                where.append(clause)
                params.append(value)
        if query.reference:
            # LIKE folds the case of ASCII letters only, as the MongoDB engine does.
            where.append("reference LIKE ? ESCAPE '\\'")
            params.append(f"%{_like_escaped(query.reference)}%")
        order = "ASC" if query.oldest_first else "DESC"
        if query.after is not None:
            # A row value: the index on (..., created_at, id) serves it.
            where.append(f"(created_at, id) {'>' if query.oldest_first else '<'} (?, ?)")
            params += [*query.after]
        return await self._store._records(
            schema.SUPPORT_SESSIONS,
            f"WHERE {' AND '.join(where)} ORDER BY created_at {order}, id {order} LIMIT ?",
            (*params, query.limit),
        )

    def stream_support_sessions(
        self, query: SessionQuery, batch: int
    ) -> AsyncIterator[list[records.SupportSession]]:
        # Keyset pages: each one is a range read on the (tenant, created_at, id) index.
        return shared.keyset_pages(self.list_support_sessions, query, batch)

    # session content

    async def put_session_item(self, item: records.SessionItem) -> None:
        self._check(item.tenant_id, "session item")
        try:
            # The update applies only within this tenant: an id of another account's
            # item changes nothing, and is reported as a conflict below.
            changed = await self._store._execute(
                f"{schema.SESSION_ITEMS.insert()} ON CONFLICT (id) DO UPDATE SET"
                f" {schema.SESSION_ITEMS.take_excluded(schema.KEYS)}"
                " WHERE tenant_id = excluded.tenant_id",
                schema.SESSION_ITEMS.row(item),
            )
        except sqlite3.IntegrityError as exc:
            raise _unique_violation(exc, {}) from exc
        if changed == 0:
            raise shared.duplicate_id("A record")

    async def get_session_item(self, session_id: str, item_id: str) -> records.SessionItem | None:
        return await self._store._record(
            schema.SESSION_ITEMS,
            "tenant_id = ? AND session_id = ? AND id = ?",
            (self.tenant_id, session_id, item_id),
        )

    async def list_session_items(
        self, session_id: str, kind: records.ContentKind | None = None, limit: int = 1000
    ) -> list[records.SessionItem]:
        if limit <= 0:
            return []
        where, params = "tenant_id = ? AND session_id = ?", [self.tenant_id, session_id]
        if kind is not None:
            where += " AND kind = ?"
            params.append(kind)
        items = await self._store._records(
            schema.SESSION_ITEMS,
            f"WHERE {where} ORDER BY at DESC, seq DESC LIMIT ?",
            (*params, limit),
        )
        items.reverse()
        return items

    # API keys

    async def create_api_key(self, key: records.ApiKey) -> None:
        self._check(key.tenant_id, "API key")
        # Its id or its key hash: either is a clash with a key that exists.
        duplicate = {"api_keys.": shared.duplicate_id("An API key")}
        await self._store._insert(schema.API_KEYS, key, duplicate)

    async def get_api_key(self, key_id: str) -> records.ApiKey | None:
        return await self._mine(schema.API_KEYS, key_id)

    async def list_api_keys(self) -> list[records.ApiKey]:
        return await self._oldest_first(schema.API_KEYS)

    async def delete_api_key(self, key_id: str) -> bool:
        changed = await self._store._execute(
            "DELETE FROM api_keys WHERE tenant_id = ? AND id = ?", (self.tenant_id, key_id)
        )
        return changed > 0

    # security log

    async def list_security_events(self, limit: int = 100) -> list[records.SecurityEvent]:
        return await self._store._security_events("tenant_id = ?", (self.tenant_id,), limit)
