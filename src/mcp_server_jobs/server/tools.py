"""The MCP face of the jobs: tools and resources, each a thin call into `JobService`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp_types import ToolAnnotations
from pydantic import ValidationError

from mcp_server_jobs.config import Settings
from mcp_server_jobs.errors import JobNotFound, JobsError
from mcp_server_jobs.models import RunOutcome
from mcp_server_jobs.scheduler.engine import RunStart, Scheduler
from mcp_server_jobs.server.overview import Overview, overview
from mcp_server_jobs.server.page import OVERVIEW_URI
from mcp_server_jobs.server.requests import (
    InboxListRequest,
    InboxMarkReadRequest,
    JobCreateRequest,
    JobGetRequest,
    JobRunNowRequest,
    JobStatusRequest,
    JobUpdateRequest,
    KeywordSearchRequest,
    OverviewRequest,
    SemanticSearchRequest,
)
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.server.tooling import RefuseUnknownArguments, add_model_tool
from mcp_server_jobs.server.views import (
    InboxView,
    JobCreated,
    JobDetail,
    JobHit,
    JobView,
    MarkedRead,
    RunStarted,
    SearchResults,
    SimilarJob,
    hit_view,
    job_fields,
    job_view,
    message_view,
    run_view,
)
from mcp_server_jobs.store import JobFilter, KeywordHit
from mcp_server_jobs.times import zone


@dataclass
class AppState:
    """What every request can reach: settings, the job service, the scheduler."""

    settings: Settings
    service: JobService
    scheduler: Scheduler


def state(ctx: Context) -> AppState:
    """The running server's state."""
    return cast(AppState, ctx.request_context.lifespan_context)


def current_user(ctx: Context) -> str:
    """Who is calling: the user of the request's bearer token over HTTP, else the configured user."""
    token = get_access_token()
    return token.client_id if token is not None else state(ctx).settings.user


def _filter(statuses: Any, job_types: Any) -> JobFilter:
    return JobFilter(statuses=tuple(statuses or ()), job_types=tuple(job_types or ()))


def _hits(hits: list[KeywordHit]) -> list[JobHit]:
    return [hit_view(h.job, round(-h.rank, 4), "words", h.snippet) for h in hits]


# --- handlers (each takes the validated request) ----------------------------------------------


async def job_create(ctx: Context, request: JobCreateRequest) -> JobCreated:
    created = await state(ctx).service.create(current_user(ctx), request)
    similar = [
        SimilarJob(id=hit.job.id, title=hit.job.title, status=hit.job.status, similarity=round(hit.similarity, 3))
        for hit in created.similar
    ]
    return JobCreated(
        **job_fields(created.job), is_existing=created.is_existing, warnings=created.warnings, similar_jobs=similar
    )


async def job_retrieval_by_id(ctx: Context, request: JobGetRequest) -> JobDetail:
    job, runs, totals = await state(ctx).service.get(current_user(ctx), request.job_id, request.runs)
    tz = job.schedule.tz
    return JobDetail(**job_fields(job), runs=[run_view(r, tz) for r in runs], run_totals=totals)


async def job_retrieval_by_keywords(ctx: Context, request: KeywordSearchRequest) -> SearchResults:
    hits = await state(ctx).service.search_keywords(
        current_user(ctx), request.keywords, request.match == "all", _filter(request.status, request.job_type),
        request.limit,
    )  # fmt: skip
    return SearchResults(mode="lexical", results=_hits(hits))


async def job_retrieval_semantic(ctx: Context, request: SemanticSearchRequest) -> SearchResults:
    answer = await state(ctx).service.search_meaning(
        current_user(ctx), request.query, _filter(request.status, request.job_type), request.limit
    )
    results = [hit_view(f.job, f.score, f.matched, f.snippet, f.similarity) for f in answer.results]
    return SearchResults(mode=answer.mode, results=results, warnings=answer.warnings)


async def job_update(ctx: Context, request: JobUpdateRequest) -> JobView:
    return job_view(await state(ctx).service.update(current_user(ctx), request))


