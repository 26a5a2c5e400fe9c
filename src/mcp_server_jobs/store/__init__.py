"""Persistence: the store contract. Imports neither server nor scheduler.

The SQLite implementation is `mcp_server_jobs.store.sqlite.SQLiteStore`, imported from there: the
contract alone loads neither aiosqlite nor numpy.
"""

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
    "SimilarHit",
    "Vector",
    "Worker",
]
