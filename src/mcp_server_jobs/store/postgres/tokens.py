"""The HTTP bearer tokens of a PostgreSQL database, one list for every host that serves it.

Read and written on short blocking connections of their own, not the store's pool: the `token` commands
run before or beside any server, and a server re-reads the list now and then, off its event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import psycopg
from psycopg import AsyncConnection

from mcp_server_jobs.errors import StoreError
from mcp_server_jobs.store.postgres.migrations import migrate

TokenRow = tuple[str, str, str, str]  # id, user, sha256, created_at
_CONNECT_TIMEOUT = 10


@contextmanager
def _connected(url: str) -> Iterator[psycopg.Connection[TokenRow]]:
    try:
        with psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT) as conn:
            yield conn
    except psycopg.Error as exc:
        raise StoreError(f"the tokens of the job database cannot be read or written: {exc}") from exc


def _has_table(conn: psycopg.Connection[TokenRow]) -> bool:
    """Whether the schema (migration 0003) is there yet."""
    exists = conn.execute("SELECT to_regclass('tokens') IS NOT NULL").fetchone()
    return bool(exists and exists[0])


def read_tokens(url: str) -> list[TokenRow]:
    """Every token, oldest first; none while the database has no schema yet."""
    with _connected(url) as conn:
        if not _has_table(conn):
            return []
        return conn.execute("SELECT id, user_id, sha256, created_at FROM tokens ORDER BY created_at, id").fetchall()


def insert_token(url: str, row: TokenRow) -> None:
    """Add a token, first bringing the schema up to date (a team may add tokens before any server ran)."""
    _migrate_now(url)
    with _connected(url) as conn:
        conn.execute("INSERT INTO tokens (id, user_id, sha256, created_at) VALUES (%s, %s, %s, %s)", row)


def delete_tokens(url: str, key: str) -> list[TokenRow]:
    """Remove the token with this id, or every token of this user; returns what was removed."""
    with _connected(url) as conn:
        if not _has_table(conn):
            return []
        return conn.execute(
            "DELETE FROM tokens WHERE id = %s OR user_id = %s RETURNING id, user_id, sha256, created_at", (key, key)
        ).fetchall()


def _migrate_now(url: str) -> None:
    """The store's migrations, run to completion here (blocking: not for use inside an event loop)."""

    async def run() -> None:
        async with await AsyncConnection.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as conn:
            await migrate(conn)

    try:
        anyio.run(run)
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the job database: {exc}") from exc
