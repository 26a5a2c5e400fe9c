"""Building the MCP server: instructions for the client's model, the lifespan that opens the store."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any

import anyio
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.shared.subscriptions import ResourceUpdated
from pydantic import AnyHttpUrl

from mcp_server_jobs import __version__
from mcp_server_jobs.clock import Clock, SystemClock
from mcp_server_jobs.config import Settings
from mcp_server_jobs.embeddings import Embeddings
from mcp_server_jobs.models import InboxMessage
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.redact import Redactor, configured_secrets
from mcp_server_jobs.scheduler.backends.base import Backend
from mcp_server_jobs.scheduler.backends.factory import build_backends
from mcp_server_jobs.scheduler.backends.sampling import SamplingBackend
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.server import prompts, tools
from mcp_server_jobs.server.events import UserEventBus
from mcp_server_jobs.server.page import add_browser_page, apps_extension
from mcp_server_jobs.server.retrieval import Retrieval
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.server.tokens import TokenVerifier, token_book
from mcp_server_jobs.server.tooling import OfferSessions
from mcp_server_jobs.store import JobStore
from mcp_server_jobs.store.factory import open_store

log = logging.getLogger("mcp_server_jobs")

INBOX_UNREAD = "inbox://unread"

INSTRUCTIONS = """\
This server runs background jobs for the user: work an agent carries out later, on a schedule, or
repeatedly until something happens, while the chat is closed. Results arrive in the user's inbox.

At the start of a conversation, call inbox_list and tell the user about unread reports.

To turn a request into a job (job_create), choose job_type:
- ONE_OFF: once, now or at a time. "Research these 50 companies and have a report ready by morning"
  → ONE_OFF with schedule.run_at the next morning (or no schedule to start now).
- SCHEDULED: on a calendar (cron, in the user's timezone). "Remind me every Monday about pending
  invoices" → SCHEDULED, schedule {"cron": "0 9 * * 1", "timezone": "<user's IANA zone>"}.
- RECURRING: every fixed interval. "Check the build every 6 hours" → schedule {"every": "6h"}.
- ONGOING: check repeatedly until a condition holds. "Watch this pricing page and tell me when it
  changes" → ONGOING, schedule {"every": "1h"}, end_condition "the price is no longer $29/month";
  it stops by itself after 30 days or 100 checks unless end_at/max_runs say otherwise.
- A sequence: "send the proposal, follow up in 3 days if no reply, then escalate" → one job per
  step, each later step with depends_on the previous one's id (and schedule {"delay": "3d"} for the
  follow-up); each step sees the previous step's output.

Write the description as complete instructions for an agent that has not seen this chat. Put the
people, companies and pages involved in related_entities. Datetimes without an offset are read in
schedule.timezone. Every job returned has schedule_text and next_runs: confirm them with the user.
Use dedup_key if you may send the same job_create twice. To find a job, use
job_retrieval_semantic (by meaning) or job_retrieval_by_keywords (by words), then job_retrieval_by_id.
"""


def policy(settings: Settings) -> Policy:
    """The scheduler's policy from the settings: each setting named like a Policy field sets it."""
    return Policy(**{f.name: getattr(settings, f.name) for f in fields(Policy) if f.name in Settings.model_fields})


def backends_for(settings: Settings) -> list[Backend]:
    """The agent backends the settings name, in order."""
    return build_backends(
        settings.backends,
        command=settings.command,
        model=settings.model,
        agent_servers=settings.agent_servers,
        mcp_agent_server=settings.mcp_agent_server,
        mcp_agent_tool=settings.mcp_agent_tool,
    )


def redactor_for(settings: Settings) -> Redactor:
    """What cuts this process's configured secrets out of what runs record."""
    return Redactor(configured_secrets(os.environ, settings.agent_servers))


def _bearer_auth(settings: Settings) -> dict[str, Any]:
    """The MCPServer arguments that make HTTP answer 401 without a known token; none on stdio or without tokens.

    Tools then read the token's user. The issuer URL is required by AuthSettings but unused here: there
    is no OAuth server and no resource metadata, only tokens from `token add`.
    """
    verifier = TokenVerifier(token_book(settings))
    if settings.transport != "http" or not verifier.has_tokens():
        return {}
    issuer = AnyHttpUrl(f"http://{settings.host}:{settings.port}")
    return {"token_verifier": verifier, "auth": AuthSettings(issuer_url=issuer, resource_server_url=None)}


@asynccontextmanager
async def _serving(
    settings: Settings, clock: Clock, backends: list[Backend], bus: UserEventBus
) -> AsyncIterator[tools.AppState]:
    """The store, scheduler and job service of a running server, with their background tasks."""

    async def announce(message: InboxMessage) -> None:
        await bus.publish_to(message.user_id, ResourceUpdated(uri=INBOX_UNREAD))

    async with open_store(settings.db, clock=clock) as store, anyio.create_task_group() as group:
        retrieval = Retrieval(store, Embeddings(settings.embeddings))
        # A store that hears every process's messages announces them all, this process's too, once each.
        hears = store.hears_other_processes
        scheduler = Scheduler(
            store,
            clock,
            backends,
            policy(settings),
            on_message=None if hears else announce,
            webhook=settings.webhook,
            redactor=redactor_for(settings),
        )
        service = JobService(
            store,
            clock,
            default_timezone=settings.timezone,
            wake=scheduler.wake,
            stop_run=scheduler.cancel_job_run,
            backend_problem=scheduler.backend_problem,
            retrieval=retrieval,
            max_live_jobs=settings.max_live_jobs,
        )
        await group.start(retrieval.serve)
        if hears:
            group.start_soon(_announce_inbox_changes, store, bus)
        if settings.run_jobs:
            if (problem := scheduler.backend_problem()) is not None:
                log.warning("no backend can run jobs yet (%s); due jobs wait. See `mcp-server-jobs doctor`.", problem)
            await group.start(scheduler.serve)
        yield tools.AppState(settings=settings, service=service, scheduler=scheduler)
        group.cancel_scope.cancel()


async def _announce_inbox_changes(store: JobStore, bus: UserEventBus) -> None:
    """Tell this process's clients of every new message for their user, whichever process wrote it."""
    async for user_id in store.inbox_changes():
        await bus.publish_to(user_id, ResourceUpdated(uri=INBOX_UNREAD))


def build_server(settings: Settings, *, clock: Clock | None = None) -> MCPServer[tools.AppState]:
    """The MCP server for `settings`; the database opens when the server starts."""
    clock = clock or SystemClock()
    backends = backends_for(settings)
    bus = UserEventBus()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[tools.AppState]:
        async with _serving(settings, clock, backends, bus) as state:
            yield state

    server: MCPServer[tools.AppState] = MCPServer(
        "mcp-server-jobs",
        title="Background jobs",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        subscriptions=bus,
        extensions=[apps_extension()],
        **_bearer_auth(settings),
    )
    tools.register(server)
    add_browser_page(server)
    prompts.register(server)
    for backend in backends:
        if isinstance(backend, SamplingBackend):
            server.middleware.append(OfferSessions(backend.offer))
    return server
