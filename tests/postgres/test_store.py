"""What the PostgreSQL store does that SQLite's one write lock did for it: migrations by several openers,
claims by several processes, the database refusing a second running run, the change feed in commit order."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import numpy as np
import psycopg
import pytest

from mcp_server_jobs.clock import SystemClock
from mcp_server_jobs.errors import StoreError
from mcp_server_jobs.models import Job, JobChanges, JobStatus, RunTrigger
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.scheduler.backends.base import AgentResult
from mcp_server_jobs.scheduler.decide import plan_claim
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.scheduler.verdict import Verdict
from mcp_server_jobs.store import JobFilter, Vector
from mcp_server_jobs.store.codec import run_params
from mcp_server_jobs.store.migrations import schema_version
from mcp_server_jobs.store.postgres import PostgresStore
from mcp_server_jobs.store.postgres.migrations import PACKAGE
from mcp_server_jobs.store.postgres.store import pyformat
from mcp_server_jobs.store.queries import INSERT_RUN
from tests.conftest import START, new_job, wait_for

pytestmark = pytest.mark.anyio


def test_parameters_are_rewritten_for_psycopg_and_casts_left_alone() -> None:
    sql = "SELECT :ids::jsonb, 'a%' WHERE x = :x_1 AND y = (:y)"
    assert pyformat(sql) == "SELECT %(ids)s::jsonb, 'a%%' WHERE x = %(x_1)s AND y = (%(y)s)"


async def test_schema_is_versioned_and_four_openers_at_once_agree(pg_url: str) -> None:
    async def open_close() -> None:
        async with PostgresStore(pg_url):
            pass

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(open_close)
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert versions == [(schema_version(PACKAGE),)]
    assert {"jobs", "job_dependencies", "runs", "inbox", "job_vectors", "job_changes", "deliveries"} <= tables


async def test_a_database_that_cannot_be_reached_is_a_store_error_without_the_password() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = PostgresStore(f"postgresql://jobs:s3cret@127.0.0.1:{port}/jobs", connect_timeout=2)
    with pytest.raises(StoreError, match=f"cannot open the job database jobs on 127.0.0.1:{port}") as raised:
        await store.open()
    assert "s3cret" not in str(raised.value)


async def test_three_processes_claiming_at_once_never_share_a_job(pg_url: str) -> None:
    claimed: list[str] = []

    async def claimer(owner: str) -> None:
        async with PostgresStore(pg_url) as store:
            while started := await store.claim_due(START, 3, lambda job: plan_claim(job, START, owner, Policy())):
                claimed.extend(job.id for job, _ in started)

    async with PostgresStore(pg_url) as store:
        jobs = [(await store.create_job(new_job(START, title=f"job {n}")))[0].id for n in range(60)]
    async with anyio.create_task_group() as group:
        for owner in ("a", "b", "c"):
            group.start_soon(claimer, owner)
    assert sorted(claimed) == sorted(jobs)


async def test_the_database_itself_refuses_a_second_running_run_of_one_job(pg_url: str) -> None:
    async with PostgresStore(pg_url) as store:
        await store.create_job(new_job(START))
        [(_, run)] = await store.claim_due(START, 1, lambda job: plan_claim(job, START, "a", Policy()))
    second = run.model_copy(update={"id": "run_second0001", "trigger": RunTrigger.MANUAL, "scheduled_for": None})
    with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.errors.UniqueViolation, match="runs_one_running"):
        conn.execute(pyformat(INSERT_RUN), run_params(second))


async def test_a_reader_misses_no_change_committed_after_a_later_numbered_one(pg_url: str) -> None:
    """The change feed stays in commit order: a transaction that took its number holds the next writer's
    commit until its own is done, so a reader never moves past a change that is still to come."""
    async with PostgresStore(pg_url) as writer, PostgresStore(pg_url) as reader:
        first, _ = await writer.create_job(new_job(START, title="first"), unit(1, 0))
        second, _ = await writer.create_job(new_job(START, title="second"), unit(1, 0))
        assert await active_titles(reader) == ["first", "second"]
        with psycopg.connect(pg_url) as slow:
            slow.execute("UPDATE jobs SET status = 'PAUSED' WHERE id = %s", (first.id,))
            slow.execute("SET CONSTRAINTS ALL IMMEDIATE")  # its change takes its number now, before commit
            done = anyio.Event()
            async with anyio.create_task_group() as group:

                async def pause_second() -> None:
                    changes = JobChanges(status=JobStatus.PAUSED)
                    await writer.update_job("local", second.id, changes, expected_version=second.version)
                    done.set()

                group.start_soon(pause_second)
                # The second pause commits at once, or waits for the slow one's lock (then PostgreSQL says so).
                with anyio.fail_after(10):
                    while not done.is_set() and not waiting_on_a_lock(pg_url):  # noqa: ASYNC110 -- seen in the database
                        await anyio.sleep(0.01)
                await active_titles(reader)  # a reader looks meanwhile, and must not move past the slow change
                slow.commit()
                await done.wait()
        assert await active_titles(reader) == []


def waiting_on_a_lock(url: str) -> bool:
    """Whether some session of the database is waiting for a lock (an advisory one among them)."""
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(found and found[0])


def unit(*values: float) -> Vector:
    array = np.array(values, dtype=np.float32)
    return Vector("test-model", array / np.linalg.norm(array))


async def active_titles(store: PostgresStore) -> list[str]:
    hits = await store.search_similar("local", unit(1, 0), JobFilter(statuses=[JobStatus.ACTIVE]), 10, -1.0)
    return sorted(hit.job.title for hit in hits)


class CountingStore(PostgresStore):
    """Counts the claims the scheduler makes."""

    claims = 0

    async def claim_due(self, *args: Any, **kwargs: Any) -> Any:
        self.claims += 1
        return await super().claim_due(*args, **kwargs)


async def test_a_due_job_another_claim_holds_is_looked_at_again_soon_not_in_a_spin(pg_url: str) -> None:
    """A claim that skips a locked due job takes nothing; the scheduler must not claim again at once, forever."""
    async with CountingStore(pg_url) as store:
        job, _ = await store.create_job(new_job(datetime.now(UTC) - timedelta(seconds=1)))
        scheduler = Scheduler(store, SystemClock(), [], Policy())
        with psycopg.connect(pg_url, autocommit=False) as other:
            other.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (job.id,))  # another process's claim
            async with anyio.create_task_group() as group:
                await group.start(scheduler.serve)
                await anyio.sleep(1.0)  # a window in which to count claims, not a wait for an outcome
                group.cancel_scope.cancel()
    assert 2 <= store.claims <= 20  # one look every 0.1 s at most, not thousands


class Recorder:
    """An agent that notes the jobs it ran."""

    name = "recorder"

    def __init__(self) -> None:
        self.ran: list[str] = []

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        self.ran.append(job.id)
        return AgentResult(output="ok", verdict=Verdict(outcome="success", summary="ok"))


async def test_a_job_created_by_another_process_starts_on_time_not_at_the_next_sweep(pg_url: str) -> None:
    agent = Recorder()
    async with PostgresStore(pg_url) as here, PostgresStore(pg_url) as elsewhere:
        scheduler = Scheduler(here, SystemClock(), [agent], Policy(sweep_seconds=3600))
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            job, _ = await elsewhere.create_job(new_job(datetime.now(UTC) + timedelta(seconds=0.5)))
            await wait_for(lambda: agent.ran == [job.id], seconds=10)
            group.cancel_scope.cancel()
