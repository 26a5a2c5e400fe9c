"""Domain models shared by server, scheduler and store: jobs, runs, inbox messages.

Field types carry their bounds and descriptions, so a tool's input schema and the model that
validates stored data are built from the same declarations.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_server_jobs.schedule import Schedule


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


# An ONGOING job whose schedule gives no end stops after this long or this many runs.
ONGOING_DEFAULT_SPAN = timedelta(days=30)
ONGOING_DEFAULT_MAX_RUNS = 100


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
