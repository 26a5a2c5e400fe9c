"""Persistence: the store contract. Imports neither server nor scheduler.

The implementations are `store.sqlite.SQLiteStore` and `store.postgres.PostgresStore`, both built on
`store.sql_store.SQLStore`; `store.factory.open_store` picks one from a `--db` value. The contract alone
loads no driver nor numpy.
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
