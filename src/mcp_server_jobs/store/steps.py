"""The steps the stores' transactions are made of, written once for both databases: reads and writes on a
connection (`Conn`) whose transaction the caller holds, with its dialect's statements."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from mcp_server_jobs import lifecycle
from mcp_server_jobs.clock import Clock
from mcp_server_jobs.errors import JobNotFound
from mcp_server_jobs.models import Job, JobChanges, JobStatus, Run, RunOutcome
from mcp_server_jobs.store.base import Claim, Finished, Report, ReportDecision, RunDecision
from mcp_server_jobs.store.codec import (
    Row,
    change_value,
    delivery_params,
    message_params,
    row_to_job,
    run_params,
    to_db,
)
from mcp_server_jobs.store.statements import Statements

log = logging.getLogger(__name__)
# What SQLite's trigger says when it refuses a second run of one occurrence (migration 0007).
OCCURRENCE_TAKEN = "occurrence already run"

Params = Mapping[str, Any]


class Conn(Protocol):
    """A database connection as the steps use it; `q` holds its dialect's statements."""

    @property
    def q(self) -> Statements: ...

    async def rows(self, sql: str, params: Params | None = None) -> Sequence[Row]:
        """Every row of a query."""
        ...

    async def scalar(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        ...

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run a statement; how many rows it changed."""
        ...

    async def executemany(self, sql: str, params: Iterable[Params]) -> None:
        """Run a statement once for each set of parameters."""
        ...

    async def insert_run(self, params: Params, *, unless_taken: bool) -> bool:
        """Insert a run (INSERT_RUN); with `unless_taken`, a scheduled run of an occurrence that already has
        one is not inserted (False) where the database would refuse it, and the transaction goes on."""
        ...

    async def lock_user(self, user_id: str) -> None:
        """Hold, until the transaction ends, the right to create the user's jobs (dedup and limit checks)."""
        ...


async def read_job(conn: Conn, job_id: str, user_id: str | None = None, *, lock: bool = False) -> Job:
    """The job with this id (the user's, when `user_id` is given), or JobNotFound; `lock` for a job the
    transaction goes on to change."""
    if user_id is None:
        found = await conn.rows(conn.q.LOCK_JOB_BY_ID if lock else conn.q.SELECT_JOB_BY_ID, {"id": job_id})
    else:
        found = await conn.rows(conn.q.LOCK_JOB if lock else conn.q.SELECT_JOB, {"id": job_id, "user_id": user_id})
    if not found:
        raise JobNotFound(job_id)
    return row_to_job(found[0])


async def insert_dependencies(conn: Conn, job_id: str, depends_on: Sequence[str]) -> None:
    """Insert the job's dependency edges, keeping their order."""
    edges = [{"job_id": job_id, "depends_on": dependency, "position": at} for at, dependency in enumerate(depends_on)]
    await conn.executemany(conn.q.INSERT_DEPENDENCY, edges)


async def write_changes(conn: Conn, clock: Clock, job_id: str, current: JobStatus, changes: JobChanges) -> None:
    """Write `changes` to a job whose status is `current` (ForbiddenTransition if the table refuses it)."""
    if changes.status is not None and changes.status != current:
        lifecycle.check(current, changes.status)
    fields = {name: getattr(changes, name) for name in changes.model_fields_set}
    depends_on = fields.pop("depends_on", None)
    # Column names come from JobChanges' own fields, never from the caller's text.
    assignments = "".join(f"{name} = :{name}, " for name in fields)
    params = {name: change_value(name, value) for name, value in fields.items()}
    params |= {"id": job_id, "now": to_db(clock.now())}
    await conn.execute(f"UPDATE jobs SET {assignments}version = version + 1, updated_at = :now WHERE id = :id", params)
    if depends_on is not None:
        await conn.execute(conn.q.DELETE_DEPENDENCIES, {"job_id": job_id})
        await insert_dependencies(conn, job_id, depends_on)


async def apply_claim(conn: Conn, clock: Clock, job: Job, claim: Claim) -> tuple[Job, Run] | None:
    """Insert the claim's runs and write its changes; the job as it is after, and the run started (if any)."""
    # The run to start goes in first: if the database refuses it (its occurrence has a run), that insert
    # alone is undone and nothing else of this claim was written yet.
    runs = sorted(claim.runs, key=lambda run: run.outcome is not RunOutcome.RUNNING)
    started = None
    for run in runs:
        inserted = await conn.insert_run(run_params(run), unless_taken=claim.on_taken is not None)
        if not inserted and claim.on_taken is not None:
            log.warning("job %s: %s", job.id, claim.on_taken.status_reason)
            await write_changes(conn, clock, job.id, job.status, claim.on_taken)
            return None
        if run.outcome is RunOutcome.RUNNING:
            started = run
    await write_changes(conn, clock, job.id, job.status, claim.changes)
    if started is None:
        return None
    return await read_job(conn, job.id), started


async def end_run(
    conn: Conn, clock: Clock, run: Run, next_state: RunDecision, report: ReportDecision | None
) -> Finished | None:
    """Write the run's end, its job's next state and its report; None if its job no longer waits on it."""
    await conn.execute(conn.q.FINISH_RUN, run_params(run))
    ended = await read_job(conn, run.job_id, lock=True)
    if ended.status is not JobStatus.IN_PROGRESS:
        return None
    await write_changes(conn, clock, ended.id, ended.status, next_state(ended, run))
    after = await read_job(conn, ended.id)
    reported = None if report is None else report(after, run)
    if reported is not None:
        await write_report(conn, reported)
    return Finished(after, None if reported is None else reported.message)


async def write_report(conn: Conn, report: Report) -> None:
    """Insert a report's message (trimming its inbox) and its webhook delivery."""
    message = report.message
    await conn.execute(conn.q.INSERT_MESSAGE, message_params(message))
    if report.keep is not None:
        await conn.execute(conn.q.TRIM_INBOX, {"user_id": message.user_id, "keep": report.keep})
    if report.delivery is not None:
        await conn.execute(conn.q.INSERT_DELIVERY, delivery_params(report.delivery))
