"""`mcp-server-jobs jobs ...` and `inbox`: see and steer the jobs from a terminal, by the same rules as the tools."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from mcp_server_jobs.clock import SystemClock
from mcp_server_jobs.config import Settings
from mcp_server_jobs.errors import JobsError
from mcp_server_jobs.models import JobStatus, JobType, RunOutcome
from mcp_server_jobs.server.cli_flags import INBOX, INBOX_HELP, RUN, STORE, settings_flags
from mcp_server_jobs.server.requests import JobUpdateRequest
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.server.views import job_view, message_view, run_view, totals_text
from mcp_server_jobs.store import JobFilter
from mcp_server_jobs.store.factory import open_store
from mcp_server_jobs.times import zone

NOT_FOUND = 1  # exit code: the id or the change was refused, or the run failed
BAD_SETUP = 2  # exit code: no database, bad settings, no usable backend


class RunFailed(JobsError):
    """`jobs run` ran the job and the run failed: its report is still printed."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("the run failed")
        self.lines = lines


class NoBackend(JobsError):
    """`jobs run` has no backend that can take the run."""


def add_parsers(commands: Any) -> None:
    """The `jobs` and `inbox` subcommands."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parents = [settings_flags(*STORE), output]
    job_id = {"metavar": "ID", "help": "the job's id (job_...)"}
    jobs = commands.add_parser("jobs", help="list, show, pause, resume, cancel or run jobs")
    actions = jobs.add_subparsers(dest="jobs_command", required=True)
    listing = actions.add_parser("list", parents=parents, help="the user's jobs, newest first")
    listing.add_argument("--status", action="append", choices=[s.value for s in JobStatus],
                         help="only jobs in this status (repeatable)")  # fmt: skip
    listing.add_argument("--type", action="append", choices=[t.value for t in JobType], dest="job_type",
                         help="only jobs of this type (repeatable)")  # fmt: skip
    listing.add_argument("--limit", type=_count, default=50, help="at most this many jobs (default 50)")
    show = actions.add_parser("show", parents=parents, help="one job with its latest runs")
    show.add_argument("job_id", **job_id)
    show.add_argument("--runs", type=_count, default=5, help="how many of the latest runs to show (default 5)")
    for name, text in (("pause", "stop scheduling it"), ("resume", "schedule it again"), ("cancel", "end it")):
        actions.add_parser(name, parents=parents, help=text).add_argument("job_id", **job_id)
    actions.add_parser(
        "run",
        parents=[settings_flags(*RUN), output],
        help="run it once now, here, and print the context sent and the result",
        description="Run the job once now in this process with the configured backends (as job_run_now does), "
        "print the context the agent got and the run's result. Exit 1 if the run failed.",
    ).add_argument("job_id", **job_id)
    inbox = commands.add_parser(
        "inbox", parents=[settings_flags(*INBOX, helps=INBOX_HELP), output], help="unread reports from the jobs"
    )
    inbox.add_argument("--all", action="store_true", help="read ones too")
    inbox.add_argument("--mark-read", action="store_true", help="then mark every unread message read")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out a `jobs` or `inbox` command; returns the exit code."""
    if isinstance(settings.db, Path) and not settings.db.exists():
        print(f"mcp-server-jobs: no database at {settings.db}; `serve` creates it (or pass --db)", file=sys.stderr)
        return BAD_SETUP
    command = _inbox if args.command_name == "inbox" else _JOBS[args.jobs_command]
    try:
        lines = anyio.run(_with_service, settings, lambda service: command(service, settings, args))
    except RunFailed as failed:
        print("\n".join(failed.lines))
        return NOT_FOUND
    except NoBackend as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return BAD_SETUP
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return NOT_FOUND
    print("\n".join(lines))
    return 0


async def _with_service(settings: Settings, work: Callable[[JobService], Awaitable[list[str]]]) -> list[str]:
    async with open_service(settings) as service:
        return await work(service)


@asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[JobService]:
    """The jobs of `settings.db` without a scheduler: a running server sees changes on its next sweep."""
    async with open_store(settings.db) as store:
        yield JobService(store, SystemClock(), default_timezone=settings.timezone, max_live_jobs=settings.max_live_jobs)


async def _list(service: JobService, settings: Settings, args: argparse.Namespace) -> list[str]:
    where = JobFilter(
        statuses=[JobStatus(s) for s in args.status or ()], job_types=[JobType(t) for t in args.job_type or ()]
    )
    jobs = await service.store.list_jobs(settings.user, where, args.limit)
    if args.json:
        return [json.dumps([job_view(j).model_dump(mode="json") for j in jobs], indent=2)]
    rows = [(j.id, j.status.value, j.job_type.value, job_view(j).next_run_at or "-", j.title) for j in jobs]
    return _table(("ID", "STATUS", "TYPE", "NEXT RUN", "TITLE"), rows) if rows else ["no jobs"]


