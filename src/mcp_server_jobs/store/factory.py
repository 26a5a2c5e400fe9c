"""Which store a `--db` value names: a `postgresql://` (or `postgres://`) URL, or else a SQLite file."""

from __future__ import annotations

from pathlib import Path

from mcp_server_jobs.clock import Clock
from mcp_server_jobs.config import is_postgres
from mcp_server_jobs.store.base import JobStore


def open_store(db: Path | str, *, clock: Clock | None = None) -> JobStore:
    """The store for `db`, not opened yet (use it as `async with`); each driver is imported only when chosen."""
    if is_postgres(db):
        from mcp_server_jobs.store.postgres import PostgresStore

        return PostgresStore(str(db), clock=clock)
    from mcp_server_jobs.store.sqlite import SQLiteStore

    return SQLiteStore(db, clock=clock)
