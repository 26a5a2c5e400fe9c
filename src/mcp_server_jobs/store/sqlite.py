"""The SQLite store: one aiosqlite connection per process, WAL, migrations by `PRAGMA user_version`."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import anyio

from mcp_server_jobs import lifecycle
from mcp_server_jobs.clock import Clock, SystemClock
from mcp_server_jobs.errors import Conflict, InvalidInput, JobNotFound, LimitReached, MessageNotFound, StoreError
from mcp_server_jobs.models import (
    TEXT_FIELDS,
    Delivery,
    DeliveryState,
    Entity,
    InboxMessage,
    Job,
    JobChanges,
    JobStatus,
    JobType,
    NewJob,
    Notify,
    Run,
    RunLimits,
    RunOutcome,
    RunTrigger,
)
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.store import queries as q
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
from mcp_server_jobs.store.vectors import IndexRow, VectorIndex, to_blob

log = logging.getLogger(__name__)
MAX_QUERY_TERMS = 32
# The message of the trigger that refuses a second run of one occurrence (migration 0007).
OCCURRENCE_TAKEN = "occurrence already run"
_INDEX_PAGE = 5_000


def to_db(when: datetime | None) -> str | None:
    """Fixed-width UTC text, so instants compare correctly as strings."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(text: str | None) -> datetime | None:
    """Read an instant written by `to_db`."""
    # fromisoformat reads the trailing Z as UTC, and is ten times faster than strptime.
    return None if text is None else datetime.fromisoformat(text)


def _required(text: str) -> datetime:
    when = from_db(text)
    assert when is not None
    return when


def fts_query(terms: Sequence[str], match_all: bool) -> str:
    """An FTS5 query that treats every term as a plain word: each is quoted, none is syntax."""
    words = [w for term in terms for w in re.findall(r"\w+", term)][:MAX_QUERY_TERMS]
    if not words:
        raise InvalidInput("keywords contain no words to search for; give one or more plain words")
    return (" AND " if match_all else " OR ").join(f'"{w}"' for w in words)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("mcp_server_jobs.store") / "sql"
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version() -> int:
    """The schema version this code migrates a database to (the newest migration's number)."""
    return max(number for number, _ in _migrations())


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers hold semicolons of their own)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _job_params(job: NewJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "user_id": job.user_id,
        "title": job.title,
        "description": job.description,
        "job_type": job.job_type.value,
        "schedule": job.schedule.model_dump_json(),
        "end_condition": job.end_condition,
        "related_entities": _entities_json(job.related_entities),
        "notify": job.notify.value,
        "metadata": json.dumps(job.metadata),
        "dedup_key": job.dedup_key,
        "status": job.status.value,
        "status_reason": job.status_reason,
        "next_run_at": to_db(job.next_run_at),
        "created_at": to_db(job.created_at),
        "limits": job.limits.model_dump_json(exclude_none=True),
    }


def _change_value(name: str, value: Any) -> Any:
    """A JobChanges field as its column value."""
    if value is None:
        return None
    if name == "schedule":
        return value.model_dump_json()
    if name == "related_entities":
        return _entities_json(value)
    if name == "metadata":
        return json.dumps(value)
    if name == "limits":
        return value.model_dump_json(exclude_none=True)
    if isinstance(value, datetime):
        return to_db(value)
    if isinstance(value, bool):
        return int(value)
    return value


def row_to_job(row: sqlite3.Row) -> Job:
    """A `jobs` row selected with JOB_COLUMNS."""
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        description=row["description"],
        job_type=JobType(row["job_type"]),
        schedule=Schedule.model_validate_json(row["schedule"]),
        end_condition=row["end_condition"],
        depends_on=json.loads(row["depends_on"]),
        related_entities=[Entity.model_validate(e) for e in json.loads(row["related_entities"])],
        notify=Notify(row["notify"]),
        metadata=json.loads(row["metadata"]),
        dedup_key=row["dedup_key"],
        status=JobStatus(row["status"]),
        status_reason=row["status_reason"],
        next_run_at=from_db(row["next_run_at"]),
        last_run_at=from_db(row["last_run_at"]),
        run_count=row["run_count"],
        consecutive_failures=row["consecutive_failures"],
        pause_requested=bool(row["pause_requested"]),
        occurrence_at=from_db(row["occurrence_at"]),
        attempt=row["attempt"],
        version=row["version"],
        created_at=_required(row["created_at"]),
        updated_at=_required(row["updated_at"]),
        limits=RunLimits.model_validate_json(row["limits"]),
        run_requested_at=from_db(row["run_requested_at"]),
    )


