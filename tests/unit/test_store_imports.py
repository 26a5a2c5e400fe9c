"""The store's contract can be imported without its SQLite implementation's dependencies."""

from __future__ import annotations

import subprocess
import sys

import mcp_server_jobs.store as store
from mcp_server_jobs.store import base


def test_importing_the_contract_loads_neither_aiosqlite_nor_numpy() -> None:
    code = "import sys, mcp_server_jobs.store; print(' '.join(m for m in ('aiosqlite', 'numpy') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""


def test_the_package_exports_the_contract_only() -> None:
    assert "SQLiteStore" not in vars(store)
    for name in store.__all__:
        assert getattr(store, name) is getattr(base, name), name
