"""The named SQL statements every dialect's queries module provides, so the store's steps are written once.

A queries module (`store.queries` for SQLite, `store.postgres.queries`) is checked against this protocol
by mypy. Statements take `:name` parameters. `LOCK_*` statements read rows a write transaction is about
to change: PostgreSQL locks them; SQLite's BEGIN IMMEDIATE already holds its one write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Statements(Protocol):
    """The statements of one SQL dialect, by name (see `store.queries` for what each does)."""

    # jobs
    INSERT_JOB: str
    INSERT_DEPENDENCY: str
    DELETE_DEPENDENCIES: str
    SELECT_JOB: str
    SELECT_JOB_BY_ID: str
    LOCK_JOB: str
    LOCK_JOB_BY_ID: str
    LOCK_STATUS_VERSION: str
    SELECT_LIVE_BY_DEDUP_KEY: str
    COUNT_LIVE_JOBS: str
    SELECT_JOBS_BY_IDS: str
    LIST_JOBS: str
    SEARCH_JOBS: str
    COUNT_MATCHES: str
    DEPENDENCY_CLOSURE: str
    SELECT_DEPENDENTS: str
    SELECT_WAITING_TO_SETTLE: str
    REQUESTED_RUNS: str
    CLEAR_RUN_REQUEST: str
    SELECT_DUE: str
    EARLIEST_DUE: str
    # vectors and the change feed the in-memory index follows
    PUT_VECTOR: str
    DELETE_VECTOR: str
    SELECT_WITHOUT_VECTORS: str
    COUNT_JOBS: str
    SELECT_INDEX_CHANGES: str
    # runs
    LIST_RUNS: str
    LOCK_RUN: str
    INSERT_RUN: str
    FINISH_RUN: str
    RENEW_LEASES: str
    SELECT_EXPIRED_RUNS: str
    RECORD_AGENT_PID: str
    RUN_TOTALS: str
    LATEST_OUTPUTS: str
    # the webhook outbox
    INSERT_DELIVERY: str
    CLAIM_DELIVERIES: str
    SETTLE_DELIVERY: str
    RECORD_DELIVERY_ERROR: str
    # inbox
    INSERT_MESSAGE: str
    TRIM_INBOX: str
    LIST_MESSAGES: str
    COUNT_UNREAD: str
    SELECT_OWN_MESSAGE_IDS: str
    MARK_READ: str
    # the jobs file, and who serves
    SELECT_DEFINED_JOBS: str
    PUT_DEFINED_JOB: str
    DROP_DEFINED_JOB: str
    HEARTBEAT: str
    DROP_WORKER: str
    LIVE_WORKERS: str
    FORGET_WORKERS: str

    def fts_query(self, terms: Sequence[str], match_all: bool) -> str:
        """The full-text query (SEARCH_JOBS' and COUNT_MATCHES' `:query`) for plain words; none is syntax."""
        ...
