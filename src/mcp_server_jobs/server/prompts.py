"""Prompts for clients that offer them (slash commands and the like): the inbox, and scheduling a job."""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

CHECK_INBOX = """\
Check my jobs inbox. Call inbox_list (unread only). For each message, tell me in a line or two which job \
it came from and what it says; quote numbers, names and links exactly. Then ask whether to mark them read \
(inbox_mark_read) and whether any job needs a change (job_update, job_pause, job_cancel). If there is \
nothing unread, say so in one sentence."""

SCHEDULE_JOB = """\
Help me set up a background job{about}. Work through it with me before calling any tool:
1. What should the agent do on each run? Write it as instructions an agent can follow alone, with the \
pages, people and companies involved (they go in related_entities).
2. Which kind of job is it? ONE_OFF (once, now or at a time), SCHEDULED (a calendar rule such as every \
Monday at 9: cron), RECURRING (every so often: every), or ONGOING (keep checking until something \
happens: every + end_condition).
3. When and how often, in which timezone; whether it should stop after a date or a number of runs.
4. For ONGOING: the end condition, judged after each run, in one checkable sentence.
5. When I want to hear about it: notify auto (when worth reporting), always, on_completion or never.
First look for a job that already does this (job_retrieval_semantic). Then show me the job you would \
create, call job_create, and read back its schedule_text and next_runs. If the answer has warnings or \
similar_jobs, tell me and ask what to do."""


def register(server: MCPServer[Any]) -> None:
    """Add the prompts to `server`, and the check that a request names a prompt and arguments it has."""
    server.middleware.append(RefuseUnknownPrompts(server))

    @server.prompt(name="check_inbox", title="Check my jobs inbox", description="Read and sum up unread reports.")
    def check_inbox() -> str:
        return CHECK_INBOX

    @server.prompt(
        name="schedule_job",
        title="Schedule a background job",
        description="Guide the model through a job's type, schedule, end condition and confirmation.",
    )
    def schedule_job(what: str | None = None) -> str:
        """`what`: the job in a few words, if you know it already."""
        return SCHEDULE_JOB.format(about=f": {what.strip()}" if what and what.strip() else "")


class RefuseUnknownPrompts:
    """Middleware: prompts/get naming a prompt or argument that does not exist is an invalid-params error.

    The SDK answers both as an internal error and logs a traceback; this error names what was wrong.
    """

    def __init__(self, server: MCPServer[Any]) -> None:
        self.server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "prompts/get" and ctx.params is not None:
            self._check(await self.server.list_prompts(), ctx.params.get("name"), ctx.params.get("arguments") or {})
        return await call_next(ctx)

    @staticmethod
    def _check(prompts: list[Any], name: Any, arguments: dict[str, Any]) -> None:
        prompt = next((p for p in prompts if p.name == name), None)
        if prompt is None:
            known = ", ".join(sorted(p.name for p in prompts))
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}; this server's prompts are: {known}")
        takes = [a.name for a in prompt.arguments or ()]
        unknown = sorted(set(arguments) - set(takes))
        if unknown:
            raise MCPError(
                INVALID_PARAMS,
                f"prompt {name!r} has no argument {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(takes) or 'no arguments'}",
            )
