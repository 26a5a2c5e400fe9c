"""Domain models shared by server, scheduler and store: jobs, runs, inbox messages.

Field types carry their bounds and descriptions, so a tool's input schema and the model that
validates stored data are built from the same declarations.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from mcp_server_jobs.cron import normalize_cron
from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.schedule_text import read_schedule_text
from mcp_server_jobs.times import parse_datetime, parse_duration, zone


class JobType(StrEnum):
    """How a job is scheduled."""

    ONE_OFF = "ONE_OFF"
    SCHEDULED = "SCHEDULED"
    RECURRING = "RECURRING"
    ONGOING = "ONGOING"


class JobStatus(StrEnum):
    """Where a job is in its lifecycle (design §3)."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    IN_PROGRESS = "IN_PROGRESS"
    PAUSED = "PAUSED"
    BLOCKED = "BLOCKED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    ARCHIVED = "ARCHIVED"


class Notify(StrEnum):
    """When a run's result goes to the inbox."""

    AUTO = "auto"
    ALWAYS = "always"
    ON_COMPLETION = "on_completion"
    NEVER = "never"


class RunOutcome(StrEnum):
    """How one run ended."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    MISSED = "missed"
    SKIPPED = "skipped"
    # A dry run: the context an agent would get, recorded without touching the job.
    PREVIEW = "preview"


class DeliveryState(StrEnum):
    """Where a message's webhook delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    """A short random id such as 'job_7f3k2m9q1x' (50 bits: no collision in any one database)."""
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


# --- bounded field types ----------------------------------------------------------------------

MAX_METADATA_BYTES = 8192
ONGOING_DEFAULT_SPAN = timedelta(days=30)
ONGOING_DEFAULT_MAX_RUNS = 100
MIN_EVERY = timedelta(seconds=1)
MAX_EVERY = timedelta(days=366)
MAX_DELAY = timedelta(days=5 * 366)
MIN_TIMEOUT = timedelta(seconds=1)
MAX_TIMEOUT = timedelta(hours=24)
SCHEDULE_TEXT_MAX = 200
# Example dates in descriptions are next year's, so they never read as past.
EXAMPLE_DAY = f"{date.today().year + 1}-01-15"
# A run_at this far in the past is taken as "now" (clock skew between the client and this server).
PAST_TOLERANCE = timedelta(seconds=60)


def _metadata_size(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), default=str))
    if size > MAX_METADATA_BYTES:
        raise ValueError(
            f"metadata is {size} bytes as JSON; keep it under {MAX_METADATA_BYTES} bytes "
            "(put long text in the description)"
        )
    return value


JobId = Annotated[str, Field(min_length=1, max_length=64, description="A job id, as job_create returned it.")]
Title = Annotated[
    str,
    Field(min_length=1, max_length=200, description="Short name, shown in lists and the inbox."),
]
Description = Annotated[
    str,
    Field(
        min_length=1,
        max_length=10_000,
        description="The agent's full instructions for each run, in plain words.",
    ),
]
EndCondition = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2_000,
        description="ONGOING only (required there): what must hold to end the job, judged after each run, "
        "e.g. 'the price is below $20'.",
    ),
]
DedupKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Creating again with the same key returns the live job, not a copy.",
    ),
]
Metadata = Annotated[
    dict[str, Any],
    Field(description=f"Any JSON object, returned as given (at most {MAX_METADATA_BYTES} bytes)."),
    AfterValidator(_metadata_size),
]
DependsOn = Annotated[
    list[JobId],
    Field(max_length=20, description="Ids of jobs that must COMPLETE first; their outputs go to this job's runs."),
]
Reason = Annotated[str, Field(max_length=500, description="Why, in a few words; shown as the status reason.")]


class Entity(BaseModel):
    """A person, company, page or thing the job is about."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Its name.")
    kind: str | None = Field(default=None, max_length=50, description="person, company, url, product...")
    details: str | None = Field(default=None, max_length=2_000, description="Anything useful.")


class RunLimits(BaseModel):
    """A budget for each run of the job; a run that would exceed it stops and fails (not retried)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(default=None, ge=100, le=10_000_000, description="Input + output tokens per run.")
    max_tool_calls: int | None = Field(default=None, ge=0, le=10_000, description="Tool calls per run.")
    max_requests: int | None = Field(default=None, ge=1, le=1_000, description="Model requests per run (default 50).")


