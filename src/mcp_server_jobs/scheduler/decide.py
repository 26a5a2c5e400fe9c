"""Pure decisions of the scheduler: what a claim does, what a run's end does to its job (design §4, §5.6).

Every function takes the job as read inside the writing transaction and the time, and returns the
changes to write; none reads a clock or does I/O, so each rule is tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mcp_server_jobs import advice
from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.lifecycle import NO_BACKEND_REASON
from mcp_server_jobs.models import (
    Job,
    JobChanges,
    JobStatus,
    JobType,
    Run,
    RunOutcome,
    RunTrigger,
    new_id,
)
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.store.base import Claim

# Counting missed occurrences one by one stops here (a 1-second job down for days).
_MAX_STEPS = 100_000


@dataclass(frozen=True)
class Ending:
    """How a run ended, as the scheduler judges it."""

    succeeded: bool
    permanent: bool = False
    goal_met: bool = False
    retry: bool = True
    retry_after: float | None = None  # seconds the provider asked to wait (Retry-After)


def _run(job: Job, scheduled: datetime, now: datetime, attempt: int, owner: str, policy: Policy) -> Run:
    return Run(
        id=new_id("run"),
        job_id=job.id,
        scheduled_for=scheduled,
        started_at=now,
        finished_at=None,
        attempt=attempt,
        outcome=RunOutcome.RUNNING,
        lease_owner=owner,
        lease_until=now + timedelta(seconds=policy.lease_seconds),
    )


def _newest_due(schedule: Schedule, due: datetime, now: datetime) -> tuple[datetime, int]:
    """The newest occurrence at or before `now` counting from `due`, and how many older ones it covers."""
    if schedule.every_seconds and schedule.run_at:
        step = timedelta(seconds=schedule.every_seconds)
        skipped = (now - due) // step
        newest = due + skipped * step
        if schedule.end_at is not None and newest > schedule.end_at:
            skipped = (schedule.end_at - due) // step
            newest = due + skipped * step
        return newest, skipped
    newest, skipped = due, 0
    for when in schedule.occurrences(due):
        if when > now or skipped >= _MAX_STEPS:
            break
        newest, skipped = when, skipped + 1
    return newest, skipped


def plan_claim(job: Job, now: datetime, owner: str, policy: Policy, backend_problem: str | None = None) -> Claim:
    """What claiming a due ACTIVE job does: start a run, record a missed occurrence, or wait for a backend."""
    due = job.occurrence_at or job.next_run_at or now
    end_at = job.schedule.end_at
    if end_at is not None and now > end_at:
        return _ended_while_down(job, due, end_at, now, owner)
    if backend_problem is not None:
        # Neither run nor failed: wait, longer the longer it has waited, at most the cap (design §6).
        wait = min(max(now - due, timedelta(seconds=30)), timedelta(seconds=policy.no_backend_max_seconds))
        return Claim(
            JobChanges(
                next_run_at=now + wait,
                occurrence_at=due,
                status_reason=f"{NO_BACKEND_REASON} ({backend_problem}); next try at "
                f"{(now + wait).isoformat(timespec='seconds')}",
            )
        )
    if job.job_type is JobType.ONE_OFF:
        return _start(job, due, now, job.attempt + 1, owner, policy)  # late is recorded, never dropped
    newest, skipped = _newest_due(job.schedule, due, now)
    if job.attempt > 0 and (job.job_type is JobType.ONGOING or newest == due):
        # A retry goes on while its occurrence is the newest; an ONGOING retry also covers every check that
        # fell due meanwhile (one downtime, one check).
        return _start(job, due, now, job.attempt + 1, owner, policy)
    # A retry that a newer occurrence overtook is dropped for it: run the newest, or record them missed.
    if job.job_type is JobType.ONGOING or _in_grace(job, newest, now, policy):
        note = None
        if skipped:
            note = f"{skipped} earlier occurrence(s) since {due.isoformat(timespec='seconds')} coalesced into this run"
        return _start(job, newest, now, 1, owner, policy, note=note)
    return _missed(job, due, newest, skipped + 1, now, owner)


def _in_grace(job: Job, occurrence: datetime, now: datetime, policy: Policy) -> bool:
    return now - occurrence <= policy.grace(job.schedule.period(occurrence))


def _ended_while_down(job: Job, due: datetime, end_at: datetime, now: datetime, owner: str) -> Claim:
    """The schedule ended before the job could be claimed: nothing runs after end_at (missed ones are noted)."""
    if due <= end_at:
        newest, skipped = _newest_due(job.schedule, due, end_at)
        return _missed(job, due, newest, skipped + 1, now, owner)
    changes = JobChanges(occurrence_at=None, attempt=0, next_run_at=None)
    _end(job, changes, "its schedule reached end_at")
    return Claim(changes)


def _start(
    job: Job, scheduled: datetime, now: datetime, attempt: int, owner: str, policy: Policy, *, note: str | None = None
) -> Claim:
    changes = JobChanges(
        status=JobStatus.IN_PROGRESS,
        occurrence_at=scheduled,
        attempt=attempt,
        status_reason=note,
        # The run covers every occurrence up to now; the next is the first after it.
        next_run_at=job.schedule.next_after(max(scheduled, now)),
    )
    run = _run(job, scheduled, now, attempt, owner, policy).model_copy(update={"note": note})
    # Should the occurrence have a run already (it must not), skip to the next one instead of running it twice.
    taken = JobChanges(
        occurrence_at=None,
        attempt=0,
        next_run_at=job.schedule.next_after(max(scheduled, now)),
        status_reason=f"occurrence {scheduled.isoformat(timespec='seconds')} already has a run; skipped to the next",
    )
    return Claim(changes, [run], on_taken=taken)


def _missed(job: Job, due: datetime, newest: datetime, count: int, now: datetime, owner: str) -> Claim:
    ended = job.schedule.end_at is not None and now > job.schedule.end_at
    record = Run(
        id=new_id("run"),
        job_id=job.id,
        scheduled_for=newest,
        started_at=None,
        finished_at=now,
        attempt=0,
        outcome=RunOutcome.MISSED,
        error=f"missed {count} occurrence(s) from {due.isoformat(timespec='seconds')} to "
        f"{newest.isoformat(timespec='seconds')}: not run in time (the server was down or busy) and "
        + ("the schedule ended meanwhile" if ended else "the newest is past its grace window"),
        lease_owner=owner,
    )
    following = job.schedule.next_after(now)
    changes = JobChanges(occurrence_at=None, attempt=0, next_run_at=following, status_reason=record.error)
    if following is None:
        _end(job, changes, "its schedule ended while the server was not running")
    return Claim(changes, [record])


def plan_manual(job: Job, now: datetime, owner: str, policy: Policy) -> Claim:
    """Run a job now, outside its schedule (job_run_now): its next_run_at and counters stay as they are."""
    if job.status not in (JobStatus.ACTIVE, JobStatus.PAUSED):
        why = {
            JobStatus.IN_PROGRESS: "it is running now; wait for the run to finish",
            JobStatus.PENDING: "it waits for its dependencies; their outputs would be missing",
            JobStatus.BLOCKED: "a dependency failed or was cancelled; unblock it first (it then runs without "
            "that dependency's output)",
            JobStatus.FAILED: "it failed",
        }.get(job.status, "it has ended")
        suggestion = None
        if job.status is JobStatus.BLOCKED:
            suggestion = advice.reactivate(job, now, "To unblock it")
        elif job.status not in (JobStatus.IN_PROGRESS, JobStatus.PENDING):
            suggestion = advice.retry_or_recreate(job, now)
        raise InvalidInput(f"{job.id} is {job.status} and cannot run now: {why}.", suggestion=suggestion)
    run = _run(job, now, now, 1, owner, policy).model_copy(update={"trigger": RunTrigger.MANUAL})
    # A paused job runs once and goes back to PAUSED.
    changes = JobChanges(
        status=JobStatus.IN_PROGRESS, pause_requested=job.status is JobStatus.PAUSED, run_requested_at=None
    )
    return Claim(changes, [run])


def after_run(job: Job, run: Run, ending: Ending, now: datetime, policy: Policy) -> JobChanges:
    """The job's next state once `run` ended as `ending` says (design §5.6: code decides, never the model)."""
    if run.trigger is RunTrigger.MANUAL:
        return _after_manual(job, run, ending)
    if not ending.succeeded and ending.retry and not ending.permanent and run.attempt < policy.max_attempts:
        retry_at = now + policy.backoff(run.attempt, ending.retry_after)
        asked = f", as the provider asked to wait {ending.retry_after:g}s" if ending.retry_after else ""
        changes = JobChanges(
            status=JobStatus.ACTIVE,
            attempt=run.attempt,
            next_run_at=retry_at,
            status_reason=f"attempt {run.attempt} of {policy.max_attempts} failed ({run.error}); "
            f"retrying at {retry_at.isoformat(timespec='seconds')}{asked}",
        )
        return _maybe_pause(job, changes)
    failures = 0 if ending.succeeded else job.consecutive_failures + 1
    changes = JobChanges(
        run_count=job.run_count + 1,
        consecutive_failures=failures,
        last_run_at=run.started_at,
        occurrence_at=None,
        attempt=0,
        status_reason=None if ending.succeeded else f"last run failed: {run.error}",
    )
    if ending.permanent:
        return _fail(changes, f"stopped at a permanent error, not retried: {run.error}")
    if not ending.succeeded and (job.job_type is JobType.ONE_OFF or failures >= policy.max_consecutive_failures):
        return _fail(changes, f"{_failed_how(job, run, ending, failures)}; last error: {run.error}")
    if ending.succeeded and job.job_type is JobType.ONE_OFF:
        return _finish(changes, JobStatus.COMPLETED, "done")
    if ending.goal_met and job.job_type is JobType.ONGOING:
        return _finish(changes, JobStatus.COMPLETED, "its end condition was met")
    # A late run covered the occurrences that fell due while it waited: the next is the first after its start.
    base = max(run.scheduled_for, run.started_at) if run.scheduled_for and run.started_at else now
    following = job.schedule.next_after(base)
    if job.schedule.max_runs is not None and job.run_count + 1 >= job.schedule.max_runs:
        following = None
    if following is None:
        _end(job, changes, "its schedule reached end_at or max_runs")
        return changes
    changes.status = JobStatus.ACTIVE
    changes.next_run_at = following
    return _maybe_pause(job, changes)


