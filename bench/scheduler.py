"""Scheduler benchmarks: start lateness, drain rate, idle CPU (issue 3's targets).

Each runs the real scheduler with an agent that answers at once on a real SQLite file in a temporary folder.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from mcp_server_jobs.clock import SystemClock
from mcp_server_jobs.models import Job, JobStatus, JobType, NewJob, Notify, new_id
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.scheduler.backends.base import AgentResult
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.scheduler.verdict import Verdict
from mcp_server_jobs.server.requests import JobCreateRequest
from mcp_server_jobs.server.schedule_input import ScheduleInput
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.store import JobFilter
from mcp_server_jobs.store.sqlite import SQLiteStore


class InstantAgent:
    """An agent that does every job at once: what is measured is the scheduler around it."""

    name = "instant"

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        return AgentResult(output="done", verdict=Verdict(outcome="success", summary="done"))


def _job(at: datetime, schedule: Schedule | None = None) -> NewJob:
    return NewJob(
        id=new_id("job"),
        user_id="bench",
        title="Bench job",
        description="Nothing to do.",
        job_type=JobType.ONE_OFF if schedule is None else JobType.RECURRING,
        schedule=schedule or Schedule(run_at=at, timezone="UTC"),
        end_condition=None,
        depends_on=[],
        related_entities=[],
        notify=Notify.AUTO,
        metadata={},
        dedup_key=None,
        status=JobStatus.ACTIVE,
        status_reason=None,
        next_run_at=at,
        created_at=datetime.now(UTC),
    )


def _completed(path: Path) -> int:
    """Completed jobs, counted on a connection of its own (cheap, so the measuring costs little)."""
    with sqlite3.connect(path) as conn:
        done: int = conn.execute("SELECT count(*) FROM jobs WHERE status = 'COMPLETED'").fetchone()[0]
        return done


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def lateness(folder: Path, count: int = 200, lead: float = 0.05) -> dict[str, float]:
    """Create single ONE_OFF jobs due `lead` seconds ahead, one at a time; how late did each start?"""
    clock = SystemClock()
    async with SQLiteStore(folder / "lateness.db") as store:
        scheduler = Scheduler(store, clock, [InstantAgent()], Policy())
        service = JobService(store, clock, default_timezone="UTC", wake=scheduler.wake)
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            for _ in range(count):
                request = JobCreateRequest(
                    title="Soon", description="Nothing.", job_type=JobType.ONE_OFF,
                    schedule=ScheduleInput(delay=lead),
                )  # fmt: skip
                job = (await service.create("bench", request)).job
                while (await store.get_job("bench", job.id)).status is not JobStatus.COMPLETED:  # noqa: ASYNC110
                    await anyio.sleep(0.005)
            group.cancel_scope.cancel()
        late = []
        for job in await store.list_jobs("bench", JobFilter(), count):
            [run] = await store.list_runs(job.id, 1)
            if run.started_at is None or run.scheduled_for is None:
                raise RuntimeError(f"run {run.id} has no start or scheduled time")
            late.append((run.started_at - run.scheduled_for).total_seconds() * 1000)
    return {"jobs": count, "p50_ms": statistics.median(late), "p99_ms": _percentile(late, 0.99), "max_ms": max(late)}


async def drain(folder: Path, count: int = 1000, concurrency: int = 5) -> dict[str, float]:
    """`count` ONE_OFF jobs due at once: runs per second until all are COMPLETED."""
    now = datetime.now(UTC)
    async with SQLiteStore(folder / "drain.db") as store:
        for _ in range(count):
            await store.create_job(_job(now))
        scheduler = Scheduler(store, SystemClock(), [InstantAgent()], Policy(max_concurrency=concurrency))
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            while _completed(folder / "drain.db") < count:  # noqa: ASYNC110 -- the count is in the database
                await anyio.sleep(0.05)
            elapsed = time.perf_counter() - started
            group.cancel_scope.cancel()
    return {"jobs": count, "concurrency": concurrency, "seconds": elapsed, "runs_per_second": count / elapsed}


async def idle_cpu(folder: Path, count: int = 10_000, seconds: float = 60.0) -> dict[str, float]:
    """CPU used by a serving scheduler whose `count` jobs are all due later (default 30 s sweep)."""
    later = datetime.now(UTC) + timedelta(hours=1)
    every = Schedule(run_at=later, every_seconds=3600, timezone="UTC")
    async with SQLiteStore(folder / "idle.db") as store:
        for _ in range(count):
            await store.create_job(_job(later, every))
        scheduler = Scheduler(store, SystemClock(), [InstantAgent()], Policy())
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            await anyio.sleep(1)  # start-up sweep and arming are not idle time
            cpu, wall = time.process_time(), time.perf_counter()
            await anyio.sleep(seconds)
            used, elapsed = time.process_time() - cpu, time.perf_counter() - wall
            group.cancel_scope.cancel()
    return {"jobs": count, "seconds": elapsed, "cpu_seconds": used, "cpu_percent_of_a_core": 100 * used / elapsed}


async def run_all(idle_seconds: float = 60.0) -> dict[str, dict[str, float]]:
    """Every scheduler benchmark, each on its own database."""
    with tempfile.TemporaryDirectory() as folder:
        return {
            "lateness": await lateness(Path(folder)),
            "drain": await drain(Path(folder)),
            "idle": await idle_cpu(Path(folder), seconds=idle_seconds),
        }