async def job_pause(ctx: Context, request: JobStatusRequest) -> JobView:
    return job_view(await state(ctx).service.pause(current_user(ctx), request.job_id, request.reason))


async def job_cancel(ctx: Context, request: JobStatusRequest) -> JobView:
    return job_view(await state(ctx).service.cancel(current_user(ctx), request.job_id, request.reason))


async def job_run_now(ctx: Context, request: JobRunNowRequest) -> RunStarted:
    start = await state(ctx).scheduler.start_run(current_user(ctx), request.job_id)
    return _run_started(start)


def _run_started(start: RunStart) -> RunStarted:
    fields = job_fields(start.job)
    if start.run is not None and start.run.outcome is RunOutcome.PREVIEW:
        note = "dry run: the run's output is the context an agent would get; nothing ran and the job is unchanged"
        return RunStarted(**fields, run_id=start.run.id, started="preview", note=note)
    if start.run is not None:
        note = "running now; job_retrieval_by_id shows its outcome once it ends"
        return RunStarted(**fields, run_id=start.run.id, started="now", note=note)
    if start.handed_to:
        where = ", ".join(f"pid {w.pid} on {w.host}" for w in start.handed_to)
        note = f"handed to the process that runs jobs ({where}); it starts within seconds"
        return RunStarted(**fields, run_id=None, started="handed over", note=note)
    note = (
        "no process runs jobs on this database (this server was started with --no-run-jobs); the run starts "
        "when `mcp-server-jobs serve` with jobs on runs, or run it at once with `mcp-server-jobs jobs run ID`"
    )
    return RunStarted(**fields, run_id=None, started="no runner", note=note)


async def inbox_list(ctx: Context, request: InboxListRequest) -> InboxView:
    app = state(ctx)
    messages, unread = await app.service.inbox(current_user(ctx), request.unread_only, request.limit)
    tz = zone(app.settings.timezone)
    return InboxView(results=[message_view(m, tz) for m in messages], unread_count=unread)


async def inbox_mark_read(ctx: Context, request: InboxMarkReadRequest) -> MarkedRead:
    marked, unread = await state(ctx).service.mark_read(current_user(ctx), request.message_ids, request.all)
    return MarkedRead(marked=marked, unread_count=unread)


async def jobs_overview(ctx: Context, request: OverviewRequest) -> Overview:
    app = state(ctx)
    tz = zone(app.settings.timezone)
    return await overview(app.service, current_user(ctx), tz, jobs=50, runs=5, messages=20)


READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
IDEMPOTENT = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)

CREATE_DESCRIPTION = """\
Create a background job that runs while the chat is closed; results land in the user's inbox.
Pick job_type and schedule from the request:
- "research these companies by morning": ONE_OFF, schedule "tomorrow at 7am" (omit it to start now)
- "remind me every Monday about invoices": SCHEDULED, schedule "every monday at 9am" or {"cron": "0 9 * * 1"}
- "check the build every 6 hours": RECURRING, schedule "every 6h"
- "tell me when this page's price changes": ONGOING, schedule "every 1h", end_condition "the price is not $29"
- "send the proposal, follow up in 3 days": two ONE_OFF jobs, the second with depends_on [first id] and
  schedule "in 3 days" (counted from when the first completes)
Confirm schedule_text and next_runs with the user. Pass dedup_key when a call may be repeated. Tell the
user any `warnings`, and ask about `similar_jobs` before keeping both."""

