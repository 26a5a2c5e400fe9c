"""The pure parts of changing a job from the chat: checks and status changes of job_update, a merged schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from mcp_server_jobs import advice, lifecycle
from mcp_server_jobs.errors import ForbiddenTransition, InvalidInput
from mcp_server_jobs.models import Job, JobChanges, JobStatus, JobType
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.server.schedule_input import ScheduleInput, build_schedule, spelled_out
from mcp_server_jobs.times import format_local, seconds_text


def check_client(job: Job, target: JobStatus, now: datetime) -> None:
    """lifecycle.check_client; a job that ended and cannot be revived is offered its re-creation."""
    try:
        lifecycle.check_client(job.status, target)
    except ForbiddenTransition as exc:
        ended = job.status in lifecycle.FROZEN
        if target is not JobStatus.ACTIVE or not ended:
            raise
        raise ForbiddenTransition(str(exc), suggestion=advice.recreate(job, now)) from exc


def runnable(dependencies: Sequence[Job]) -> list[str]:
    """The ids of the dependencies that can still complete (not FAILED, CANCELLED or BLOCKED)."""
    return [d.id for d in dependencies if d.status not in lifecycle.IN_THE_WAY]


def unique(ids: Sequence[str]) -> list[str]:
    """The ids in their order, each once."""
    return list(dict.fromkeys(ids))


def check_end_condition(job_type: JobType, end_condition: str | None) -> None:
    if job_type is JobType.ONGOING and not end_condition:
        raise InvalidInput(
            "ONGOING jobs need end_condition: the condition, judged after each run, that ends the job "
            "(e.g. 'the page shows a price below $20')"
        )
    if job_type is not JobType.ONGOING and end_condition:
        raise InvalidInput(
            "end_condition applies only to ONGOING jobs; use job_type ONGOING to keep going until it holds, "
            "or leave end_condition out"
        )


def set_status(
    changes: JobChanges,
    status: JobStatus,
    reason: str | None,
    schedule: Schedule,
    now: datetime,
    *,
    release: bool = False,
) -> None:
    """Set `status`; `release`: the job stops waiting on its dependencies now, so a delay after them starts."""
    changes.status = status
    changes.status_reason = reason
    if status is JobStatus.ACTIVE and release and schedule.delay_seconds is not None:
        schedule = changes.schedule = schedule.released(now)
    changes.next_run_at = schedule.first_run(now) if status is JobStatus.ACTIVE else None


def merged_schedule(job: Job, given: ScheduleInput, now: datetime) -> Schedule:
    """The job's schedule with the given fields replaced.

    Without a new start, an interval keeps its grid (a new period counts from its latest occurrence, not from
    now) and a dependent's delay still counts from when its dependencies complete.
    """
    old = job.schedule
    tz = old.tz
    waiting = old.delay_seconds is not None and old.run_at is None
    base = ScheduleInput(
        run_at=format_local(old.run_at, tz) if old.run_at and old.run_at > now else None,
        delay=seconds_text(old.delay_seconds) if waiting else None,
        cron=old.cron,
        every=seconds_text(old.every_seconds),
        timezone=old.timezone,
        end_at=format_local(old.end_at, tz) if old.end_at else None,
        max_runs=old.max_runs,
        timeout=seconds_text(old.timeout_seconds),
    )
    overlay = spelled_out(job.job_type, given, old.timezone, now).model_dump(exclude_unset=True, exclude={"text"})
    if "delay" in overlay:
        base.run_at = None
    if "run_at" in overlay:
        base.delay = None
    if "cron" in overlay:
        base.every = None
    if "every" in overlay:
        base.cron = None
    merged = base.model_copy(update=overlay)
    held = job.status in lifecycle.WAITING or waiting
    schedule = build_schedule(job.job_type, merged, old.timezone, now, after_dependencies=held)
    new_start = "run_at" in overlay or "delay" in overlay
    if not new_start and old.delay_seconds is not None:
        schedule = schedule.model_copy(update={"delay_seconds": old.delay_seconds})
    grid = _latest_occurrence(old, now) if schedule.every_seconds and merged.run_at is None and not new_start else None
    if grid is not None:
        schedule = schedule.model_copy(update={"run_at": grid})
        if schedule.first_run(now) is None:
            raise InvalidInput("schedule: with that change the job has no run left before end_at; move end_at later")
    return schedule


def _latest_occurrence(schedule: Schedule, now: datetime) -> datetime | None:
    """The latest point at or before `now` of an interval schedule's grid; None for others or before it starts."""
    if not schedule.every_seconds or schedule.run_at is None or schedule.run_at > now:
        return None
    step = timedelta(seconds=schedule.every_seconds)
    return schedule.run_at + (now - schedule.run_at) // step * step