def _row_to_run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        job_id=row["job_id"],
        trigger=RunTrigger(row["trigger"]),
        scheduled_for=from_db(row["scheduled_for"]),
        started_at=from_db(row["started_at"]),
        finished_at=from_db(row["finished_at"]),
        attempt=row["attempt"],
        outcome=RunOutcome(row["outcome"]),
        output=row["output"],
        summary=row["summary"],
        verdict=json.loads(row["verdict"]) if row["verdict"] else None,
        error=row["error"],
        backend=row["backend"],
        usage=json.loads(row["usage"]) if row["usage"] else None,
        lease_owner=row["lease_owner"],
        lease_until=from_db(row["lease_until"]),
        delivery_error=row["delivery_error"],
        note=row["note"],
        agent_pid=row["agent_pid"],
    )


def _row_to_message(row: sqlite3.Row) -> InboxMessage:
    return InboxMessage(
        id=row["id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        title=row["title"],
        body=row["body"],
        created_at=_required(row["created_at"]),
        read_at=from_db(row["read_at"]),
        delivery=row["delivery"],
        delivery_error=row["delivery_error"],
    )


def _message_params(message: InboxMessage) -> dict[str, Any]:
    params = message.model_dump(exclude={"delivery", "delivery_error"})
    params["created_at"] = to_db(message.created_at)
    params["read_at"] = to_db(message.read_at)
    return params


def _row_to_delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        message_id=row["message_id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        url=row["url"],
        payload=json.loads(row["payload"]),
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=from_db(row["next_attempt_at"]),
        last_error=row["last_error"],
        delivered_at=from_db(row["delivered_at"]),
        created_at=_required(row["created_at"]),
    )


def _run_params(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job_id": run.job_id,
        "trigger": run.trigger.value,
        "scheduled_for": to_db(run.scheduled_for),
        "started_at": to_db(run.started_at),
        "finished_at": to_db(run.finished_at),
        "attempt": run.attempt,
        "outcome": run.outcome.value,
        "output": run.output,
        "summary": run.summary,
        "verdict": json.dumps(run.verdict) if run.verdict is not None else None,
        "error": run.error,
        "backend": run.backend,
        "usage": json.dumps(run.usage) if run.usage is not None else None,
        "lease_owner": run.lease_owner,
        "lease_until": to_db(run.lease_until),
        "note": run.note,
    }


def _entities_json(entities: Sequence[Entity]) -> str:
    return json.dumps([e.model_dump(exclude_none=True) for e in entities])


def _vector_params(job: NewJob, vector: Vector) -> dict[str, Any]:
    """PUT_VECTOR's parameters: the vector, and the text it was made from (written only if still current)."""
    return {
        "id": job.id,
        "model": vector.model,
        "vector": to_blob(vector.values),
        "title": job.title,
        "description": job.description,
        "end_condition": job.end_condition,
        "related_entities": _entities_json(job.related_entities),
    }


def _filter_params(where: JobFilter) -> dict[str, Any]:
    return {
        "statuses": json.dumps([s.value for s in where.statuses]),
        "job_types": json.dumps([t.value for t in where.job_types]),
        # Asking for ARCHIVED by status is asking to see archived jobs.
        "include_archived": where.include_archived or JobStatus.ARCHIVED in where.statuses,
    }


class SQLiteStore(JobStore):
    """Jobs in one SQLite file; safe for several processes sharing it."""

    def __init__(self, path: Path | str, *, clock: Clock | None = None, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self.clock = clock or SystemClock()
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        # One connection is shared by every task of the process: a transaction must not interleave.
        self._lock = anyio.Lock()
        self._index: VectorIndex | None = None
        self._index_lock = anyio.Lock()

    async def open(self) -> None:
        """Connect, set WAL and foreign keys, apply pending migrations."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the job database {self.path}: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await self._use_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            await self._migrate()
        except BaseException as exc:
            self._conn = None
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open the job database {self.path}: {exc}") from exc
            raise

    async def _use_wal(self, conn: aiosqlite.Connection) -> None:
        """Switch to WAL; the switch can meet 'database is locked' without waiting when several
        processes open a new file at once, so it is retried for up to the busy timeout."""
        with anyio.move_on_after(self._busy_timeout_ms / 1000):
            while True:
                if await self._scalar(conn, "PRAGMA journal_mode") == "wal":
                    return
                try:
                    await conn.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    await anyio.sleep(0.02)
        await conn.execute("PRAGMA journal_mode = WAL")  # a last try, whose error is the one reported

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _migrate(self) -> None:
        async with self._transaction() as conn:
            current = await self._scalar(conn, "PRAGMA user_version")
            for number, script in _migrations():
                if number <= current:
                    continue
                for statement in _statements(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number}")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._conn is None:
            raise StoreError("the job database is not open")
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"job database error: {exc}") from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock up front, so reads inside it are current."""
        async with self._connection() as conn:
            try:
                # Inside the try: a task cancelled while BEGIN is queued still has BEGIN run by aiosqlite's
                # thread, and must roll it back, or the shared connection stays in a transaction and every
                # later write fails (the runs recorded as the server stops among them).
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await conn.rollback()  # after BEGIN in aiosqlite's queue; a no-op if none began
                raise
            await conn.commit()

    @staticmethod
    async def _scalar(conn: aiosqlite.Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
        async with conn.execute(sql, params or {}) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    @staticmethod
    async def _rows(conn: aiosqlite.Connection, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        async with conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _query(self, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        async with self._connection() as conn:
            return await self._rows(conn, sql, params)

    # --- jobs ---

    async def create_job(
        self, job: NewJob, vector: Vector | None = None, *, max_live: int | None = None
    ) -> tuple[Job, bool]:
        async with self._transaction() as conn:
            if job.dedup_key is not None:
                rows = await self._rows(
                    conn, q.SELECT_LIVE_BY_DEDUP_KEY, {"user_id": job.user_id, "dedup_key": job.dedup_key}
                )
                if rows:
                    return row_to_job(rows[0]), False
            if max_live is not None:
                live = await self._scalar(conn, q.COUNT_LIVE_JOBS, {"user_id": job.user_id})
                if live >= max_live:
                    raise LimitReached(
                        f"you have {live} live jobs, this server's limit per user; cancel jobs you no longer "
                        "need (job_cancel) or let them finish, then create this one. Nothing was created."
                    )
            await conn.execute(q.INSERT_JOB, _job_params(job))
            for position, dependency in enumerate(job.depends_on):
                await conn.execute(
                    q.INSERT_DEPENDENCY, {"job_id": job.id, "depends_on": dependency, "position": position}
                )
            if vector is not None:
                await conn.execute(q.PUT_VECTOR, _vector_params(job, vector))
            rows = await self._rows(conn, q.SELECT_JOB, {"id": job.id, "user_id": job.user_id})
        return row_to_job(rows[0]), True

    async def get_job(self, user_id: str, job_id: str) -> Job:
        rows = await self._query(q.SELECT_JOB, {"id": job_id, "user_id": user_id})
        if not rows:
            raise JobNotFound(job_id)
        return row_to_job(rows[0])

    async def get_jobs(self, user_id: str, job_ids: Sequence[str]) -> list[Job]:
        rows = await self._query(q.SELECT_JOBS_BY_IDS, {"user_id": user_id, "ids": json.dumps(list(job_ids))})
        by_id = {row["id"]: row_to_job(row) for row in rows}
        return [by_id[i] for i in job_ids if i in by_id]

    async def list_jobs(self, user_id: str, where: JobFilter, limit: int) -> list[Job]:
        rows = await self._query(q.LIST_JOBS, {"user_id": user_id, "limit": limit, **_filter_params(where)})
        return [row_to_job(row) for row in rows]

    async def search_keywords(
        self, user_id: str, terms: Sequence[str], match_all: bool, where: JobFilter, limit: int
    ) -> list[KeywordHit]:
        params = {
            "user_id": user_id,
            "limit": limit,
            "query": fts_query(terms, match_all),
            **_filter_params(where),
        }
        rows = await self._query(q.SEARCH_JOBS, params)
        return [KeywordHit(job=row_to_job(row), snippet=row["snippet"], rank=row["rank"]) for row in rows]

    async def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        counts = {}
        async with self._connection() as conn:
            for word in words:
                counts[word] = await self._scalar(conn, q.COUNT_MATCHES, {"query": fts_query([word], False)})
        return counts

    async def search_similar(
        self, user_id: str, vector: Vector, where: JobFilter, limit: int, min_similarity: float
    ) -> list[SimilarHit]:
        async with self._index_lock:
            index = await self._current_index(vector.model)
            # On the event loop: 13 ms at 100k vectors, and a worker thread added 4 ms to every search here.
            found = index.search(
                user_id,
                vector.values,
                statuses=where.statuses,
                job_types=where.job_types,
                include_archived=where.include_archived,
                limit=limit,
                min_similarity=min_similarity,
            )
        jobs = {job.id: job for job in await self.get_jobs(user_id, [job_id for job_id, _ in found])}
        return [SimilarHit(job=jobs[job_id], similarity=score) for job_id, score in found if job_id in jobs]

    async def _current_index(self, model: str) -> VectorIndex:
        """The vector index of `model`, with every change committed so far taken in."""
        if self._index is None or self._index.model != model:
            self._index = VectorIndex(model)
            count = (await self._query(q.COUNT_JOBS, {}))[0][0]
            self._index.reserve(count + count // 8 + 1024)  # room to grow before a copy
        index = self._index
        while True:
            rows = await self._query(
                q.SELECT_INDEX_CHANGES, {"model": model, "since": index.seen, "limit": _INDEX_PAGE}
            )
            index.apply(
                IndexRow(
                    pk=r["pk"], job_id=r["id"], user_id=r["user_id"], status=r["status"], job_type=r["job_type"],
                    change_seq=r["seq"], vector=r["vector"],
                )
                for r in rows
            )  # fmt: skip
            if len(rows) < _INDEX_PAGE:
                return index

    async def jobs_without_vectors(self, model: str, limit: int) -> list[Job]:
        rows = await self._query(q.SELECT_WITHOUT_VECTORS, {"model": model, "limit": limit})
        return [row_to_job(row) for row in rows]

    async def put_vector(self, job: Job, vector: Vector) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(q.PUT_VECTOR, _vector_params(job, vector))
            return cursor.rowcount > 0

    async def update_job(
        self, user_id: str, job_id: str, changes: JobChanges, *, expected_version: int, vector: Vector | None = None
    ) -> Job:
        async with self._transaction() as conn:
            rows = await self._rows(conn, q.SELECT_STATUS_VERSION, {"id": job_id, "user_id": user_id})
            if not rows:
                raise JobNotFound(job_id)
            if rows[0]["version"] != expected_version:
                raise Conflict()
            await self._write_changes(conn, job_id, JobStatus(rows[0]["status"]), changes)
            rows = await self._rows(conn, q.SELECT_JOB, {"id": job_id, "user_id": user_id})
            job = row_to_job(rows[0])
            if changes.model_fields_set & TEXT_FIELDS:
                # A vector always describes the job's current text, or there is none (back-filled later).
                if vector is not None:
                    await conn.execute(q.PUT_VECTOR, _vector_params(job, vector))
                else:
                    await conn.execute(q.DELETE_VECTOR, {"id": job_id})
        return job

    async def _write_changes(
        self, conn: aiosqlite.Connection, job_id: str, current: JobStatus, changes: JobChanges
    ) -> None:
        """Write `changes` to a job whose status is `current`, inside the caller's transaction."""
        if changes.status is not None and changes.status != current:
            lifecycle.check(current, changes.status)
        fields = {name: getattr(changes, name) for name in changes.model_fields_set}
        depends_on = fields.pop("depends_on", None)
        # Column names come from JobChanges' own fields, never from the caller's text.
        assignments = "".join(f"{name} = :{name}, " for name in fields)
        params = {name: _change_value(name, value) for name, value in fields.items()}
        params |= {"id": job_id, "now": to_db(self.clock.now())}
        await conn.execute(
            f"UPDATE jobs SET {assignments}version = version + 1, updated_at = :now WHERE id = :id", params
        )
        if depends_on is not None:
            await conn.execute(q.DELETE_DEPENDENCIES, {"job_id": job_id})
            for position, dependency in enumerate(depends_on):
                await conn.execute(
                    q.INSERT_DEPENDENCY, {"job_id": job_id, "depends_on": dependency, "position": position}
                )

    async def dependency_closure(self, job_ids: Sequence[str]) -> set[str]:
        rows = await self._query(q.DEPENDENCY_CLOSURE, {"ids": json.dumps(list(job_ids))})
        return {row["id"] for row in rows}

    async def dependents(self, job_id: str) -> list[Job]:
        rows = await self._query(q.SELECT_DEPENDENTS, {"job_id": job_id})
        return [row_to_job(row) for row in rows]

    # --- runs ---

    async def list_runs(self, job_id: str, limit: int) -> list[Run]:
        rows = await self._query(q.LIST_RUNS, {"job_id": job_id, "limit": limit})
        return [_row_to_run(row) for row in rows]

    async def run_totals(self, job_id: str) -> dict[RunOutcome, int]:
        rows = await self._query(q.RUN_TOTALS, {"job_id": job_id})
        return {RunOutcome(row["outcome"]): row["n"] for row in rows}

    async def latest_outputs(self, job_ids: Sequence[str]) -> dict[str, str]:
        rows = await self._query(q.LATEST_OUTPUTS, {"ids": json.dumps(list(job_ids))})
        return {row["job_id"]: row["output"] for row in rows if row["output"] is not None}

    # --- scheduling ---

    async def _apply_claim(self, conn: aiosqlite.Connection, job: Job, claim: Claim) -> tuple[Job, Run] | None:
        # The run to start goes in first: if the runs_one_per_occurrence trigger refuses it, that statement
        # alone is undone and nothing else of this claim was written yet.
        runs = sorted(claim.runs, key=lambda run: run.outcome is not RunOutcome.RUNNING)
        started = None
        for run in runs:
            try:
                await conn.execute(q.INSERT_RUN, _run_params(run))
            except sqlite3.IntegrityError as exc:
                if OCCURRENCE_TAKEN not in str(exc) or claim.on_taken is None:
                    raise
                log.warning("job %s: %s", job.id, claim.on_taken.status_reason)
                await self._write_changes(conn, job.id, job.status, claim.on_taken)
                return None
            if run.outcome is RunOutcome.RUNNING:
                started = run
        await self._write_changes(conn, job.id, job.status, claim.changes)
        if started is None:
            return None
        rows = await self._rows(conn, q.SELECT_JOB_BY_ID, {"id": job.id})
        return row_to_job(rows[0]), started

    async def claim_due(self, now: datetime, limit: int, decide: ClaimDecision) -> list[tuple[Job, Run]]:
        claimed = []
        async with self._transaction() as conn:
            for row in await self._rows(conn, q.SELECT_DUE, {"now": to_db(now), "limit": limit}):
                job = row_to_job(row)
                started = await self._apply_claim(conn, job, decide(job))
                if started is not None:
                    claimed.append(started)
        return claimed

    async def claim_job(self, user_id: str, job_id: str, decide: ClaimDecision) -> tuple[Job, Run]:
        async with self._transaction() as conn:
            rows = await self._rows(conn, q.SELECT_JOB, {"id": job_id, "user_id": user_id})
            if not rows:
                raise JobNotFound(job_id)
            job = row_to_job(rows[0])
            started = await self._apply_claim(conn, job, decide(job))
        if started is None:
            raise Conflict("the run did not start; read the job again")
        return started

    async def finish_run(self, run: Run, decide: RunDecision, report: ReportDecision | None = None) -> Finished | None:
        async with self._transaction() as conn:
            rows = await self._rows(conn, q.SELECT_RUN, {"id": run.id})
            if not rows or rows[0]["outcome"] != RunOutcome.RUNNING or rows[0]["lease_owner"] != run.lease_owner:
                return None  # taken back by another process: its record stands
            return await self._end_run(conn, run, decide, report)

    async def _end_run(
        self, conn: aiosqlite.Connection, run: Run, decide: RunDecision, report: ReportDecision | None
    ) -> Finished | None:
        """Write the run's end, its job's next state and its report, inside the caller's transaction."""
        await conn.execute(q.FINISH_RUN, _run_params(run))
        job = row_to_job((await self._rows(conn, q.SELECT_JOB_BY_ID, {"id": run.job_id}))[0])
        if job.status is not JobStatus.IN_PROGRESS:
            return None
        await self._write_changes(conn, job.id, job.status, decide(job, run))
        job = row_to_job((await self._rows(conn, q.SELECT_JOB_BY_ID, {"id": job.id}))[0])
        reported = None if report is None else report(job, run)
        if reported is not None:
            await self._write_report(conn, reported)
        return Finished(job, None if reported is None else reported.message)

    async def _write_report(self, conn: aiosqlite.Connection, report: Report) -> None:
        message = report.message
        await conn.execute(q.INSERT_MESSAGE, _message_params(message))
        if report.keep is not None:
            await conn.execute(q.TRIM_INBOX, {"user_id": message.user_id, "keep": report.keep})
        if (delivery := report.delivery) is not None:
            params = delivery.model_dump(include={"message_id", "user_id", "job_id", "run_id", "url"})
            params |= {
                "payload": json.dumps(delivery.payload),
                "next_attempt_at": to_db(delivery.next_attempt_at or delivery.created_at),
                "created_at": to_db(delivery.created_at),
            }
            await conn.execute(q.INSERT_DELIVERY, params)

    async def record_preview(self, run: Run) -> None:
        async with self._transaction() as conn:
            await conn.execute(q.INSERT_RUN, _run_params(run))

    async def renew_leases(self, owner: str, run_ids: Sequence[str], until: datetime) -> set[str]:
        params = {"owner": owner, "ids": json.dumps(list(run_ids)), "until": to_db(until)}
        async with self._transaction() as conn:
            return {row["id"] for row in await self._rows(conn, q.RENEW_LEASES, params)}

    async def reclaim_expired(
        self, now: datetime, decide: RunDecision, report: ReportDecision | None = None, limit: int = 100
    ) -> list[Finished]:
        reclaimed = []
        async with self._transaction() as conn:
            for row in await self._rows(conn, q.SELECT_EXPIRED_RUNS, {"now": to_db(now), "limit": limit}):
                run = _row_to_run(row).model_copy(
                    update={
                        "outcome": RunOutcome.INTERRUPTED,
                        "finished_at": now,
                        "error": "interrupted: the server running it stopped (its lease expired)",
                    }
                )
                if (finished := await self._end_run(conn, run, decide, report)) is not None:
                    reclaimed.append(finished)
        return reclaimed

    # --- the webhook outbox ---

    async def claim_deliveries(self, now: datetime, until: datetime, limit: int) -> list[Delivery]:
        params = {"now": to_db(now), "until": to_db(until), "limit": limit}
        async with self._transaction() as conn:
            return [_row_to_delivery(row) for row in await self._rows(conn, q.CLAIM_DELIVERIES, params)]

    async def settle_delivery(
        self, message_id: str, now: datetime, error: str | None = None, retry_at: datetime | None = None
    ) -> None:
        if error is None:
            state = DeliveryState.DELIVERED
        else:
            state = DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
        params = {
            "message_id": message_id,
            "state": state.value,
            "retry_at": to_db(retry_at),
            "error": error,
            "delivered_at": to_db(now) if error is None else None,
        }
        async with self._transaction() as conn:
            rows = await self._rows(conn, q.SETTLE_DELIVERY, params)
            if state is DeliveryState.FAILED and rows and rows[0]["run_id"] is not None:
                await conn.execute(q.RECORD_DELIVERY_ERROR, {"id": rows[0]["run_id"], "error": error})

    # --- runs asked of the serving process, and who serves ---

    async def request_run(self, user_id: str, job_id: str, check: Callable[[Job], object], now: datetime) -> Job:
        async with self._transaction() as conn:
            rows = await self._rows(conn, q.SELECT_JOB, {"id": job_id, "user_id": user_id})
            if not rows:
                raise JobNotFound(job_id)
            job = row_to_job(rows[0])
            check(job)
            await self._write_changes(conn, job.id, job.status, JobChanges(run_requested_at=now))
            return row_to_job((await self._rows(conn, q.SELECT_JOB, {"id": job_id, "user_id": user_id}))[0])

    async def requested_runs(self, limit: int) -> list[Job]:
        return [row_to_job(row) for row in await self._query(q.REQUESTED_RUNS, {"limit": limit})]

    async def clear_run_request(self, job_id: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(q.CLEAR_RUN_REQUEST, {"id": job_id})

    async def heartbeat(self, worker: Worker) -> None:
        params = asdict(worker) | {"started_at": to_db(worker.started_at), "seen_at": to_db(worker.seen_at)}
        async with self._transaction() as conn:
            await conn.execute(q.HEARTBEAT, params)
            await conn.execute(q.FORGET_WORKERS, {"before": to_db(worker.seen_at - timedelta(days=1))})

    async def drop_worker(self, worker_id: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(q.DROP_WORKER, {"id": worker_id})

    async def workers(self, seen_since: datetime) -> list[Worker]:
        rows = await self._query(q.LIVE_WORKERS, {"since": to_db(seen_since)})
        return [
            Worker(id=r["id"], pid=r["pid"], host=r["host"], runs_jobs=bool(r["runs_jobs"]),
                   started_at=_required(r["started_at"]), seen_at=_required(r["seen_at"]))
            for r in rows
        ]  # fmt: skip

    async def record_agent_pid(self, run_id: str, pid: int) -> None:
        async with self._transaction() as conn:
            await conn.execute(q.RECORD_AGENT_PID, {"id": run_id, "pid": pid})

    async def earliest_due(self) -> datetime | None:
        async with self._connection() as conn:
            return from_db(await self._scalar(conn, q.EARLIEST_DUE))

    async def waiting_to_settle(self, limit: int) -> list[Job]:
        return [row_to_job(row) for row in await self._query(q.SELECT_WAITING_TO_SETTLE, {"limit": limit})]

    # --- the jobs file ---

    async def defined_jobs(self) -> list[DefinedJob]:
        return [DefinedJob(**dict(row)) for row in await self._query(q.SELECT_DEFINED_JOBS, {})]

    async def put_defined_job(self, defined: DefinedJob) -> None:
        async with self._transaction() as conn:
            await conn.execute(q.PUT_DEFINED_JOB, asdict(defined))

    async def drop_defined_job(self, name: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(q.DROP_DEFINED_JOB, {"name": name})

    # --- inbox ---

    async def add_message(self, message: InboxMessage, keep: int | None = None) -> None:
        async with self._transaction() as conn:
            await self._write_report(conn, Report(message, keep=keep))

    async def list_messages(self, user_id: str, unread_only: bool, limit: int) -> list[InboxMessage]:
        rows = await self._query(q.LIST_MESSAGES, {"user_id": user_id, "unread_only": unread_only, "limit": limit})
        return [_row_to_message(row) for row in rows]

    async def count_unread(self, user_id: str) -> int:
        async with self._connection() as conn:
            return int(await self._scalar(conn, q.COUNT_UNREAD, {"user_id": user_id}))

    async def mark_read(self, user_id: str, message_ids: Sequence[str] | None, now: datetime) -> int:
        ids = None if message_ids is None else json.dumps(list(message_ids))
        async with self._transaction() as conn:
            if message_ids is not None:
                own = {
                    r["id"] for r in await self._rows(conn, q.SELECT_OWN_MESSAGE_IDS, {"user_id": user_id, "ids": ids})
                }
                missing = [i for i in message_ids if i not in own]
                if missing:
                    raise MessageNotFound(missing)
            cursor = await conn.execute(q.MARK_READ, {"user_id": user_id, "ids": ids, "now": to_db(now)})
            return cursor.rowcount