def _failed_how(job: Job, run: Run, ending: Ending, failures: int) -> str:
    """How a failed job got there, counted from what happened (not from the policy's limits)."""
    if job.job_type is not JobType.ONE_OFF:
        return f"failed {failures} runs in a row"
    tries = "1 attempt" if run.attempt == 1 else f"{run.attempt} attempts"
    return f"failed at attempt {run.attempt}, not retried" if not ending.retry else f"failed {tries}"


def after_interrupt(job: Job, run: Run, now: datetime, policy: Policy, *, counts: bool = True) -> JobChanges:
    """The job's next state when its run was cut off (a crash, or a shutdown when `counts` is False)."""
    if run.trigger is RunTrigger.MANUAL:
        return _after_manual(job, run, Ending(succeeded=False))
    attempt = run.attempt if counts else run.attempt - 1
    if attempt >= policy.max_attempts:
        return after_run(job, run, Ending(succeeded=False), now, policy)
    changes = JobChanges(
        status=JobStatus.ACTIVE,
        attempt=attempt,
        next_run_at=now,
        status_reason=f"run {run.id} was interrupted ({run.error}); running it again",
    )
    return _maybe_pause(job, changes)


def _after_manual(job: Job, run: Run, ending: Ending) -> JobChanges:
    # The schedule's counters stay (max_runs counts scheduled runs); the last run is this one, whatever it did.
    changes = JobChanges(last_run_at=run.started_at)
    if ending.succeeded and job.job_type is JobType.ONE_OFF:
        changes.run_count = job.run_count + 1
        return _finish(changes, JobStatus.COMPLETED, "done (run by hand)")
    if ending.goal_met and job.job_type is JobType.ONGOING:
        return _finish(changes, JobStatus.COMPLETED, "its end condition was met")
    changes.status = JobStatus.ACTIVE
    if not ending.succeeded:
        changes.status_reason = f"the run by hand failed: {run.error}; the schedule goes on"
    return _maybe_pause(job, changes)


def _maybe_pause(job: Job, changes: JobChanges) -> JobChanges:
    """A pause asked for during the run takes effect now that it ended."""
    if job.pause_requested:
        changes.status = JobStatus.PAUSED
        changes.pause_requested = False
        changes.next_run_at = None
        changes.status_reason = "paused after its run, as asked"
    return changes


def _finish(changes: JobChanges, status: JobStatus, reason: str) -> JobChanges:
    changes.status = status
    changes.status_reason = reason
    changes.next_run_at = None
    changes.pause_requested = False
    return changes


def _fail(changes: JobChanges, reason: str) -> JobChanges:
    return _finish(changes, JobStatus.FAILED, reason)


def _end(job: Job, changes: JobChanges, why: str) -> None:
    """The schedule has no run left: a SCHEDULED/RECURRING job is done; an ONGOING one failed its goal."""
    if job.job_type is JobType.ONGOING:
        _fail(changes, f"{why} before its end condition was met")
    else:
        _finish(changes, JobStatus.COMPLETED, f"{why}")
