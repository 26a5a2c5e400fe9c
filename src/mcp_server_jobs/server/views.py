"""What the tools return: jobs, runs and messages as a client's model reads them (times in the job's zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from mcp_server_jobs.models import (
    DeliveryState,
    Entity,
    InboxMessage,
    Job,
    JobStatus,
    JobType,
    Notify,
    Run,
    RunLimits,
    RunOutcome,
)
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.times import format_local, seconds_text

OUTPUT_PREVIEW_CHARS = 4_000
HIT_DESCRIPTION_CHARS = 300


class ScheduleView(BaseModel):
    """The normalised schedule; times are ISO 8601 with the offset of the job's timezone."""

    run_at: str | None = Field(description="ONE_OFF: when it runs; interval jobs: the first run; cron: not before.")
    cron: str | None
    every: str | None = Field(description="Interval between runs, e.g. '2h'.")
    timezone: str
    end_at: str | None
    max_runs: int | None
    timeout: str | None = Field(description="A run's time limit, if the job sets its own.")
    delay: str | None = Field(default=None, description="With depends_on: the start, this long after they complete.")


class JobView(BaseModel):
    """A job as shown to a client."""

    id: str
    title: str
    description: str
    job_type: JobType
    status: JobStatus
    status_reason: str | None
    schedule: ScheduleView
    schedule_text: str = Field(description="The schedule in one sentence, to confirm with the user.")
    next_run_at: str | None = Field(description="The next run, ISO 8601 in the job's timezone; null if none.")
    next_runs: list[str] = Field(description="The next (up to) 3 run times.")
    end_condition: str | None
    depends_on: list[str]
    related_entities: list[Entity]
    notify: Notify
    metadata: dict[str, Any]
    limits: RunLimits
    dedup_key: str | None
    run_count: int
    consecutive_failures: int
    run_requested_at: str | None = Field(
        description="A run by hand asked of the process that runs jobs and not started yet (job_run_now)."
    )
    last_run_at: str | None
    created_at: str
    updated_at: str


class SimilarJob(BaseModel):
    """A live job that says nearly the same as the one just created."""

    id: str
    title: str
    status: JobStatus
    similarity: float = Field(description="Cosine similarity of the two jobs' texts (1 = same meaning).")


class JobCreated(JobView):
    """job_create's answer."""

    is_existing: bool = Field(description="True when dedup_key matched a live job, which is returned unchanged.")
    warnings: list[str] = Field(description="Things the user should know about this job (not errors).")
    similar_jobs: list[SimilarJob] = Field(
        description="The user's live jobs that look like copies of this one; ask before keeping both."
    )


class RunStarted(JobView):
    """job_run_now's answer: the job and the run that started, or to whom the run was handed."""

    run_id: str | None = Field(
        description="The run's id once started; job_retrieval_by_id lists it with its outcome once it ends."
    )
    started: Literal["now", "handed over", "preview", "no runner"] = Field(
        description="now: running in this server; handed over: the server process that runs jobs starts it "
        "within seconds; preview: a dry run recorded the context, the job is unchanged; no runner: no process "
        "runs jobs on this database, so it starts when one does."
    )
    note: str = Field(description="What happens next, in a sentence.")


class RunView(BaseModel):
    """One run in a job's history."""

    id: str
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    lateness_seconds: float | None = Field(description="How long after its scheduled time the run started.")
    attempt: int
    outcome: RunOutcome
    summary: str | None
    output: str | None = Field(description=f"The run's output (first {OUTPUT_PREVIEW_CHARS} characters).")
    error: str | None
    backend: str | None
    usage: dict[str, Any] | None = Field(description="Tokens, requests and tool calls the run used.")
    verdict: dict[str, Any] | None = Field(description="The agent's structured verdict, as the scheduler read it.")
    note: str | None = Field(description="What the run stood for beyond its occurrence, e.g. occurrences it covered.")
    delivery_error: str | None = Field(description="Why the run's message could not be delivered, if it could not.")
    agent_pid: int | None = Field(default=None, description="The process id of the agent a command backend started.")


class JobDetail(JobView):
    """A job with its latest runs, newest first."""

    runs: list[RunView]
    run_totals: dict[RunOutcome, int] = Field(
        description="Every run the job has had, by outcome: runs by hand and previews included (run_count "
        "counts the scheduled runs that max_runs limits)."
    )


class JobHit(BaseModel):
    """A search result: enough to recognise the job; job_retrieval_by_id gives the rest."""

    id: str
    title: str
    description: str = Field(description=f"The first {HIT_DESCRIPTION_CHARS} characters of the description.")
    job_type: JobType
    status: JobStatus
    schedule_text: str = Field(description="The schedule in one sentence.")
    next_run_at: str | None = Field(description="The next run, ISO 8601 in the job's timezone; null if none.")
    last_run_at: str | None
    score: float = Field(description="Relevance; higher is better (comparable within one answer).")
    matched: Literal["words", "meaning", "both"] = Field(description="How the job matched the query.")
    snippet: str | None = Field(description="The matching passage, matched words in **bold**.")
    similarity: float | None = Field(
        default=None, description="Cosine similarity of job and query when it matched by meaning (1 = same)."
    )


class SearchResults(BaseModel):
    """Jobs found by a search, best first."""

    mode: Literal["lexical", "semantic", "hybrid"] = Field(description="Which kind of search answered.")
    results: list[JobHit]
    warnings: list[str] = Field(default_factory=list)


class MessageView(BaseModel):
    """An inbox message."""

    id: str
    job_id: str | None
    run_id: str | None
    title: str
    body: str
    created_at: str
    read_at: str | None
    delivery: DeliveryState | None = Field(
        description="The webhook delivery of this message: delivered, pending (retried with backoff) or failed; "
        "null without a webhook."
    )
    delivery_error: str | None = Field(description="The last webhook error, while pending or once failed.")


class InboxView(BaseModel):
    """Inbox messages, newest first."""

    results: list[MessageView]
    unread_count: int


class MarkedRead(BaseModel):
    """inbox_mark_read's answer."""

    marked: int = Field(description="How many messages changed from unread to read.")
    unread_count: int


def local_time(when: datetime | None, tz: ZoneInfo) -> str | None:
    """`when` as ISO 8601 in `tz` (see times.format_local), or None."""
    return None if when is None else format_local(when, tz)


def lateness_seconds(run: Run) -> float | None:
    """How long after its scheduled time the run started, to the millisecond (None if either is unknown)."""
    if run.started_at and run.scheduled_for:
        return round((run.started_at - run.scheduled_for).total_seconds(), 3)
    return None


def schedule_view(schedule: Schedule) -> ScheduleView:
    """The schedule with its instants in its own timezone."""
    tz = schedule.tz
    return ScheduleView(
        run_at=local_time(schedule.run_at, tz),
        cron=schedule.cron,
        every=seconds_text(schedule.every_seconds),
        timezone=schedule.timezone,
        end_at=local_time(schedule.end_at, tz),
        max_runs=schedule.max_runs,
        timeout=seconds_text(schedule.timeout_seconds),
        delay=seconds_text(schedule.delay_seconds),
    )


def job_fields(job: Job) -> dict[str, Any]:
    """The JobView fields of `job`, for JobView and its subclasses."""
    tz = job.schedule.tz
    upcoming = job.schedule.upcoming(job.next_run_at, 3, job.run_count)
    return {
        "id": job.id,
        "title": job.title,
        "description": job.description,
        "job_type": job.job_type,
        "status": job.status,
        "status_reason": job.status_reason,
        "schedule": schedule_view(job.schedule),
        "schedule_text": job.schedule.describe(),
        "next_run_at": local_time(job.next_run_at, tz),
        "next_runs": [format_local(t, tz) for t in upcoming],
        "end_condition": job.end_condition,
        "depends_on": job.depends_on,
        "related_entities": job.related_entities,
        "notify": job.notify,
        "metadata": job.metadata,
        "limits": job.limits,
        "dedup_key": job.dedup_key,
        "run_count": job.run_count,
        "run_requested_at": local_time(job.run_requested_at, tz),
        "consecutive_failures": job.consecutive_failures,
        "last_run_at": local_time(job.last_run_at, tz),
        "created_at": format_local(job.created_at, tz),
        "updated_at": format_local(job.updated_at, tz),
    }


def hit_view(
    job: Job,
    score: float,
    matched: Literal["words", "meaning", "both"],
    snippet: str | None,
    similarity: float | None = None,
) -> JobHit:
    """A search result for `job`."""
    tz = job.schedule.tz
    description = job.description
    if len(description) > HIT_DESCRIPTION_CHARS:
        description = description[: HIT_DESCRIPTION_CHARS - 1] + "…"
    return JobHit(
        id=job.id,
        title=job.title,
        description=description,
        job_type=job.job_type,
        status=job.status,
        schedule_text=job.schedule.describe(),
        next_run_at=local_time(job.next_run_at, tz),
        last_run_at=local_time(job.last_run_at, tz),
        score=score,
        matched=matched,
        snippet=snippet,
        similarity=similarity,
    )


def job_view(job: Job) -> JobView:
    """A job as a client sees it."""
    return JobView(**job_fields(job))


def run_view(run: Run, tz: ZoneInfo) -> RunView:
    """A run with its times in the job's zone."""
    output = run.output[:OUTPUT_PREVIEW_CHARS] if run.output else run.output
    return RunView(
        id=run.id,
        scheduled_for=local_time(run.scheduled_for, tz),
        started_at=local_time(run.started_at, tz),
        finished_at=local_time(run.finished_at, tz),
        lateness_seconds=lateness_seconds(run),
        attempt=run.attempt,
        outcome=run.outcome,
        summary=run.summary,
        output=output,
        error=run.error,
        backend=run.backend,
        usage=run.usage,
        verdict=run.verdict,
        note=run.note,
        delivery_error=run.delivery_error,
        agent_pid=run.agent_pid,
    )


def message_view(message: InboxMessage, tz: ZoneInfo) -> MessageView:
    """An inbox message with times in the server's zone."""
    return MessageView(
        id=message.id,
        job_id=message.job_id,
        run_id=message.run_id,
        title=message.title,
        body=message.body,
        created_at=format_local(message.created_at, tz),
        read_at=local_time(message.read_at, tz),
        delivery=message.delivery,
        delivery_error=message.delivery_error,
    )


def totals_text(totals: dict[RunOutcome, int]) -> str:
    """'2 succeeded, 1 failed' in outcome order, or 'none yet'."""
    parts = [f"{totals[outcome]} {outcome.value}" for outcome in RunOutcome if totals.get(outcome)]
    return ", ".join(parts) or "none yet"
