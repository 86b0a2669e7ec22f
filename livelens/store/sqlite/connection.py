"""The SQLite file, and the one worker thread that runs every statement on it.

sqlite3 calls block, so every one of them runs on a single dedicated worker thread;
the event loop only awaits futures. One thread also means one connection, which
SQLite handles best, and statements from this process never interleave.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from livelens import private_files
from livelens.errors import NotFound, StoreUnavailable
from livelens.store import schema, shared
from livelens.store.sqlite.migrations import migrate

if TYPE_CHECKING:
    from livelens.store.sqlite.store import SqliteStore

T = TypeVar("T")
Row = dict[str, Any]


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


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
        conn.row_factory = _dict_row
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        # NORMAL is durable across application crashes in WAL mode and much faster.
        conn.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows are overwritten with zeros, not left in free pages: what a
        # deletion removes (a shredded key above all) is gone from the file.
        conn.execute("PRAGMA secure_delete = ON")
        migrate(conn)
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


class SqliteConnection:
    """The open file and its worker thread; :class:`.store.SqliteStore` adds the queries."""

    def __init__(self, path: str, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self.path = path
        self._executor = executor
        self._conn: sqlite3.Connection | None = conn

    @classmethod
    async def open(cls, path: str) -> Self:
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
            raise StoreUnavailable(f"SQLite store failed: {' '.join(str(exc).split())}") from exc

    async def _execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one write statement; return how many rows it changed."""
        return await self._run(lambda conn: conn.execute(sql, params).rowcount)

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        # Reading to the end finishes the statement, so no read snapshot (or, with
        # RETURNING, no write) stays open between calls.
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def _records(
        self, table: schema.Table[schema.R], tail: str, params: Sequence[object]
    ) -> list[schema.R]:
        """The records ``SELECT <every column> FROM table <tail>`` finds."""
        rows = await self._fetchall(f"{table.select} {tail}", params)
        return [table.from_row(row) for row in rows]

    async def _record(
        self, table: schema.Table[schema.R], where: str, params: Sequence[object]
    ) -> schema.R | None:
        found = await self._records(table, f"WHERE {where}", params)
        return found[0] if found else None

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


class SqliteTenantPart(shared.TenantScope):
    """A part of :class:`.store.SqliteTenantStore`, one account's view of the store's
    tables: the statements every part builds name the tenant."""

    def __init__(self, store: SqliteStore, tenant_id: str) -> None:
        super().__init__(tenant_id)
        self._store = store

    async def _mine(self, table: schema.Table[schema.R], record_id: str) -> schema.R | None:
        """This tenant's record ``record_id`` of ``table``."""
        return await self._store._record(table, "tenant_id = ? AND id = ?",
                                         (self.tenant_id, record_id))  # fmt: skip

    async def _replace_mine(self, table: schema.Table[Any], record: Any, missing: str) -> None:
        """Replace this tenant's record of ``table`` that has ``record``'s id (every column
        but the keys); NotFound(``missing``) if there is none."""
        changed = await self._store._execute(
            f"UPDATE {table.name} SET {table.assignments(schema.KEYS)}"  # noqa: S608
            " WHERE id = ? AND tenant_id = ?",
            (*table.row(record, skip=schema.KEYS), record.id, self.tenant_id),
        )
        if changed == 0:
            raise NotFound(missing)

    async def _account_record(self, table: schema.Table[schema.R]) -> schema.R | None:
        """The account's one record of ``table`` (a table keyed by the tenant id)."""
        return await self._store._record(table, "tenant_id = ?", (self.tenant_id,))

    async def _put_account_record(self, table: schema.Table[schema.R], record: schema.R) -> None:
        """Store the account's one record of ``table``: insert it, or replace every other
        column of the account's row."""
        upsert = (
            f"{table.insert()} ON CONFLICT (tenant_id)"
            f" DO UPDATE SET {table.take_excluded(('tenant_id',))}"
        )
        await self._store._execute(upsert, table.row(record))
