"""The PostgreSQL store: psycopg 3's async connections from a pool, shared by any number of processes and hosts."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, ClassVar

import anyio
import psycopg
from psycopg import AsyncConnection, errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool

import mcp_server_jobs.store.postgres.queries as queries
from mcp_server_jobs.clock import Clock, SystemClock
from mcp_server_jobs.errors import StoreError
from mcp_server_jobs.store.codec import Row
from mcp_server_jobs.store.postgres.migrations import migrate
from mcp_server_jobs.store.sql_store import SQLStore
from mcp_server_jobs.store.statements import Statements
from mcp_server_jobs.store.steps import Params

Connection = AsyncConnection[DictRow]
log = logging.getLogger(__name__)
# The advisory lock class of a user's creates (see migration 0001); the id is hashtext(user_id).
_USER_LOCKS = 1785684596
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def pyformat(sql: str) -> str:
    """A statement's `:name` parameters as psycopg's `%(name)s` (a `::type` cast is left alone)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class PostgresStore(SQLStore):
    """Jobs in a PostgreSQL database (a `postgresql://` URL); safe for many processes on many hosts."""

    q: ClassVar[Statements] = queries
    hears_other_processes: ClassVar[bool] = True

    def __init__(
        self, url: str, *, clock: Clock | None = None, pool_size: int = 10, connect_timeout: float = 10.0
    ) -> None:
        super().__init__(clock or SystemClock())
        self.url = url
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool[Connection] | None = None

    def _where(self) -> str:
        """The database named for a person, without the URL's password."""
        try:
            parts = conninfo_to_dict(self.url)
        except psycopg.ProgrammingError:
            return "(an unreadable postgresql:// URL)"
        return f"{parts.get('dbname', '')} on {parts.get('host', 'localhost')}:{parts.get('port', 5432)}"

    async def open(self) -> None:
        """Bring the schema up to date on a connection of its own, then open the pool."""
        timeout = int(self._connect_timeout)
        try:
            async with await AsyncConnection.connect(self.url, autocommit=True, connect_timeout=timeout) as conn:
                await migrate(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the job database {self._where()}: {exc}") from exc
        pool = AsyncConnectionPool(
            self.url,
            connection_class=Connection,
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=_configure,
            min_size=1,
            max_size=self._pool_size,
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=self._connect_timeout)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await pool.close()
            if isinstance(exc, psycopg.Error):
                raise StoreError(f"cannot open the job database {self._where()}: {exc}") from exc
            raise
        self._pool = pool

    async def close(self) -> None:
        """Close the pool and its connections (idempotent)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def due_changes(self) -> AsyncIterator[None]:
        """Yields at each commit, by any process, that created a job or changed a due time or status."""
        async for _ in self._notices("mcp_jobs_due"):
            yield

    async def inbox_changes(self) -> AsyncIterator[str]:
        """Yields the user of each message any process added to an inbox, at its commit."""
        async for user_id in self._notices("mcp_jobs_inbox"):
            if user_id:
                yield user_id

    async def _notices(self, channel: str) -> AsyncIterator[str]:
        """The payloads sent on `channel`, on a connection of its own outside the pool.

        First an empty one once listening (what changed before may have been missed). A lost connection is
        opened again after a second; the sweep covers what falls due meanwhile.
        """
        while True:
            try:
                async with await AsyncConnection.connect(self.url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {channel}")
                    yield ""
                    async for notice in conn.notifies():
                        yield notice.payload
            except psycopg.Error as exc:
                log.warning("job database: not listening on %s (%s); trying again in 1 s", channel, exc)
                await anyio.sleep(1.0)

    @asynccontextmanager
    async def _borrowed(self) -> AsyncIterator[Connection]:
        """A connection of the pool, given back however the block ends (a cancelled one too)."""
        pool = self._pool
        if pool is None:
            raise StoreError("the job database is not open")
        try:
            conn = await pool.getconn()
        except psycopg.Error as exc:  # PoolTimeout among them
            raise StoreError(f"job database error: {exc}") from exc
        try:
            yield conn
        except psycopg.Error as exc:
            raise StoreError(f"job database error: {exc}") from exc
        finally:
            with anyio.CancelScope(shield=True):
                # The pool closes a connection left in the middle of a query, and makes a new one.
                await pool.putconn(conn)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_PgConn]:
        async with self._borrowed() as conn:
            yield _PgConn(conn)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_PgConn]:
        """A write transaction (READ COMMITTED: each statement sees what others committed before it;
        the rows it will change are locked by the LOCK_* and claim statements)."""
        async with self._borrowed() as conn:
            try:
                await conn.execute("BEGIN")
                yield _PgConn(conn)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await _roll_back(conn)
                raise
            # The change feed's deferred triggers run here, at commit.
            await conn.execute("COMMIT")


async def _configure(conn: Connection) -> None:
    """Set up a new pool connection: instants read in UTC, JSON columns read as their text."""
    # The text goes to the same readers as SQLite's (pydantic parses a schedule from it directly).
    conn.adapters.register_loader("jsonb", TextLoader)
    await conn.execute("SET TIME ZONE 'UTC'")


async def _roll_back(conn: Connection) -> None:
    """End a transaction that failed or was cancelled; a connection that cannot is closed."""
    if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        try:
            await conn.execute("ROLLBACK")
        except psycopg.Error:
            await conn.close()


class _PgConn:
    """The steps' `Conn` over a pool connection."""

    q: ClassVar[Statements] = queries

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        cursor = await self._conn.execute(pyformat(sql), params or {})
        return await cursor.fetchall()

    async def scalar(self, sql: str, params: Params | None = None) -> Any:
        cursor = await self._conn.execute(pyformat(sql), params or {})
        row = await cursor.fetchone()
        return None if row is None else next(iter(row.values()))

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._conn.execute(pyformat(sql), params or {})
        return cursor.rowcount

    async def executemany(self, sql: str, params: Iterable[Params]) -> None:
        async with self._conn.cursor() as cursor:
            await cursor.executemany(pyformat(sql), params)

    async def insert_run(self, params: Params, *, unless_taken: bool) -> bool:
        if not unless_taken:
            await self.execute(queries.INSERT_RUN, params)
            return True
        try:
            async with self._conn.transaction():  # a savepoint: a refused insert undoes itself alone
                await self.execute(queries.INSERT_RUN, params)
        except errors.UniqueViolation as exc:
            if exc.diag.constraint_name != "runs_one_per_occurrence":
                raise
            return False
        return True

    async def lock_user(self, user_id: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_USER_LOCKS, user_id))