Entities = Annotated[
    list[Entity], Field(max_length=50, description="People, companies, pages the job is about: names or objects.")
]

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
        default=None, ge=1, le=100_000, description="At most this many runs. ONGOING default: 100."
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


# --- stored records ---------------------------------------------------------------------------


class NewJob(BaseModel):
    """What the store needs to insert a job; ids and timestamps come from the caller."""

    id: str
    user_id: str
    title: str
    description: str
    job_type: JobType
    schedule: Schedule
    end_condition: str | None
    depends_on: list[str]
    related_entities: list[Entity]
    notify: Notify
    metadata: dict[str, Any]
    dedup_key: str | None
    status: JobStatus
    status_reason: str | None
    next_run_at: datetime | None
    created_at: datetime
    limits: RunLimits = Field(default_factory=RunLimits)


class Job(NewJob):
    """A job as stored: what was created plus the scheduler's bookkeeping."""

    last_run_at: datetime | None = None
    run_count: int = 0
    consecutive_failures: int = 0
    pause_requested: bool = False
    occurrence_at: datetime | None = Field(default=None, description="The scheduled time being attempted.")
    attempt: int = Field(default=0, description="Attempts made at occurrence_at so far (0: none yet).")
    version: int = Field(default=0, description="Bumped on every write; guards read-modify-write.")
    updated_at: datetime
    run_requested_at: datetime | None = Field(
        default=None, description="When a run by hand was asked of the process that runs jobs (not started yet)."
    )


TEXT_FIELDS = frozenset({"title", "description", "end_condition", "related_entities"})
"""The fields a job's search text (and its embedding) is made of."""


def search_text(job: NewJob) -> str:
    """What a job is about, as one passage: title first, so truncation keeps what matters most."""
    parts = [job.title + ".", job.description]
    if job.end_condition:
        parts.append(f"Until: {job.end_condition}.")
    entities = [e.name + (f" ({e.details})" if e.details else "") for e in job.related_entities]
    if entities:
        parts.append("About: " + "; ".join(entities) + ".")
    return " ".join(parts)


class JobChanges(BaseModel):
    """Fields to change on a job; only the fields explicitly set are written."""

    title: str | None = None
    description: str | None = None
    schedule: Schedule | None = None
    end_condition: str | None = None
    depends_on: list[str] | None = None
    related_entities: list[Entity] | None = None
    notify: Notify | None = None
    metadata: dict[str, Any] | None = None
    limits: RunLimits | None = None
    status: JobStatus | None = None
    status_reason: str | None = None
    next_run_at: datetime | None = None
    pause_requested: bool | None = None
    consecutive_failures: int | None = None
    occurrence_at: datetime | None = None
    attempt: int | None = None
    run_count: int | None = None
    last_run_at: datetime | None = None
    run_requested_at: datetime | None = None


class RunTrigger(StrEnum):
    """Why a run started."""

    SCHEDULE = "schedule"
    MANUAL = "manual"


class Run(BaseModel):
    """One execution of a job."""

    id: str
    job_id: str
    trigger: RunTrigger = RunTrigger.SCHEDULE
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    attempt: int
    outcome: RunOutcome
    output: str | None = None
    summary: str | None = None
    verdict: dict[str, Any] | None = None
    error: str | None = None
    backend: str | None = None
    usage: dict[str, Any] | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    delivery_error: str | None = None
    # What the run stood for beyond its own occurrence (e.g. the occurrences it covered after downtime).
    note: str | None = None
    agent_pid: int | None = None


class InboxMessage(BaseModel):
    """A message for a user, usually a job's report."""

    id: str
    user_id: str
    job_id: str | None
    run_id: str | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None = None
    # The webhook delivery of this message, when a webhook is set (read from the outbox).
    delivery: DeliveryState | None = None
    delivery_error: str | None = None


class Delivery(BaseModel):
    """One message waiting in (or gone through) the webhook outbox."""

    message_id: str
    user_id: str
    job_id: str | None
    run_id: str | None
    url: str
    payload: dict[str, Any]
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime
