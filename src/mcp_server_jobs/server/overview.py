"""The jobs page's data: every job the user sees with its next runs and latest runs, and the inbox.

One answer feeds the MCP App (`ui://jobs/overview`), the browser page at /ui, and, as JSON text, any client
that shows no UI. Runs carry what a person scans for: outcome, lateness, duration, tokens and tool calls.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from mcp_server_jobs.lifecycle import LIVE
from mcp_server_jobs.models import Job, JobStatus, JobType, Run, RunOutcome
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.server.views import MessageView, lateness_seconds, local_time, message_view
from mcp_server_jobs.store import JobFilter
from mcp_server_jobs.times import format_local

_TEXT_CHARS = 300  # of a run's summary or error: job_retrieval_by_id has the rest
_LINE_CHARS = 120  # of a summary or a message in the text answer


class OverviewRun(BaseModel):
    """A run as the page lists it."""

    id: str
    outcome: RunOutcome
    trigger: str
    scheduled_for: str | None
    started_at: str | None
    lateness_seconds: float | None = Field(description="How long after its scheduled time the run started.")
    duration_seconds: float | None
    tokens: int | None = Field(description="Input and output tokens the agent used, if its backend counts them.")
    tool_calls: int | None
    summary: str | None = Field(description=f"The run's summary or error (first {_TEXT_CHARS} characters).")


class OverviewJob(BaseModel):
    """A job with its next runs and its latest runs, newest first."""

    id: str
    title: str
    job_type: JobType
    status: JobStatus
    status_reason: str | None
    schedule_text: str
    timezone: str
    next_runs: list[str] = Field(description="The next (up to) 3 run times, ISO 8601 in the job's timezone.")
    runs: list[OverviewRun]


class Overview(BaseModel):
    """The user's jobs page: jobs (live first, then ended, newest first), the inbox, and when it was read."""

    now: str
    jobs: list[OverviewJob]
    inbox: list[MessageView] = Field(description="The latest messages, newest first, read and unread.")
    unread_count: int

    def as_text(self) -> str:
        """The page in a few lines, for the model and for clients that show no UI (the whole is structured)."""
        live = sum(job.status in LIVE for job in self.jobs)
        lines = [f"{len(self.jobs)} jobs ({live} live); {self.unread_count} unread of the {len(self.inbox)} "
                 "latest messages. Clients with MCP Apps show this as the jobs page."]  # fmt: skip
        for job in self.jobs:
            line = f"- {job.title} ({job.id}) {job.status}, {job.schedule_text}"
            if job.next_runs:
                line += f"; next {job.next_runs[0]}"
            if job.runs:
                last = job.runs[0]
                line += f"; last run {last.outcome}" + (f": {last.summary[:_LINE_CHARS]}" if last.summary else "")
            lines.append(line)
        if self.inbox:
            lines.append("Inbox, newest first:")
        for message in self.inbox:
            state = "read" if message.read_at else "unread"
            lines.append(f"- [{state}] {message.title} ({message.created_at}): {message.body[:_LINE_CHARS]}")
        return "\n".join(lines)


def _number(usage: dict[str, Any] | None, *keys: str) -> int | None:
    values = [usage.get(key) for key in keys] if usage else []
    numbers = [value for value in values if isinstance(value, int)]
    return sum(numbers) if numbers else None


def _run(run: Run, tz: ZoneInfo) -> OverviewRun:
    duration = None
    if run.started_at and run.finished_at:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    text = run.error if run.outcome is RunOutcome.FAILED and run.error else run.summary
    return OverviewRun(
        id=run.id,
        outcome=run.outcome,
        trigger=run.trigger.value,
        scheduled_for=local_time(run.scheduled_for, tz),
        started_at=local_time(run.started_at, tz),
        lateness_seconds=lateness_seconds(run),
        duration_seconds=duration,
        tokens=_number(run.usage, "input_tokens", "output_tokens"),
        tool_calls=_number(run.usage, "tool_calls"),
        summary=text[:_TEXT_CHARS] if text else None,
    )


def _job(job: Job, runs: list[Run]) -> OverviewJob:
    tz = job.schedule.tz
    upcoming = job.schedule.upcoming(job.next_run_at, 3, job.run_count)
    return OverviewJob(
        id=job.id,
        title=job.title,
        job_type=job.job_type,
        status=job.status,
        status_reason=job.status_reason,
        schedule_text=job.schedule.describe(),
        timezone=job.schedule.timezone,
        next_runs=[format_local(when, tz) for when in upcoming],
        runs=[_run(run, tz) for run in runs],
    )


async def overview(service: JobService, user_id: str, tz: ZoneInfo, *, jobs: int, runs: int, messages: int) -> Overview:
    """The page's data for `user_id`: up to `jobs` jobs with `runs` runs each, and `messages` messages."""
    now = service.clock.now()
    # Live jobs first, then the ended ones in what room is left: many finished jobs never hide a live one.
    found = await service.store.list_jobs(user_id, JobFilter(statuses=sorted(LIVE)), jobs)
    if len(found) < jobs:
        ended = JobFilter(statuses=sorted(set(JobStatus) - LIVE - {JobStatus.ARCHIVED}))
        found += await service.store.list_jobs(user_id, ended, jobs - len(found))
    listed = [_job(job, await service.store.list_runs(job.id, runs)) for job in found]
    inbox, unread = await service.inbox(user_id, False, messages)
    return Overview(
        now=format_local(now, tz), jobs=listed, inbox=[message_view(m, tz) for m in inbox], unread_count=unread
    )
