"""Persistence: the store contract and its SQLite implementation. Imports neither server nor scheduler."""

from mcp_server_jobs.store.base import (
    Claim,
    ClaimDecision,
    DefinedJob,
    Finished,
    JobFilter,
    JobStore,
    KeywordHit,
    Report,
    ReportDecision,
    RunDecision,
    SimilarHit,
    Vector,
    Worker,
)
from mcp_server_jobs.store.sqlite import SQLiteStore

__all__ = [
    "Claim",
    "ClaimDecision",
    "DefinedJob",
    "Finished",
    "JobFilter",
    "JobStore",
    "KeywordHit",
    "Report",
    "ReportDecision",
    "RunDecision",
    "SQLiteStore",
    "SimilarHit",
    "Vector",
    "Worker",
]