async def _show(service: JobService, settings: Settings, args: argparse.Namespace) -> list[str]:
    job, runs, totals = await service.get(settings.user, args.job_id, args.runs)
    view = job_view(job)
    run_views = [run_view(r, job.schedule.tz) for r in runs]
    if args.json:
        runs_json = [r.model_dump(mode="json") for r in run_views]
        return [json.dumps({**view.model_dump(mode="json"), "runs": runs_json, "run_totals": totals})]
    lines = [
        f"{job.title}  ({job.id})",
        f"  status    {job.status.value}" + (f" — {job.status_reason}" if job.status_reason else ""),
        f"  type      {job.job_type.value}, {view.schedule_text}",
        f"  next runs {', '.join(view.next_runs) or '-'}",
        f"  runs      {totals_text(totals)}",
        "",
        *(f"  {line}" for line in job.description.splitlines()),
    ]
    if run_views:
        rows = [(r.started_at or "-", r.outcome.value, r.summary or r.error or "") for r in run_views]
        lines += ["", *_table(("STARTED", "OUTCOME", "SUMMARY"), rows)]
    return lines


def _changer(change: Callable[[JobService, str, str], Awaitable[Any]]) -> Callable[..., Awaitable[list[str]]]:
    async def command(service: JobService, settings: Settings, args: argparse.Namespace) -> list[str]:
        job = await change(service, settings.user, args.job_id)
        if args.json:
            return [json.dumps(job_view(job).model_dump(mode="json"))]
        return [f"{job.id} is {job.status.value}" + (f" ({job.status_reason})" if job.status_reason else "")]

    return command


async def _resume(service: JobService, user: str, job_id: str) -> Any:
    return await service.update(user, JobUpdateRequest(job_id=job_id, status="ACTIVE"))


async def _run(service: JobService, settings: Settings, args: argparse.Namespace) -> list[str]:
    # Imported here: the server app and backends (pydantic-ai with a model) load slowly; other commands skip them.
    from mcp_server_jobs.scheduler.engine import Scheduler
    from mcp_server_jobs.server.app import backends_for, policy, redactor_for

    contexts: list[str] = []
    scheduler = Scheduler(
        service.store, service.clock, backends_for(settings), policy(settings),
        webhook=settings.webhook, on_context=lambda _job, context: contexts.append(context),
        redactor=redactor_for(settings),
    )  # fmt: skip
    problem = scheduler.backend_problem()
    if problem is not None:
        raise NoBackend(f"nothing can run the job here: {problem}. See `mcp-server-jobs doctor`.")
    _, ran = await scheduler.run_here(settings.user, args.job_id)
    job = await service.store.get_job(settings.user, args.job_id)
    view = run_view(ran, job.schedule.tz)
    context = contexts[0] if contexts else None
    if args.json:
        lines = [json.dumps({"context": context, "run": view.model_dump(mode="json"),
                             "job": job_view(job).model_dump(mode="json")})]  # fmt: skip
    else:
        lines = [
            *(["--- context sent ---", context, ""] if context is not None else []),
            f"--- run {ran.id}: {ran.outcome.value}" + (f" (backend {ran.backend})" if ran.backend else "") + " ---",
            *([f"summary: {ran.summary}"] if ran.summary else []),
            *([f"error: {ran.error}"] if ran.error else []),
            # dry-run's output is the context itself: once is enough.
            *(["output:", ran.output] if ran.output and ran.output != context else []),
            "",
            f"{job.id} is {job.status.value}" + (f" ({job.status_reason})" if job.status_reason else ""),
        ]
    if ran.outcome not in (RunOutcome.SUCCEEDED, RunOutcome.PREVIEW):
        raise RunFailed(lines)
    return lines


_JOBS: dict[str, Callable[..., Awaitable[list[str]]]] = {
    "list": _list,
    "show": _show,
    "pause": _changer(lambda service, user, job_id: service.pause(user, job_id, "paused from the command line")),
    "resume": _changer(_resume),
    "cancel": _changer(lambda service, user, job_id: service.cancel(user, job_id, "cancelled from the command line")),
    "run": _run,
}


async def _inbox(service: JobService, settings: Settings, args: argparse.Namespace) -> list[str]:
    messages, unread = await service.inbox(settings.user, not args.all, 100)
    if args.mark_read and unread:
        await service.mark_read(settings.user, None, True)
    tz = zone(settings.timezone)
    views = [message_view(m, tz) for m in messages]
    if args.json:
        return [json.dumps({"messages": [v.model_dump(mode="json") for v in views], "unread_count": unread})]
    if not views:
        return ["no unread messages" if not args.all else "the inbox is empty"]
    lines = []
    for view in views:
        flag = "" if view.read_at else "● "
        lines += [f"{flag}{view.created_at}  {view.title}  ({view.job_id or '-'})", *view.body.splitlines(), ""]
    if args.mark_read and unread:
        lines.append(f"marked {unread} read")
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in (header, *rows)]  # fmt: skip


def _count(text: str) -> int:
    """A --limit or --runs value: a whole number from 0 to 1000."""
    if not text.isdigit() or int(text) > 1000:
        raise argparse.ArgumentTypeError(f"{text!r}: use a whole number from 0 to 1000")
    return int(text)
