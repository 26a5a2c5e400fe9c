"""The SQLite store: one aiosqlite connection per process, WAL, migrations by `PRAGMA user_version`."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import aiosqlite
import anyio

from mcp_server_jobs.clock import Clock, SystemClock
from mcp_server_jobs.errors import StoreError
from mcp_server_jobs.store import queries
from mcp_server_jobs.store.codec import Row
from mcp_server_jobs.store.migrations import migrate
from mcp_server_jobs.store.sql_store import SQLStore
from mcp_server_jobs.store.statements import Statements
from mcp_server_jobs.store.steps import OCCURRENCE_TAKEN, Params


class SQLiteStore(SQLStore):
    """Jobs in one SQLite file; safe for several processes sharing it."""

    q: ClassVar[Statements] = queries

    def __init__(self, path: Path | str, *, clock: Clock | None = None, busy_timeout_ms: int = 10_000) -> None:
        super().__init__(clock or SystemClock())
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        # One connection is shared by every task of the process: a transaction must not interleave.
        self._lock = anyio.Lock()

    async def open(self) -> None:
        """Connect, set WAL and foreign keys, apply pending migrations."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the job database {self.path}: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await self._use_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            async with self._transaction() as transaction:
                await migrate(transaction)
        except BaseException as exc:
            self._conn = None
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open the job database {self.path}: {exc}") from exc
            raise

    async def _use_wal(self, conn: aiosqlite.Connection) -> None:
        """Switch to WAL; the switch can meet 'database is locked' without waiting when several
        processes open a new file at once, so it is retried for up to the busy timeout."""
        with anyio.move_on_after(self._busy_timeout_ms / 1000):
            while True:
                if await _SQLiteConn(conn).scalar("PRAGMA journal_mode") == "wal":
                    return
                try:
                    await conn.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    await anyio.sleep(0.02)
        await conn.execute("PRAGMA journal_mode = WAL")  # a last try, whose error is the one reported

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def _held(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._conn is None:
            raise StoreError("the job database is not open")
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"job database error: {exc}") from exc

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_SQLiteConn]:
        async with self._held() as conn:
            yield _SQLiteConn(conn)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_SQLiteConn]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock up front, so reads inside it are current."""
        async with self._held() as conn:
            try:
                # Inside the try: a task cancelled while BEGIN is queued still has BEGIN run by aiosqlite's
                # thread, and must roll it back, or the shared connection stays in a transaction and every
                # later write fails (the runs recorded as the server stops among them).
                await conn.execute("BEGIN IMMEDIATE")
                yield _SQLiteConn(conn)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await conn.rollback()  # after BEGIN in aiosqlite's queue; a no-op if none began
                raise
            await conn.commit()


class _SQLiteConn:
    """The steps' `Conn` over the store's aiosqlite connection."""

    q: ClassVar[Statements] = queries

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        async with self._conn.execute(sql, params or {}) as cursor:
            return list(await cursor.fetchall())

    async def scalar(self, sql: str, params: Params | None = None) -> Any:
        async with self._conn.execute(sql, params or {}) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._conn.execute(sql, params or {})
        return cursor.rowcount

    async def executemany(self, sql: str, params: Iterable[Params]) -> None:
        await self._conn.executemany(sql, params)

    async def insert_run(self, params: Params, *, unless_taken: bool) -> bool:
        try:
            await self._conn.execute(queries.INSERT_RUN, params)
        except sqlite3.IntegrityError as exc:
            # The runs_one_per_occurrence trigger undoes this statement alone; the transaction goes on.
            if unless_taken and OCCURRENCE_TAKEN in str(exc):
                return False
            raise
        return True

    async def lock_user(self, user_id: str) -> None:
        """Nothing to take: BEGIN IMMEDIATE holds the database's one write lock already."""
