"""SQLite beside PostgreSQL, with 1 and 3 scheduler processes on one database: drain rate and start lateness.

Each process is a real scheduler (`python -m bench.stores --worker DB`) with an agent that answers at once,
so what is measured is the claims, leases and commits around it. PostgreSQL is the distribution's server,
started in a temporary folder with its default durability (a flush at each commit); SQLite is a file in
WAL mode (synchronous=NORMAL, the server's setting).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import anyio

from bench.report import Targets, rows, write_section
from bench.scheduler import InstantAgent, _job, _percentile
from mcp_server_jobs.clock import SystemClock
from mcp_server_jobs.models import JobStatus, JobType, Run
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.server.requests import JobCreateRequest
from mcp_server_jobs.server.schedule_input import ScheduleInput
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.store import JobFilter, JobStore
from mcp_server_jobs.store.factory import open_store

HEADING = "## Stores: SQLite beside PostgreSQL, 1 and 3 processes"
DRAIN_JOBS = 1000
LATENESS_JOBS = 200
CONCURRENCY = 5  # runs at once in each process (the server's default)


async def _work(db: str) -> None:
    """A worker process: one scheduler on `db` until SIGTERM."""
    async with open_store(db) as store:  # a path or a postgresql:// URL, as --db takes it
        scheduler = Scheduler(store, SystemClock(), [InstantAgent()], Policy(max_concurrency=CONCURRENCY))
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            print("ready", flush=True)
            with anyio.open_signal_receiver(signal.SIGTERM) as signals:
                async for _ in signals:
                    group.cancel_scope.cancel()
                    break


@contextmanager
def _workers(db: Path | str, count: int) -> Iterator[None]:
    """`count` worker processes on `db`, each returned once its scheduler serves."""
    command = [sys.executable, "-m", "bench.stores", "--worker", str(db)]
    environ = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    started = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environ) for _ in range(count)]
    try:
        for process in started:
            if process.stdout is None or process.stdout.readline().strip() != "ready":
                raise RuntimeError("a bench worker did not start")
        yield
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=30)


async def _runs(store: JobStore, count: int) -> list[Run]:
    jobs = await store.list_jobs("bench", JobFilter(), count)
    return [run for job in jobs for run in await store.list_runs(job.id, 10)]


async def _wait_completed(store: JobStore, count: int) -> None:
    where = JobFilter(statuses=[JobStatus.COMPLETED])
    while len(await store.list_jobs("bench", where, count)) < count:  # noqa: ASYNC110 -- done in other processes
        await anyio.sleep(0.05)


async def drain(db: Path | str, processes: int, count: int = DRAIN_JOBS) -> dict[str, float]:
    """`count` ONE_OFF jobs due at once, `processes` schedulers: runs per second from the first start to the
    last finish, and whether every job ran exactly once."""
    now = datetime.now(UTC)
    async with open_store(db) as store:
        for _ in range(count):
            await store.create_job(_job(now))
        with _workers(db, processes):
            await _wait_completed(store, count)
        runs = await _runs(store, count)
    starts = [run.started_at for run in runs if run.started_at]
    ends = [run.finished_at for run in runs if run.finished_at]
    seconds = (max(ends) - min(starts)).total_seconds()
    return {
        "processes": processes,
        "jobs": count,
        "runs": len(runs),
        "processes_that_ran": len({run.lease_owner for run in runs}),
        "seconds": seconds,
        "runs_per_second": count / seconds,
    }


async def lateness(db: Path | str, processes: int, count: int = LATENESS_JOBS, lead: float = 0.05) -> dict[str, float]:
    """ONE_OFF jobs made one at a time, each due `lead` s later, through the job service of one scheduling
    process, with `processes - 1` more on the database: how late did each start, whoever started it?"""
    clock = SystemClock()
    async with open_store(db, clock=clock) as store:
        scheduler = Scheduler(store, clock, [InstantAgent()], Policy(max_concurrency=CONCURRENCY))
        service = JobService(store, clock, default_timezone="UTC", wake=scheduler.wake)
        with _workers(db, processes - 1):
            async with anyio.create_task_group() as group:
                await group.start(scheduler.serve)
                for _ in range(count):
                    request = JobCreateRequest(title="Soon", description="Nothing.", job_type=JobType.ONE_OFF,
                                               schedule=ScheduleInput(delay=lead))  # fmt: skip
                    job = (await service.create("bench", request)).job
                    while (await store.get_job("bench", job.id)).status is not JobStatus.COMPLETED:  # noqa: ASYNC110
                        await anyio.sleep(0.005)
                group.cancel_scope.cancel()
        runs = await _runs(store, count)
    late = [(run.started_at - run.scheduled_for).total_seconds() * 1000 for run in runs
            if run.started_at and run.scheduled_for]  # fmt: skip
    return {
        "processes": processes,
        "jobs": count,
        "processes_that_ran": len({run.lease_owner for run in runs}),
        "p50_ms": statistics.median(late),
        "p99_ms": _percentile(late, 0.99),
        "max_ms": max(late),
    }


def run_all() -> dict[str, dict[str, float]]:
    """Drain and lateness on SQLite and on PostgreSQL (if installed here), with 1 and 3 processes, each on
    a database of its own."""
    from tests import pg  # the test suite's PostgreSQL starter, with durability on

    results: dict[str, dict[str, float]] = {}
    bin_dir = pg.binaries()
    server = pg.start(bin_dir, durable=True) if bin_dir else None
    try:
        with tempfile.TemporaryDirectory() as folder:
            for store in ("SQLite", "PostgreSQL"):
                for processes in (1, 3):
                    for name, measure in (("drain", drain), ("lateness", lateness)):
                        if store == "SQLite":
                            db: Path | str = Path(folder) / f"{name}-{processes}.db"
                        elif server is not None:
                            db = server[0].url(server[0].database())
                        else:
                            continue
                        results[_named(name, store, processes)] = anyio.run(measure, db, processes)
    finally:
        if server is not None:
            pg.stop(*server)
    return results


def _named(measure: str, store: str, processes: int) -> str:
    return f"{measure}, {store}, {processes} process{'es' if processes > 1 else ''}"


# The scheduler's targets (design §9), for every store and number of processes.
TARGETS: Targets = {
    (_named(measure, store, processes), key): target
    for store in ("SQLite", "PostgreSQL")
    for processes in (1, 3)
    for measure, key, target in (
        ("drain", "runs_per_second", (300.0, "≥")),
        ("lateness", "p50_ms", (20.0, "≤")),
        ("lateness", "p99_ms", (100.0, "≤")),
    )
}


def render(results: dict[str, dict[str, float]], command: str) -> str:
    """The section of BENCHMARKS.md."""
    postgres = (
        "" if any("PostgreSQL" in name for name in results) else " PostgreSQL is not installed here: SQLite only."
    )
    lines = [
        HEADING,
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({os.cpu_count()} cores: the processes, "
        "the bench and PostgreSQL share them). Each process is a real scheduler (`python -m bench.stores --worker "
        "DB`, concurrency 5) with an agent that answers at once. PostgreSQL is the distribution's server in a "
        "temporary folder with its default durability (a flush at each commit); SQLite is a WAL file "
        f"(synchronous=NORMAL, as the server sets it). Each measure has a database of its own.{postgres}",
        "",
        f"- **drain**: {DRAIN_JOBS:,} ONE_OFF jobs due at once, then the processes start; runs per second from the "
        "first run's start to the last one's end, read from the runs. `runs` = `jobs` is each job run once; "
        "`processes_that_ran` counts the schedulers that took some.",
        f"- **lateness**: {LATENESS_JOBS} ONE_OFF jobs made one at a time through the job service of one scheduling "
        "process, each due 50 ms later, with the other processes on the same database; lateness = run start - "
        "scheduled time, whoever started it. On SQLite the others do not hear of a new job until their sweep, so "
        "the process that made it runs it; on PostgreSQL all of them are woken by NOTIFY and race for it.",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
        *rows(results, TARGETS),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", metavar="DB", help="(internal) serve one scheduler on DB until SIGTERM")
    parser.add_argument("--write", action="store_true", help=f"replace the `{HEADING}` section of BENCHMARKS.md")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    if args.worker:
        logging.basicConfig(level=logging.ERROR)  # a worker stopped mid-query says so at WARNING: not news here
        anyio.run(_work, args.worker)
        return 0
    section = render(run_all(), "python -m bench.stores" + (" --write" if args.write else ""))
    sys.stdout.write(section)
    if args.write:
        write_section(args.output, HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
