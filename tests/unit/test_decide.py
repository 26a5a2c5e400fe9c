"""The scheduler's pure rules, one table each: what a claim does, and what a run's end does to its job."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_server_jobs.lifecycle import NO_BACKEND_REASON
from mcp_server_jobs.models import Job, JobStatus, JobType, Notify, Run, RunOutcome, RunTrigger
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.scheduler.decide import Ending, after_interrupt, after_run, plan_claim

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
POLICY = Policy()


def job(job_type: JobType = JobType.ONE_OFF, due: timedelta = timedelta(0), **fields: Any) -> Job:
    """A job of `job_type` due `due` before NOW; interval kinds run hourly from their due time."""
    every = None if job_type is JobType.ONE_OFF else 3600
    schedule = Schedule(run_at=NOW - due, every_seconds=every, timezone="UTC", **fields.pop("schedule", {}))
    return Job(
        id="job_1",
        user_id="u",
        title="t",
        description="d",
        job_type=job_type,
        schedule=schedule,
        end_condition="done" if job_type is JobType.ONGOING else None,
        depends_on=[],
        related_entities=[],
        notify=Notify.AUTO,
        metadata={},
        dedup_key=None,
        status=JobStatus.ACTIVE,
        status_reason=None,
        next_run_at=NOW - due,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
        **fields,
    )


def written(changes: Any) -> dict[str, Any]:
    return dict(changes.model_dump(exclude_unset=True))


CLAIMS = [
    # (case, job, backend problem, changes expected (a subset), the started run's (scheduled_for, attempt) or None)
    ("a late one-off runs, never dropped", job(due=5 * HOUR), None,
     {"status": JobStatus.IN_PROGRESS, "attempt": 1}, (NOW - 5 * HOUR, 1)),
    ("no backend: wait at least 30 s", job(due=MINUTE / 6), "no model",
     {"next_run_at": NOW + timedelta(seconds=30), "occurrence_at": NOW - MINUTE / 6}, None),
    ("no backend for long: wait at most the cap", job(due=24 * HOUR), "no model",
     {"next_run_at": NOW + timedelta(seconds=POLICY.no_backend_max_seconds)}, None),
    ("an interval within its grace runs at its time", job(JobType.RECURRING, due=10 * MINUTE), None,
     {"status": JobStatus.IN_PROGRESS, "next_run_at": NOW + 50 * MINUTE, "status_reason": None},
     (NOW - 10 * MINUTE, 1)),
    ("missed occurrences coalesce into the newest", job(JobType.RECURRING, due=2 * HOUR + 10 * MINUTE), None,
     {"status": JobStatus.IN_PROGRESS, "occurrence_at": NOW - 10 * MINUTE}, (NOW - 10 * MINUTE, 1)),
    ("the newest past its grace is recorded missed", job(JobType.RECURRING, due=2 * HOUR + 40 * MINUTE), None,
     {"occurrence_at": None, "attempt": 0, "next_run_at": NOW + 20 * MINUTE}, None),
    ("an ongoing check runs however late", job(JobType.ONGOING, due=4 * HOUR + 40 * MINUTE), None,
     {"status": JobStatus.IN_PROGRESS, "occurrence_at": NOW - 40 * MINUTE}, (NOW - 40 * MINUTE, 1)),
    ("a retry goes on while its occurrence is the newest", job(JobType.RECURRING, due=MINUTE, attempt=1), None,
     {"attempt": 2, "occurrence_at": NOW - MINUTE}, (NOW - MINUTE, 2)),
    ("a retry overtaken by a newer occurrence is dropped for it",
     job(JobType.RECURRING, due=HOUR + MINUTE, attempt=2), None, {"attempt": 1}, (NOW - MINUTE, 1)),
    ("a schedule that ended while down completes",
     job(JobType.RECURRING, due=MINUTE, schedule={"end_at": NOW - 2 * MINUTE}), None,
     {"status": JobStatus.COMPLETED, "next_run_at": None}, None),
    ("an ongoing job whose schedule ended fails its goal",
     job(JobType.ONGOING, due=MINUTE, schedule={"end_at": NOW - 2 * MINUTE}), None, {"status": JobStatus.FAILED}, None),
]  # fmt: skip


@pytest.mark.parametrize(("case", "due_job", "problem", "expected", "started"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_plan_claim(
    case: str, due_job: Job, problem: str | None, expected: dict[str, Any], started: tuple[datetime, int] | None
) -> None:
    claim = plan_claim(due_job, NOW, "me", POLICY, problem)
    assert written(claim.changes).items() >= expected.items()
    running = [run for run in claim.runs if run.outcome is RunOutcome.RUNNING]
    assert [(run.scheduled_for, run.attempt) for run in running] == ([started] if started else [])
    if problem:
        assert NO_BACKEND_REASON in (claim.changes.status_reason or "")
        assert not claim.runs
    if case.endswith("recorded missed"):
        assert [run.outcome for run in claim.runs] == [RunOutcome.MISSED]


def run(attempt: int = 1, trigger: RunTrigger = RunTrigger.SCHEDULE, started: datetime = NOW - MINUTE) -> Run:
    return Run(
        id="run_1", job_id="job_1", scheduled_for=started, started_at=started, finished_at=None, attempt=attempt,
        outcome=RunOutcome.RUNNING, error="boom", trigger=trigger,
    )  # fmt: skip


FAILED = Ending(succeeded=False)
ENDS = [
    # (case, job, run, how it ended, changes expected (a subset), words of the status reason)
    ("a one-off that succeeded is done", job(), run(), Ending(True),
     {"status": JobStatus.COMPLETED, "run_count": 1, "next_run_at": None}, "done"),
    ("a failed attempt is retried with backoff", job(), run(), FAILED,
     {"status": JobStatus.ACTIVE, "attempt": 1, "next_run_at": NOW + timedelta(seconds=30)}, "retrying at"),
    ("the provider's Retry-After is honoured", job(), run(2), Ending(False, retry_after=300),
     {"next_run_at": NOW + timedelta(seconds=300)}, "asked to wait 300s"),
    ("the last attempt fails a one-off", job(), run(3), FAILED, {"status": JobStatus.FAILED}, "failed 3 attempts"),
    ("a permanent error is not retried", job(), run(), Ending(False, permanent=True),
     {"status": JobStatus.FAILED}, "permanent error"),
    ("too many failed runs in a row fail a schedule", job(JobType.RECURRING, consecutive_failures=4), run(3), FAILED,
     {"status": JobStatus.FAILED, "consecutive_failures": 5}, "5 runs in a row"),
    ("a failed run of a schedule that may fail again goes on", job(JobType.RECURRING, due=MINUTE), run(3), FAILED,
     {"status": JobStatus.ACTIVE, "consecutive_failures": 1, "next_run_at": NOW + 59 * MINUTE}, "last run failed"),
    ("a schedule's next run is the first after the run's start", job(JobType.RECURRING, due=MINUTE), run(),
     Ending(True),
     {"status": JobStatus.ACTIVE, "next_run_at": NOW + 59 * MINUTE, "consecutive_failures": 0}, None),
    ("an ongoing job whose goal is met completes", job(JobType.ONGOING), run(), Ending(True, goal_met=True),
     {"status": JobStatus.COMPLETED}, "end condition was met"),
    ("an ongoing job whose goal is not met goes on", job(JobType.ONGOING, due=MINUTE), run(), Ending(True),
     {"status": JobStatus.ACTIVE}, None),
    ("max_runs reached ends the schedule", job(JobType.RECURRING, run_count=2, schedule={"max_runs": 3}), run(),
     Ending(True), {"status": JobStatus.COMPLETED, "run_count": 3}, "max_runs"),
    ("a pause asked during the run takes effect", job(JobType.RECURRING, pause_requested=True), run(), Ending(True),
     {"status": JobStatus.PAUSED, "pause_requested": False, "next_run_at": None}, "paused after its run"),
    ("a one-off run by hand that succeeded is done", job(), run(trigger=RunTrigger.MANUAL), Ending(True),
     {"status": JobStatus.COMPLETED, "run_count": 1}, "run by hand"),
    ("a failed run by hand leaves the schedule alone", job(JobType.RECURRING, run_count=4),
     run(trigger=RunTrigger.MANUAL), FAILED, {"status": JobStatus.ACTIVE}, "the schedule goes on"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "ran_job", "ended", "ending", "expected", "reason"), ENDS, ids=[c[0] for c in ENDS])
def test_after_run(
    case: str, ran_job: Job, ended: Run, ending: Ending, expected: dict[str, Any], reason: str | None
) -> None:
    changes = after_run(ran_job, ended, ending, NOW, POLICY)
    assert written(changes).items() >= expected.items()
    assert (reason or "") in (changes.status_reason or "")
    if ended.trigger is RunTrigger.MANUAL and ran_job.job_type is not JobType.ONE_OFF:
        assert "run_count" not in written(changes)  # max_runs counts scheduled runs only


INTERRUPTS = [
    # (case, job, run, whether the interruption counts as an attempt, changes expected (a subset))
    ("a crash is run again at once", job(), run(1), True,
     {"status": JobStatus.ACTIVE, "attempt": 1, "next_run_at": NOW}),
    ("a crash at the last attempt fails a one-off", job(), run(3), True, {"status": JobStatus.FAILED}),
    ("a crash at the last attempt of a schedule goes on", job(JobType.RECURRING, due=MINUTE), run(3), True,
     {"status": JobStatus.ACTIVE, "consecutive_failures": 1, "next_run_at": NOW + 59 * MINUTE}),
    ("a shutdown does not count as an attempt", job(), run(3), False, {"status": JobStatus.ACTIVE, "attempt": 2}),
    ("a run by hand cut off leaves the schedule alone", job(JobType.RECURRING), run(trigger=RunTrigger.MANUAL), True,
     {"status": JobStatus.ACTIVE}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "cut_job", "cut", "counts", "expected"), INTERRUPTS, ids=[c[0] for c in INTERRUPTS])
def test_after_interrupt(case: str, cut_job: Job, cut: Run, counts: bool, expected: dict[str, Any]) -> None:
    changes = after_interrupt(cut_job, cut, NOW, POLICY, counts=counts)
    assert written(changes).items() >= expected.items()


def test_the_rules_load_nothing_that_does_io() -> None:
    """Importing the pure rules must not load the database driver or numpy (they are tested with plain values)."""
    code = (
        "import sys, mcp_server_jobs.scheduler.decide\n"
        "print(sorted(m for m in ('aiosqlite', 'numpy', 'sqlite3', 'httpx') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
