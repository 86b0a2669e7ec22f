"""The SQLite store's part in deletion and retention: session keys, deleting a session
or a whole account, the instance's signing key, its record of deletions, and leases.

Deleted rows are overwritten in the file (``secure_delete``, see :mod:`.connection`),
and :meth:`SqliteLifecycle.forget_deleted` empties the write-ahead log, whose older
page images would otherwise keep them a while longer.
"""

from __future__ import annotations

import sqlite3

from livelens.store import records, schema, shared
from livelens.store.encryption import WrappedKey
from livelens.store.sqlite.connection import SqliteConnection, SqliteTenantPart


class SqliteLifecycle(SqliteConnection, shared.InstanceKeys):
    """The instance-level part, a base of :class:`.store.SqliteStore`."""

    async def _kept_key(self, name: str, candidate: WrappedKey) -> WrappedKey:
        """The instance key ``name`` as stored, ``candidate`` stored first if none is."""

        def first_stored(conn: sqlite3.Connection) -> WrappedKey:
            conn.execute(
                "INSERT OR IGNORE INTO instance_keys (name, master_key_id, sealed)"
                " VALUES (?, ?, ?)",
                (name, candidate.master_key_id, candidate.sealed),
            )
            row = conn.execute(
                "SELECT master_key_id, sealed FROM instance_keys WHERE name = ?", (name,)
            ).fetchone()
            return WrappedKey(row["master_key_id"], bytes(row["sealed"]))

        return await self._run(first_stored)

    async def _replace_key(self, name: str, wrapped: WrappedKey) -> None:
        await self._execute(
            "UPDATE instance_keys SET master_key_id = ?, sealed = ? WHERE name = ?",
            (wrapped.master_key_id, wrapped.sealed, name),
        )

    async def add_deletion_record(self, record: records.DeletionRecord) -> None:
        table = schema.DELETION_RECORDS
        try:
            await self._execute(table.insert(), table.row(record))
        except sqlite3.IntegrityError as exc:
            raise shared.duplicate_id("A deletion record") from exc

    async def list_deletion_records(self, limit: int = 100) -> list[records.DeletionRecord]:
        if limit <= 0:
            return []
        return await self._records(
            schema.DELETION_RECORDS, "ORDER BY at DESC, seq DESC LIMIT ?", (limit,)
        )

    async def current_lease(self, name: str) -> records.Lease | None:
        found = await self._records(
            schema.LEASES, "WHERE name = ? ORDER BY term DESC LIMIT 1", (name,)
        )
        return found[0] if found else None

    async def take_lease(self, lease: records.Lease) -> bool:
        def take(conn: sqlite3.Connection) -> bool:
            taken = conn.execute(
                schema.LEASES.insert("INSERT OR IGNORE"), schema.LEASES.row(lease)
            ).rowcount
            if taken:
                conn.execute(
                    "DELETE FROM leases WHERE name = ? AND term < ?", (lease.name, lease.term - 1)
                )
            return taken > 0

        return await self._run(take)

    async def forget_deleted(self) -> None:
        await self._fetchall("PRAGMA wal_checkpoint(TRUNCATE)")


class SqliteDeletion(SqliteTenantPart):
    """The account-level part of :class:`.store.SqliteTenantStore`."""

    async def create_session_key(self, key: records.SessionKey) -> None:
        self._check(key.tenant_id, "session key")
        duplicate = {"session_keys.id": shared.duplicate_id("A session key")}
        await self._store._insert(schema.SESSION_KEYS, key, duplicate)

    async def get_session_key(self, session_id: str) -> records.SessionKey | None:
        return await self._mine(schema.SESSION_KEYS, session_id)

    async def delete_session_key(self, session_id: str) -> bool:
        return await self._delete("session_keys", "id = ?", session_id) > 0

    async def delete_session_items(self, session_id: str) -> dict[str, int]:
        def delete(conn: sqlite3.Connection) -> dict[str, int]:
            # One transaction: what is counted is what is deleted.
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(
                    "SELECT kind, COUNT(*) AS n FROM session_items"
                    " WHERE tenant_id = ? AND session_id = ? GROUP BY kind",
                    (self.tenant_id, session_id),
                ).fetchall()
                conn.execute(
                    "DELETE FROM session_items WHERE tenant_id = ? AND session_id = ?",
                    (self.tenant_id, session_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return {str(row["kind"]): int(row["n"]) for row in rows}

        return await self._store._run(delete)

    async def delete_support_session(self, session_id: str) -> bool:
        return await self._delete("support_sessions", "id = ?", session_id) > 0

    async def list_sessions_to_purge(
        self, created_before: float, limit: int, after: tuple[float, str] | None = None
    ) -> list[records.SupportSession]:
        if limit <= 0:
            return []
        where = "tenant_id = ? AND purged_at IS NULL AND created_at < ?"
        params: list[object] = [self.tenant_id, created_before]
        if after is not None:
            where += " AND (created_at, id) > (?, ?)"
            params += [*after]
        return await self._store._records(
            schema.SUPPORT_SESSIONS,
            f"WHERE {where} ORDER BY created_at, id LIMIT ?",
            (*params, limit),
        )

    async def delete_account(self) -> dict[str, int]:
        def delete(conn: sqlite3.Connection) -> dict[str, int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                counts = {
                    table.name: conn.execute(
                        f"DELETE FROM {table.name} WHERE tenant_id = ?",  # noqa: S608
                        (self.tenant_id,),
                    ).rowcount
                    for table in schema.ACCOUNT_TABLES
                }
                counts[schema.TENANTS.name] = conn.execute(
                    "DELETE FROM tenants WHERE id = ?", (self.tenant_id,)
                ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return counts

        return await self._store._run(delete)

    async def _delete(self, table: str, where: str, record_id: str) -> int:
        return await self._store._execute(
            f"DELETE FROM {table} WHERE tenant_id = ? AND {where}",  # noqa: S608
            (self.tenant_id, record_id),
        )
