"""Copying a SQLite database into an empty PostgreSQL one (the `migrate` command), every count checked.

The source is read from a snapshot (SQLite's online backup, consistent while a server still writes to
it), brought to the current schema there, so the file itself is never changed. The target gets every
row in one transaction: a refusal or a failed check leaves it as it was.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import psycopg
from psycopg import AsyncConnection, sql

from mcp_server_jobs.errors import StoreError
from mcp_server_jobs.store.postgres.migrations import migrate
from mcp_server_jobs.store.postgres.tokens import TokenRow
from mcp_server_jobs.store.sqlite import SQLiteStore

# The tables copied, each after those its keys refer to. Not copied: job_changes, which the target's
# triggers number afresh, and workers, the source's own processes.
COPIED = ("jobs", "job_dependencies", "runs", "inbox", "job_vectors", "defined_jobs", "deliveries")
# The target's generated keys, moved past the copied ones so that its new rows do not collide.
IDENTITIES = (("jobs", "pk"), ("runs", "seq"), ("inbox", "seq"), ("deliveries", "seq"))
_NOTHING = "Nothing was copied."


@dataclass(frozen=True)
class Copied:
    """One table: how many rows the source had and how many the target holds after the copy."""

    table: str
    source: int
    target: int


def copy_sqlite(source: Path, url: str, tokens: Sequence[TokenRow] = ()) -> list[Copied]:
    """Copy the SQLite database at `source`, and `tokens`, into the empty PostgreSQL database at `url`
    (blocking: for the command line, not inside an event loop)."""
    if not source.is_file():
        raise StoreError(f"no SQLite database at {source}; pass the file to copy as --db PATH")
    with tempfile.TemporaryDirectory(prefix="mcp-jobs-migrate-") as folder:
        snapshot = Path(folder) / "snapshot.db"
        try:
            with (
                closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as original,
                closing(sqlite3.connect(snapshot)) as copy,
            ):
                original.backup(copy)
                version = copy.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the SQLite database {source}: {exc}. {_NOTHING}") from exc
        if not version:  # a SQLite file, but not one of ours: opening it would only give it an empty schema
            raise StoreError(f"{source} is not a jobs database (it has no jobs schema). {_NOTHING}")
        return anyio.run(_copy_snapshot, snapshot, url, tokens)


async def _copy_snapshot(snapshot: Path, url: str, tokens: Sequence[TokenRow]) -> list[Copied]:
    async with SQLiteStore(snapshot):
        pass  # opening brings the snapshot to the current schema, as `serve` would the file
    with closing(sqlite3.connect(snapshot)) as db:
        try:
            async with await AsyncConnection.connect(url, autocommit=True, connect_timeout=10) as conn:
                await migrate(conn)
                async with conn.transaction():
                    return await _copy(db, conn, tokens)
        except psycopg.Error as exc:
            raise StoreError(f"the copy into PostgreSQL failed: {str(exc).strip()}. {_NOTHING}") from exc


async def _copy(db: sqlite3.Connection, conn: AsyncConnection[Any], tokens: Sequence[TokenRow]) -> list[Copied]:
    tables = (*COPIED, "tokens")
    # Nobody adds rows while the copy runs (a server already serving the target waits), nor before the check.
    await conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(_names(tables)))
    held = [table for table in tables if await _count(conn, table)]
    if held:
        raise StoreError(
            f"the PostgreSQL database already holds {', '.join(held)}: migrate copies into an empty database only "
            f"(create one with `createdb`). {_NOTHING}"
        )
    for table in COPIED:
        await _copy_table(db, conn, table)
    async with conn.cursor() as cursor:
        await cursor.executemany("INSERT INTO tokens (id, user_id, sha256, created_at) VALUES (%s, %s, %s, %s)", tokens)
    for table, column in IDENTITIES:
        await conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, {c}), coalesce(max({col}), 0) + 1, false) FROM {tab}"
            ).format(t=table, c=column, col=sql.Identifier(column), tab=sql.Identifier(table))
        )
    counts = [Copied(t, db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0], await _count(conn, t)) for t in COPIED]
    counts.append(Copied("tokens", len(tokens), await _count(conn, "tokens")))
    wrong = [c for c in counts if c.source != c.target]
    if wrong:
        shown = ", ".join(f"{c.table} {c.source} → {c.target}" for c in wrong)
        raise StoreError(f"the copy does not add up ({shown}). {_NOTHING}")
    return counts


async def _copy_table(db: sqlite3.Connection, conn: AsyncConnection[Any], table: str) -> None:
    """Every row of one table, by COPY: PostgreSQL reads SQLite's values as it would their text (instants in
    ISO 8601, JSON, 0/1 as booleans, bytes as bytea)."""
    source = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
    cursor = await conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND is_generated = 'NEVER'",
        (table,),
    )
    target = {row[0] for row in await cursor.fetchall()}
    if lost := [column for column in source if column not in target]:
        raise StoreError(f"the PostgreSQL schema has no column for {table}.{', '.join(lost)}. {_NOTHING}")
    columns = ", ".join(f'"{column}"' for column in source)
    async with conn.cursor() as cursor:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), _names(source))
        async with cursor.copy(statement) as copy:
            for row in db.execute(f'SELECT {columns} FROM "{table}" ORDER BY rowid'):
                await copy.write_row(row)


async def _count(conn: AsyncConnection[Any], table: str) -> int:
    cursor = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


def _names(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))
