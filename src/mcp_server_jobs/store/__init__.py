"""Persistence: the store contract and its SQLite implementation. Imports neither server nor scheduler."""

from mcp_server_jobs.store.base import (
    Claim,
    ClaimDecision,
    DefinedJob,
    JobFilter,
    JobStore,
    KeywordHit,
    RunDecision,
    SimilarHit,
    Vector,
)
from mcp_server_jobs.store.sqlite import SQLiteStore

__all__ = [
    "Claim",
    "ClaimDecision",
    "DefinedJob",
    "JobFilter",
    "JobStore",
    "KeywordHit",
    "RunDecision",
    "SQLiteStore",
    "SimilarHit",
    "Vector",
]
