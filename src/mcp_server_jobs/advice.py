"""The calls a refusal suggests instead: built from the job, so that following one is accepted.

tests/integration/test_refusals.py follows every suggestion of the catalogue and checks it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mcp_server_jobs.errors import Suggestion
from mcp_server_jobs.models import ONGOING_DEFAULT_SPAN, Job, JobStatus, JobType, Notify
from mcp_server_jobs.schedule import MAX_RUNS, Schedule
from mcp_server_jobs.times import format_local, parse_datetime, parse_duration, seconds_text

# A schedule's window stretched for a retry is at least this long.
_MIN_SPAN = timedelta(days=1)


def recreate(job: Job, now: datetime, edits: Mapping[str, Any] | None = None) -> Suggestion:
    """job_create with the job's definition (and `edits`), for a job that cannot run again.

    Its dependencies are left out: they ended with the job and may no longer be waited on.
    """
    arguments: dict[str, Any] = {
        "title": job.title,
        "description": job.description,
        "job_type": job.job_type.value,
        "schedule": schedule_arguments(job, now),
    }
    if job.end_condition:
        arguments["end_condition"] = job.end_condition
    if job.related_entities:
        arguments["related_entities"] = [e.model_dump(exclude_none=True) for e in job.related_entities]
    if job.notify is not Notify.AUTO:
        arguments["notify"] = job.notify.value
    if job.metadata:
        arguments["metadata"] = job.metadata
    if limits := job.limits.model_dump(exclude_none=True):
        arguments["limits"] = limits
    for name, value in (edits or {}).items():
        arguments[name] = _overlay(arguments["schedule"], value) if name == "schedule" else value
    return Suggestion("To run it again as a new job", "job_create", arguments)


def _overlay(old: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Schedule fields given over the old ones, as job_update merges them."""
    merged = dict(old)
    for field, clears in (("delay", "run_at"), ("run_at", "delay"), ("cron", "every"), ("every", "cron")):
        if field in given:
            merged.pop(clears, None)
    return {**merged, **given}


def schedule_arguments(job: Job, now: datetime) -> dict[str, Any]:
    """The job's schedule as job_create's `schedule` from `now` on: passed times are left out."""
    schedule = job.schedule
    tz = schedule.tz
    full: dict[str, Any] = {
        "timezone": schedule.timezone,
        "cron": schedule.cron,
        "every": seconds_text(schedule.every_seconds),
        "max_runs": schedule.max_runs,
        "timeout": seconds_text(schedule.timeout_seconds),
        "run_at": format_local(schedule.run_at, tz) if schedule.run_at and schedule.run_at > now else None,
        "delay": seconds_text(schedule.delay_seconds) if schedule.run_at is None else None,
        "end_at": format_local(schedule.end_at, tz) if schedule.end_at and schedule.end_at > now else None,
    }
    full = {k: v for k, v in full.items() if v is not None}
    # The start and end job_create reads from them (to the second; a start never before now).
    start = max(parse_datetime(full["run_at"], tz), now) if "run_at" in full else None
    if "delay" in full:
        start = now + parse_duration(full["delay"])
    end = parse_datetime(full["end_at"], tz) if "end_at" in full else None
    # An end too near for a run, then a start that no longer fits: drop them, the defaults apply.
    for dropped, first, last in (
        ((), start, end),
        (("end_at",), start, None),
        (("end_at", "run_at", "delay"), None, None),
    ):
        if _has_run(job, first, last, now):
            return {k: v for k, v in full.items() if k not in dropped}
    return {"timezone": schedule.timezone}


def _has_run(job: Job, start: datetime | None, end: datetime | None, now: datetime) -> bool:
    """Whether the job's schedule from `start` (None: now) until `end` (None: the default end) has a run.

    What job_create checks of a schedule once its fields are read; its other checks the stored one passed.
    """
    if end is None and job.job_type is JobType.ONGOING:
        end = (start or now) + ONGOING_DEFAULT_SPAN
    if end is not None and end <= (start or now):
        return False
    trial = job.schedule.model_copy(update={"run_at": start, "end_at": end, "delay_seconds": None})
    return trial.first_run(now) is not None


def reactivate(job: Job, now: datetime, purpose: str = "To retry it") -> Suggestion:
    """job_update status=ACTIVE, with the schedule's end or run limit moved when it has no run left."""
    arguments: dict[str, Any] = {"job_id": job.id, "status": JobStatus.ACTIVE.value}
    stretch = _stretched(job, now)
    if stretch:
        arguments["schedule"] = stretch
        purpose += " with room in its schedule"
    return Suggestion(purpose, "job_update", arguments)


def _stretched(job: Job, now: datetime) -> dict[str, Any]:
    """The schedule fields that give a job with no run left as many runs (or as long a window) again."""
    schedule = job.schedule
    stretch: dict[str, Any] = {}
    if schedule.max_runs is not None and job.run_count >= schedule.max_runs:
        stretch["max_runs"] = min(job.run_count + schedule.max_runs, MAX_RUNS)
    if schedule.end_at is not None and schedule.first_run(now) is None:
        unbounded = Schedule.model_validate(schedule.model_dump() | {"end_at": None})
        start = unbounded.first_run(now) or now
        span = max(schedule.end_at - (schedule.run_at or job.created_at), _MIN_SPAN)
        stretch["end_at"] = format_local(start + span, schedule.tz)
    return stretch


def retry_or_recreate(job: Job, now: datetime) -> Suggestion:
    """For a job that ended: retry it if it FAILED (the only end a client can undo), else create it anew."""
    return reactivate(job, now) if job.status is JobStatus.FAILED else recreate(job, now)
