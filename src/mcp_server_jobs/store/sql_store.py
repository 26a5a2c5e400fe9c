"""Every method of the store contract as transactions of the shared steps, for both databases.

A subclass brings the database: how it opens and closes, a connection for reads (`_connection`), a
write transaction (`_transaction`), and its dialect's statements (`q`). What differs between the two
(locks, the refused second run of an occurrence) is in those and in the statements, not here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, ClassVar

from mcp_server_jobs.clock import Clock
from mcp_server_jobs.errors import Conflict, JobNotFound, LimitReached, MessageNotFound
from mcp_server_jobs.models import (
    TEXT_FIELDS,
    Delivery,
    DeliveryState,
    InboxMessage,
    Job,
    JobChanges,
    JobStatus,
    NewJob,
    Run,
    RunOutcome,
)
from mcp_server_jobs.store import steps
from mcp_server_jobs.store.base import (
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
from mcp_server_jobs.store.codec import (
    Row,
    filter_params,
    from_db,
    ids_param,
    job_params,
    row_to_defined_job,
    row_to_delivery,
    row_to_job,
    row_to_message,
    row_to_run,
    row_to_worker,
    run_params,
    settle_params,
    to_db,
    vector_params,
    worker_params,
)
from mcp_server_jobs.store.statements import Statements
from mcp_server_jobs.store.steps import Conn
from mcp_server_jobs.store.vector_search import VectorSearch

_LEASE_EXPIRED = "interrupted: the server running it stopped (its lease expired)"


class SQLStore(JobStore):
    """The contract's methods over a SQL database; subclasses open it and hand out connections."""

    q: ClassVar[Statements]

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._vectors = VectorSearch(self._query, self.q)

    @abstractmethod
    def _connection(self) -> AbstractAsyncContextManager[Conn]:
        """A connection for reads (StoreError when the database is not open or fails)."""

    @abstractmethod
    def _transaction(self) -> AbstractAsyncContextManager[Conn]:
        """A write transaction, committed when the block ends and rolled back if it raises."""

    async def _query(self, sql: str, params: dict[str, Any]) -> Sequence[Row]:
        async with self._connection() as conn:
            return await conn.rows(sql, params)

    async def _jobs(self, sql: str, params: dict[str, Any]) -> list[Job]:
        return [row_to_job(row) for row in await self._query(sql, params)]

    # --- jobs ---

    async def create_job(
        self, job: NewJob, vector: Vector | None = None, *, max_live: int | None = None
    ) -> tuple[Job, bool]:
        async with self._transaction() as conn:
            await conn.lock_user(job.user_id)
            if job.dedup_key is not None:
                rows = await conn.rows(
                    self.q.SELECT_LIVE_BY_DEDUP_KEY, {"user_id": job.user_id, "dedup_key": job.dedup_key}
                )
                if rows:
                    return row_to_job(rows[0]), False
            if max_live is not None:
                live = await conn.scalar(self.q.COUNT_LIVE_JOBS, {"user_id": job.user_id})
                if live >= max_live:
                    raise LimitReached(
                        f"you have {live} live jobs, this server's limit per user; cancel jobs you no longer "
                        "need (job_cancel) or let them finish, then create this one. Nothing was created."
                    )
            await conn.execute(self.q.INSERT_JOB, job_params(job))
            await steps.insert_dependencies(conn, job.id, job.depends_on)
            if vector is not None:
                await conn.execute(self.q.PUT_VECTOR, vector_params(job, vector))
            return await steps.read_job(conn, job.id, job.user_id), True

    async def get_job(self, user_id: str, job_id: str) -> Job:
        async with self._connection() as conn:
            return await steps.read_job(conn, job_id, user_id)

    async def get_jobs(self, user_id: str, job_ids: Sequence[str]) -> list[Job]:
        rows = await self._query(self.q.SELECT_JOBS_BY_IDS, {"user_id": user_id, "ids": ids_param(job_ids)})
        by_id = {row["id"]: row_to_job(row) for row in rows}
        return [by_id[i] for i in job_ids if i in by_id]

    async def list_jobs(self, user_id: str, where: JobFilter, limit: int) -> list[Job]:
        return await self._jobs(self.q.LIST_JOBS, {"user_id": user_id, "limit": limit, **filter_params(where)})

    async def search_keywords(
        self, user_id: str, terms: Sequence[str], match_all: bool, where: JobFilter, limit: int
    ) -> list[KeywordHit]:
        query = self.q.fts_query(terms, match_all)
        params = {"user_id": user_id, "limit": limit, "query": query, **filter_params(where)}
        rows = await self._query(self.q.SEARCH_JOBS, params)
        return [KeywordHit(job=row_to_job(row), snippet=row["snippet"], rank=row["rank"]) for row in rows]

    async def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        counts = {}
        async with self._connection() as conn:
            for word in words:
                query = self.q.fts_query([word], False)
                counts[word] = int(await conn.scalar(self.q.COUNT_MATCHES, {"query": query}))
        return counts

    async def search_similar(
        self, user_id: str, vector: Vector, where: JobFilter, limit: int, min_similarity: float
    ) -> list[SimilarHit]:
        found = await self._vectors.search(user_id, vector, where, limit, min_similarity)
        jobs = {job.id: job for job in await self.get_jobs(user_id, [job_id for job_id, _ in found])}
        return [SimilarHit(job=jobs[job_id], similarity=score) for job_id, score in found if job_id in jobs]

    async def jobs_without_vectors(self, model: str, limit: int) -> list[Job]:
        return await self._jobs(self.q.SELECT_WITHOUT_VECTORS, {"model": model, "limit": limit})

    async def put_vector(self, job: Job, vector: Vector) -> bool:
        async with self._transaction() as conn:
            return await conn.execute(self.q.PUT_VECTOR, vector_params(job, vector)) > 0

    async def update_job(
        self, user_id: str, job_id: str, changes: JobChanges, *, expected_version: int, vector: Vector | None = None
    ) -> Job:
        async with self._transaction() as conn:
            rows = await conn.rows(self.q.LOCK_STATUS_VERSION, {"id": job_id, "user_id": user_id})
            if not rows:
                raise JobNotFound(job_id)
            if rows[0]["version"] != expected_version:
                raise Conflict()
            await steps.write_changes(conn, self.clock, job_id, JobStatus(rows[0]["status"]), changes)
            job = await steps.read_job(conn, job_id, user_id)
            if changes.model_fields_set & TEXT_FIELDS:
                # A vector always describes the job's current text, or there is none (back-filled later).
                if vector is not None:
                    await conn.execute(self.q.PUT_VECTOR, vector_params(job, vector))
                else:
                    await conn.execute(self.q.DELETE_VECTOR, {"id": job_id})
        return job

    async def dependency_closure(self, job_ids: Sequence[str]) -> set[str]:
        rows = await self._query(self.q.DEPENDENCY_CLOSURE, {"ids": ids_param(job_ids)})
        return {row["id"] for row in rows}

    async def dependents(self, job_id: str) -> list[Job]:
        return await self._jobs(self.q.SELECT_DEPENDENTS, {"job_id": job_id})

    # --- runs ---

    async def list_runs(self, job_id: str, limit: int) -> list[Run]:
        rows = await self._query(self.q.LIST_RUNS, {"job_id": job_id, "limit": limit})
        return [row_to_run(row) for row in rows]

    async def run_totals(self, job_id: str) -> dict[RunOutcome, int]:
        rows = await self._query(self.q.RUN_TOTALS, {"job_id": job_id})
        return {RunOutcome(row["outcome"]): row["n"] for row in rows}

    async def latest_outputs(self, job_ids: Sequence[str]) -> dict[str, str]:
        rows = await self._query(self.q.LATEST_OUTPUTS, {"ids": ids_param(job_ids)})
        return {row["job_id"]: row["output"] for row in rows if row["output"] is not None}

    # --- scheduling ---

    async def claim_due(self, now: datetime, limit: int, plan: ClaimDecision) -> list[tuple[Job, Run]]:
        claimed = []
        async with self._transaction() as conn:
            for row in await conn.rows(self.q.SELECT_DUE, {"now": to_db(now), "limit": limit}):
                job = row_to_job(row)
                started = await steps.apply_claim(conn, self.clock, job, plan(job))
                if started is not None:
                    claimed.append(started)
        return claimed

    async def claim_job(self, user_id: str, job_id: str, plan: ClaimDecision) -> tuple[Job, Run]:
        async with self._transaction() as conn:
            job = await steps.read_job(conn, job_id, user_id, lock=True)
            started = await steps.apply_claim(conn, self.clock, job, plan(job))
        if started is None:
            raise Conflict("the run did not start; read the job again")
        return started

    async def finish_run(
        self, run: Run, next_state: RunDecision, report: ReportDecision | None = None
    ) -> Finished | None:
        async with self._transaction() as conn:
            rows = await conn.rows(self.q.LOCK_RUN, {"id": run.id})
            if not rows or rows[0]["outcome"] != RunOutcome.RUNNING or rows[0]["lease_owner"] != run.lease_owner:
                return None  # taken back by another process: its record stands
            return await steps.end_run(conn, self.clock, run, next_state, report)

    async def record_preview(self, run: Run) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.INSERT_RUN, run_params(run))

    async def renew_leases(self, owner: str, run_ids: Sequence[str], until: datetime) -> set[str]:
        params = {"owner": owner, "ids": ids_param(run_ids), "until": to_db(until)}
        async with self._transaction() as conn:
            return {row["id"] for row in await conn.rows(self.q.RENEW_LEASES, params)}

    async def reclaim_expired(
        self, now: datetime, next_state: RunDecision, report: ReportDecision | None = None, limit: int = 100
    ) -> list[Finished]:
        reclaimed = []
        async with self._transaction() as conn:
            for row in await conn.rows(self.q.SELECT_EXPIRED_RUNS, {"now": to_db(now), "limit": limit}):
                ended = {"outcome": RunOutcome.INTERRUPTED, "finished_at": now, "error": _LEASE_EXPIRED}
                run = row_to_run(row).model_copy(update=ended)
                if (finished := await steps.end_run(conn, self.clock, run, next_state, report)) is not None:
                    reclaimed.append(finished)
        return reclaimed

    # --- the webhook outbox ---

    async def claim_deliveries(self, now: datetime, until: datetime, limit: int) -> list[Delivery]:
        params = {"now": to_db(now), "until": to_db(until), "limit": limit}
        async with self._transaction() as conn:
            return [row_to_delivery(row) for row in await conn.rows(self.q.CLAIM_DELIVERIES, params)]

    async def settle_delivery(
        self, message_id: str, now: datetime, error: str | None = None, retry_at: datetime | None = None
    ) -> None:
        params = settle_params(message_id, now, error, retry_at)
        async with self._transaction() as conn:
            rows = await conn.rows(self.q.SETTLE_DELIVERY, params)
            if params["state"] == DeliveryState.FAILED and rows and rows[0]["run_id"] is not None:
                await conn.execute(self.q.RECORD_DELIVERY_ERROR, {"id": rows[0]["run_id"], "error": error})

    # --- runs asked of the serving process, and who serves ---

    async def request_run(self, user_id: str, job_id: str, check: Callable[[Job], object], now: datetime) -> Job:
        async with self._transaction() as conn:
            job = await steps.read_job(conn, job_id, user_id, lock=True)
            check(job)
            await steps.write_changes(conn, self.clock, job.id, job.status, JobChanges(run_requested_at=now))
            return await steps.read_job(conn, job_id, user_id)

    async def requested_runs(self, limit: int) -> list[Job]:
        return await self._jobs(self.q.REQUESTED_RUNS, {"limit": limit})

    async def clear_run_request(self, job_id: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.CLEAR_RUN_REQUEST, {"id": job_id})

    async def heartbeat(self, worker: Worker) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.HEARTBEAT, worker_params(worker))
            await conn.execute(self.q.FORGET_WORKERS, {"before": to_db(worker.seen_at - timedelta(days=1))})

    async def drop_worker(self, worker_id: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.DROP_WORKER, {"id": worker_id})

    async def workers(self, seen_since: datetime) -> list[Worker]:
        return [row_to_worker(row) for row in await self._query(self.q.LIVE_WORKERS, {"since": to_db(seen_since)})]

    async def record_agent_pid(self, run_id: str, pid: int) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.RECORD_AGENT_PID, {"id": run_id, "pid": pid})

    async def earliest_due(self) -> datetime | None:
        async with self._connection() as conn:
            return from_db(await conn.scalar(self.q.EARLIEST_DUE))

    async def waiting_to_settle(self, limit: int) -> list[Job]:
        return await self._jobs(self.q.SELECT_WAITING_TO_SETTLE, {"limit": limit})

    # --- the jobs file ---

    async def defined_jobs(self) -> list[DefinedJob]:
        return [row_to_defined_job(row) for row in await self._query(self.q.SELECT_DEFINED_JOBS, {})]

    async def put_defined_job(self, defined: DefinedJob) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.PUT_DEFINED_JOB, asdict(defined))

    async def drop_defined_job(self, name: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(self.q.DROP_DEFINED_JOB, {"name": name})

    # --- inbox ---

    async def add_message(self, message: InboxMessage, keep: int | None = None) -> None:
        async with self._transaction() as conn:
            await steps.write_report(conn, Report(message, keep=keep))

    async def list_messages(self, user_id: str, unread_only: bool, limit: int) -> list[InboxMessage]:
        params = {"user_id": user_id, "unread_only": unread_only, "limit": limit}
        return [row_to_message(row) for row in await self._query(self.q.LIST_MESSAGES, params)]

    async def count_unread(self, user_id: str) -> int:
        async with self._connection() as conn:
            return int(await conn.scalar(self.q.COUNT_UNREAD, {"user_id": user_id}))

    async def mark_read(self, user_id: str, message_ids: Sequence[str] | None, now: datetime) -> int:
        ids = None if message_ids is None else ids_param(message_ids)
        async with self._transaction() as conn:
            if message_ids is not None:
                found = await conn.rows(self.q.SELECT_OWN_MESSAGE_IDS, {"user_id": user_id, "ids": ids})
                own = {row["id"] for row in found}
                missing = [i for i in message_ids if i not in own]
                if missing:
                    raise MessageNotFound(missing)
            return await conn.execute(self.q.MARK_READ, {"user_id": user_id, "ids": ids, "now": to_db(now)})
