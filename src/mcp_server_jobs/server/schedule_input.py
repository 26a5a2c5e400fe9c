"""When a job runs, as a client writes it: the schedule fields, their bounds, and their reading into a Schedule.

`build_schedule` is where a job_create or job_update schedule is checked against the job type and
resolved to absolute times; a schedule written as one string is read into the fields first.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from mcp_server_jobs.cron import normalize_cron
from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.models import ONGOING_DEFAULT_MAX_RUNS, ONGOING_DEFAULT_SPAN, JobType
from mcp_server_jobs.schedule import MAX_RUNS, Schedule
from mcp_server_jobs.schedule_text import MAX_TEXT, read_schedule_text
from mcp_server_jobs.times import parse_datetime, parse_duration, zone

MIN_EVERY = timedelta(seconds=1)
MAX_EVERY = timedelta(days=366)
MAX_DELAY = timedelta(days=5 * 366)
MIN_TIMEOUT = timedelta(seconds=1)
MAX_TIMEOUT = timedelta(hours=24)
SCHEDULE_TEXT_MAX = MAX_TEXT
# Example dates in descriptions are next year's, so they never read as past.
EXAMPLE_DAY = f"{date.today().year + 1}-01-15"
# A run_at this far in the past is taken as "now" (clock skew between the client and this server).
PAST_TOLERANCE = timedelta(seconds=60)

DurationValue = Annotated[
    str | float, Field(description="A duration: '90s', '30m', '2h', '3d', '1w', '1h30m', 'PT30M', or seconds.")
]
DateTimeText = Annotated[
    str, Field(max_length=64, description="ISO 8601 datetime; without an offset it is read in the schedule's timezone.")
]


class ScheduleInput(BaseModel):
    """When a job runs, as a client writes it. Which fields apply depends on `job_type`."""

    model_config = ConfigDict(extra="forbid")

    run_at: DateTimeText | None = Field(
        default=None,
        description=f"ISO 8601, e.g. '{EXAMPLE_DAY}T09:00', read in `timezone`. ONE_OFF: when to run; "
        "others: the first run.",
    )
    delay: DurationValue | None = Field(
        default=None,
        description="Instead of run_at: how long from now (with depends_on: after they complete), e.g. '3d'.",
    )
    cron: str | None = Field(
        default=None,
        max_length=120,
        description="SCHEDULED/ONGOING: 'minute hour day-of-month month day-of-week', e.g. '0 9 * * 1' "
        "(Mondays 09:00); @daily, @weekly...",
    )
    every: DurationValue | None = Field(
        default=None, description="RECURRING/ONGOING: time between runs, e.g. '1h', '1d'."
    )
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA name, e.g. 'Europe/Paris'. Default: the server's."
    )
    end_at: DateTimeText | None = Field(
        default=None, description="No run starts after this. ONGOING default: 30 days after the start."
    )
    max_runs: int | None = Field(
        default=None, ge=1, le=MAX_RUNS, description="At most this many runs. ONGOING default: 100."
    )
    timeout: DurationValue | None = Field(
        default=None, description="A run's time limit before it is stopped and retried (default 10m)."
    )
    # The schedule written as one string ('every monday at 9am'); build_schedule reads it for the job's type.
    text: SkipJsonSchema[str | None] = Field(default=None, max_length=SCHEDULE_TEXT_MAX)


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"schedule: {message}")


def spelled_out(job_type: JobType, spec: ScheduleInput, default_timezone: str, now: datetime) -> ScheduleInput:
    """`spec` with a schedule written as one string read into its fields, for `job_type`. Raises InvalidInput."""
    if spec.text is None:
        return spec
    try:
        fields = read_schedule_text(spec.text, job_type.value, zone(spec.timezone or default_timezone), now)
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    return spec.model_copy(update={**fields, "text": None})


def build_schedule(
    job_type: JobType, spec: ScheduleInput, default_timezone: str, now: datetime, *, after_dependencies: bool = False
) -> Schedule:
    """Check `spec` against the job type and resolve it to absolute times. Raises InvalidInput.

    With `after_dependencies`, a delay is kept to count from when the dependencies complete.
    """
    spec = spelled_out(job_type, spec, default_timezone, now)
    tz, run_at, end_at, delay, every, cron = _parse_schedule_fields(spec, default_timezone)
    if run_at and delay is not None:
        raise _bad("give either run_at or delay, not both")
    if delay is not None:
        if delay > MAX_DELAY:
            raise _bad("delay is longer than 5 years; pick a nearer time")
        run_at = now + delay
    if run_at and run_at < now - PAST_TOLERANCE:
        raise _bad(
            f"run_at {spec.run_at!r} is in the past (now is {now.astimezone(tz).isoformat(timespec='seconds')} "
            f"in {tz.key}); give a future time, use delay, or leave both out to start now"
        )
    run_at = max(run_at, now) if run_at else None
    _check_shape(job_type, cron, every)
    if every is not None and not MIN_EVERY <= every <= MAX_EVERY:
        raise _bad(f"every must be between 1s and 366d, got {spec.every!r}")

    max_runs = spec.max_runs
    if job_type is JobType.ONE_OFF:
        if end_at or max_runs:
            raise _bad("end_at and max_runs do not apply to ONE_OFF (it runs once)")
        run_at = run_at or now
    elif job_type in (JobType.RECURRING, JobType.ONGOING) and every is not None:
        run_at = run_at or now
    if job_type is JobType.ONGOING:
        end_at = end_at or (run_at or now) + ONGOING_DEFAULT_SPAN
        max_runs = max_runs or ONGOING_DEFAULT_MAX_RUNS
    if end_at and end_at <= (run_at or now):
        raise _bad(f"end_at {spec.end_at!r} is not after the first run; move it later or drop it")

    schedule = Schedule(
        run_at=run_at,
        cron=cron,
        every_seconds=int(every.total_seconds()) if every is not None else None,
        timezone=tz.key,
        end_at=end_at,
        max_runs=max_runs,
        timeout_seconds=_timeout_seconds(spec),
    )
    return _checked(schedule, now, delay if after_dependencies else None)


def _checked(schedule: Schedule, now: datetime, delay_after_dependencies: timedelta | None) -> Schedule:
    if schedule.first_run(now) is None:
        raise _bad("the schedule has no run before end_at; move end_at later")
    if delay_after_dependencies is not None:
        # Checked above as if the dependencies completed now; the start is set when they do.
        seconds = int(delay_after_dependencies.total_seconds())
        schedule = schedule.model_copy(update={"run_at": None, "delay_seconds": seconds})
    return schedule


def _timeout_seconds(spec: ScheduleInput) -> int | None:
    if spec.timeout is None:
        return None
    try:
        timeout = parse_duration(spec.timeout, field="timeout")
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise _bad(f"timeout must be between 1s and 24h, got {spec.timeout!r}")
    return int(timeout.total_seconds())


def _parse_schedule_fields(
    spec: ScheduleInput, default_timezone: str
) -> tuple[ZoneInfo, datetime | None, datetime | None, timedelta | None, timedelta | None, str | None]:
    """Each schedule field read on its own: timezone, run_at, end_at, delay, every, cron."""
    try:
        tz = zone(spec.timezone or default_timezone)
        run_at = parse_datetime(spec.run_at, tz, field="run_at") if spec.run_at else None
        end_at = parse_datetime(spec.end_at, tz, field="end_at") if spec.end_at else None
        delay = parse_duration(spec.delay, field="delay") if spec.delay is not None else None
        every = parse_duration(spec.every, field="every") if spec.every is not None else None
        cron = normalize_cron(spec.cron) if spec.cron is not None else None
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    return tz, run_at, end_at, delay, every, cron


def _check_shape(job_type: JobType, cron: str | None, every: timedelta | None) -> None:
    """Each job type fires one way; say which fields it takes when it is given others."""
    if job_type is JobType.ONE_OFF and (cron or every is not None):
        raise _bad("ONE_OFF runs once: give run_at or delay (or neither, to run now), not cron/every")
    if job_type is JobType.SCHEDULED and (not cron or every is not None):
        raise _bad("SCHEDULED needs cron (e.g. '0 9 * * 1' for Mondays at 09:00) and no every")
    if job_type is JobType.RECURRING and (every is None or cron):
        raise _bad("RECURRING needs every (e.g. '6h') and no cron; use SCHEDULED for calendar times")
    if job_type is JobType.ONGOING and (every is None) == (cron is None):
        raise _bad("ONGOING needs exactly one of every (e.g. '1h') or cron (e.g. '0 9 * * *')")
