"""The PostgreSQL schema's migrations (`sql/NNNN_name.sql`), applied at open in one transaction."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from mcp_server_jobs.store.migrations import migrations

PACKAGE = "mcp_server_jobs.store.postgres"
# (class, id) of the advisory lock that makes processes opening one database at once migrate one by one.
MIGRATION_LOCK = (1785684595, 2)


async def current_version(conn: AsyncConnection[Any]) -> int:
    """The schema version the database is at (0: none yet)."""
    cursor = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    exists = await cursor.fetchone()
    if not exists or not exists[0]:
        return 0
    cursor = await conn.execute("SELECT version FROM schema_version")
    row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def migrate(conn: AsyncConnection[Any]) -> None:
    """Apply the migrations newer than the database's schema version, all in one transaction."""
    async with conn.transaction():
        # Held to the commit: a second process opening now waits, then finds the schema current.
        await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", MIGRATION_LOCK)
        current = await current_version(conn)
        pending = [(number, script) for number, script in migrations(PACKAGE) if number > current]
        for _, script in pending:
            await conn.execute(script)  # no parameters: sent as one simple query, several statements
        if pending:
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (pending[-1][0],))
