"""The schema's numbered migrations (`sql/NNNN_name.sql`) and how a database is brought up to date."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp_server_jobs.store.steps import Conn


def migrations(package: str = "mcp_server_jobs.store") -> list[tuple[int, str]]:
    """Every migration of a store's package (SQLite's unless told) as (number, script), oldest first."""
    folder = resources.files(package) / "sql"
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version(package: str = "mcp_server_jobs.store") -> int:
    """The schema version this code migrates a store's database to (the newest migration's number)."""
    return max(number for number, _ in migrations(package))


def statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers hold semicolons of their own)."""
    found, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    return found


async def migrate(conn: Conn) -> None:
    """Apply the migrations newer than a SQLite database's `user_version`, inside the caller's write transaction."""
    current = await conn.scalar("PRAGMA user_version") or 0
    for number, script in migrations():
        if number <= current:
            continue
        for statement in statements(script):
            await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {number}")
