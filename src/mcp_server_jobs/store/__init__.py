"""Persistence: the store contract and its SQLite implementation. Imports neither server nor scheduler."""

from mcp_server_jobs.store.base import JobFilter, JobStore, KeywordHit
from mcp_server_jobs.store.sqlite import SQLiteStore

__all__ = ["JobFilter", "JobStore", "KeywordHit", "SQLiteStore"]
