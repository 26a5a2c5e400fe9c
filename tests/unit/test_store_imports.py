"""The store's contract can be imported without its implementations' dependencies, and each driver is
imported only when its store is chosen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mcp_server_jobs.store as store
from mcp_server_jobs.store import base
from mcp_server_jobs.store.factory import open_store
from mcp_server_jobs.store.postgres import PostgresStore
from mcp_server_jobs.store.sqlite import SQLiteStore

DRIVERS = ("aiosqlite", "numpy", "psycopg", "psycopg_pool")


def loaded_after(code: str) -> set[str]:
    """Which of DRIVERS a fresh interpreter has loaded after running `code`."""
    probe = f"import sys; {code}; print(' '.join(m for m in {DRIVERS!r} if m in sys.modules))"
    return set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split())


def test_importing_the_contract_loads_no_driver_nor_numpy() -> None:
    assert loaded_after("import mcp_server_jobs.store") == set()
    assert loaded_after("import mcp_server_jobs.store.factory") == set()


def test_choosing_sqlite_loads_no_postgresql_driver() -> None:
    chosen = loaded_after("from mcp_server_jobs.store.factory import open_store; open_store('jobs.db')")
    assert chosen == {"aiosqlite", "numpy"}


def test_a_postgresql_url_opens_the_postgresql_store_and_anything_else_a_file() -> None:
    assert isinstance(open_store("postgresql://jobs@db.example/jobs"), PostgresStore)
    assert isinstance(open_store("postgres://jobs@db.example/jobs"), PostgresStore)
    assert isinstance(open_store(Path("jobs.db")), SQLiteStore)
    assert isinstance(open_store("postgresql.db"), SQLiteStore)


def test_the_package_exports_the_contract_only() -> None:
    assert "SQLiteStore" not in vars(store)
    for name in store.__all__:
        assert getattr(store, name) is getattr(base, name), name