TOOLS: list[tuple[str, Any, Any, ToolAnnotations, str]] = [
    (
        "job_create",
        JobCreateRequest,
        job_create,
        WRITE,
        CREATE_DESCRIPTION,
    ),
    (
        "job_retrieval_semantic",
        SemanticSearchRequest,
        job_retrieval_semantic,
        READ,
        "Find the user's jobs by what they are about, even in none of the job's words "
        "('that thing about chasing unpaid bills'). Each result says whether meaning or words matched.",
    ),
    (
        "job_retrieval_by_id",
        JobGetRequest,
        job_retrieval_by_id,
        READ,
        "Get one job by id with its status, schedule, next runs and latest runs (outcome, output, errors, lateness).",
    ),
    (
        "job_retrieval_by_keywords",
        KeywordSearchRequest,
        job_retrieval_by_keywords,
        READ,
        "Find the user's jobs containing given words (full-text, stemmed). match='all' needs every word. "
        "Results carry a snippet with the matches in bold.",
    ),
    (
        "job_update",
        JobUpdateRequest,
        job_update,
        IDEMPOTENT,
        "Change a job's fields (those given, as in job_create) and/or its status. The next run is recomputed; an "
        "interval keeps its rhythm. To pause or cancel, use job_pause or job_cancel.",
    ),
    (
        "job_pause",
        JobStatusRequest,
        job_pause,
        IDEMPOTENT,
        "Pause a job until job_update sets status ACTIVE; it then goes on from now, with no burst of missed runs.",
    ),
    (
        "job_cancel",
        JobStatusRequest,
        job_cancel,
        DESTRUCTIVE,
        "Cancel a job for good (it cannot be resumed). Jobs that depend on it become BLOCKED.",
    ),
    (
        "job_run_now",
        JobRunNowRequest,
        job_run_now,
        WRITE,
        "Run an ACTIVE or PAUSED job once now, outside its schedule (which stays). Returns at once; "
        "job_retrieval_by_id shows the outcome.",
    ),
    (
        "inbox_list",
        InboxListRequest,
        inbox_list,
        READ,
        "The user's inbox: reports from their jobs, newest first. Check it when a chat starts; tell the user what "
        "arrived.",
    ),
    (
        "inbox_mark_read",
        InboxMarkReadRequest,
        inbox_mark_read,
        IDEMPOTENT,
        "Mark inbox messages read, by id (message_ids) or all at once (all=true), once the user has seen them.",
    ),
]


def register(server: MCPServer[Any]) -> None:
    """Add every tool and resource to `server`."""
    guard = RefuseUnknownArguments()
    for name, request_model, handler, hints, description in TOOLS:
        add_model_tool(
            server, request_model, handler, name=name, description=description, annotations=hints, guard=guard
        )
    # Clients that render MCP Apps show this tool's answer as the jobs page; others read its JSON.
    add_model_tool(
        server, OverviewRequest, jobs_overview, name="jobs_overview", annotations=READ, guard=guard,
        description="Show the user's jobs page: a timeline of next runs, run history, inbox, buttons.",
        meta={"ui": {"resourceUri": OVERVIEW_URI}},
    )  # fmt: skip
    server.middleware.append(guard)

    @server.resource(
        "jobs://{job_id}",
        name="job",
        description="A job with its latest runs, as JSON.",
        mime_type="application/json",
    )
    async def job_resource(job_id: str, ctx: Context) -> str:
        try:
            detail = await job_retrieval_by_id(ctx, JobGetRequest(job_id=job_id))
        except ValidationError as exc:  # no job can have this id (too long)
            raise ResourceNotFoundError(str(JobNotFound(job_id[:80]))) from exc
        except JobNotFound as exc:
            # Not found is -32602 to the client (SEP-2164), not an internal error.
            raise ResourceNotFoundError(str(exc)) from exc
        except JobsError as exc:
            raise ResourceError(str(exc)) from exc
        return detail.model_dump_json(indent=2)

    @server.resource(
        "inbox://{view}",
        name="inbox",
        description="The user's inbox as JSON, newest first: inbox://unread (unread messages) or inbox://all.",
        mime_type="application/json",
    )
    async def inbox_resource(view: str, ctx: Context) -> str:
        if view not in ("unread", "all"):
            raise ResourceNotFoundError(f"unknown inbox view {view!r}; read inbox://unread or inbox://all")
        inbox = await inbox_list(ctx, InboxListRequest(unread_only=view == "unread", limit=200))
        return inbox.model_dump_json(indent=2)
