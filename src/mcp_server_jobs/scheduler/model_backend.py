"""The `model` backend: an LLM provider API with tool calling, through pydantic-ai (design §6).

The model string picks the provider (`openai-chat:` for OpenAI-compatible servers such as Ollama, vLLM,
LM Studio and LiteLLM; `openai:`, `anthropic:`, ...); keys and base URLs come from the provider's usual
environment variables. The tools are those of the MCP servers in an `mcpServers` JSON file.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_ai import Agent
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelHTTPError,
    ModelNotFoundError,
    ModelRetry,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UserError,
)
from pydantic_ai.mcp import load_mcp_toolsets
from pydantic_ai.models import Model, infer_model
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.usage import UsageLimits

from mcp_server_jobs.errors import AgentError
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.agent_tools import is_job_tool
from mcp_server_jobs.scheduler.backends import NO_MODEL, AgentResult
from mcp_server_jobs.scheduler.verdict import Verdict

log = logging.getLogger(__name__)

PERMANENT_STATUS = frozenset({401, 403, 404})

INSTRUCTIONS = """\
You carry out a background job for a user who is not watching. Do the work the instructions describe,
using your tools where they help. Then give your result: `output` holds everything the user or a later
job needs (findings, data, drafts); the other fields judge the run."""


class Report(Verdict):
    """The model's final answer: the work's full output and its verdict."""

    output: str = Field(max_length=200_000, description="The full result of the work: findings, data, drafts.")


def misbehaviour_text(exc: UnexpectedModelBehavior) -> str:
    """What the model did wrong, from pydantic-ai's error and its cause (the last retry it asked for)."""
    cause = exc.__cause__
    unknown = re.match(r"Unknown tool name: '([^']*)'", str(cause)) if isinstance(cause, ModelRetry) else None
    if unknown is not None:
        return f"the model kept calling unknown tool {unknown.group(1)!r}, which no agent server provides: {cause}"
    failing = re.match(r"Tool '([^']*)' exceeded max retries", str(exc))
    if failing is not None and failing.group(1) != "final_result":
        return f"tool {failing.group(1)!r} kept failing, the run gave up: {cause or exc}"
    return f"the model gave no valid verdict after one retry: {exc}"


class ModelBackend:
    """Runs a job as a pydantic-ai agent on the configured model, with the agent-servers' tools."""

    name = "model"

    def __init__(
        self,
        model: str | Model | None,
        agent_servers: Path | None = None,
        *,
        limits: UsageLimits | None = None,
        toolsets: Callable[[], list[AbstractToolset[Any]]] | None = None,
    ) -> None:
        self._model_spec = model
        self._model: Model | None = None
        self._problem: str | None = None
        self.agent_servers = agent_servers
        self.limits = limits or UsageLimits(request_limit=50)
        self._toolsets = toolsets or self._load_toolsets

    def unavailable(self) -> str | None:
        if self._model_spec is None:
            return NO_MODEL
        if self._model is None and self._problem is None:
            try:
                self._model = self._model_spec if isinstance(self._model_spec, Model) else infer_model(self._model_spec)
            except (UserError, ValueError, ImportError) as exc:
                # Typically a missing API key: say which, and let jobs wait rather than fail (docs/decisions.md).
                self._problem = f"model {self._model_spec!r} cannot be used: {exc}"
        return self._problem

    def _load_toolsets(self) -> list[AbstractToolset[Any]]:
        if self.agent_servers is None:
            return []
        try:
            servers = json.loads(self.agent_servers.read_text(encoding="utf-8"))["mcpServers"]
            loaded = load_mcp_toolsets(self.agent_servers)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AgentError(f"agent servers file {self.agent_servers}: {exc}") from exc
        for name, entry in servers.items():
            command = entry.get("command") if isinstance(entry, dict) else None
            if command and shutil.which(command) is None:
                raise AgentError(f"agent server {name!r} cannot start: command {command!r} not found")
        return [toolset.filtered(lambda ctx, tool: not is_job_tool(tool.name)) for toolset in loaded]

    def _limits_for(self, job: Job) -> UsageLimits:
        """The server's limits, tightened by the job's own budget."""
        budget = job.limits
        return UsageLimits(
            request_limit=budget.max_requests or self.limits.request_limit,
            total_tokens_limit=budget.max_tokens or self.limits.total_tokens_limit,
            tool_calls_limit=budget.max_tool_calls
            if budget.max_tool_calls is not None
            else self.limits.tool_calls_limit,
        )

    async def run(self, job: Job, context: str) -> AgentResult:
        if self.unavailable() is not None or self._model is None:
            raise AgentError(self._problem or "no model", permanent=True)
        agent: Agent[None, Report] = Agent(
            self._model,
            output_type=Report,
            instructions=INSTRUCTIONS,
            toolsets=self._toolsets(),
            # One retry for a malformed verdict (design §5.5); a failing tool is reported to the model.
            retries={"output": 1, "tools": 2},
        )
        try:
            # Entered, the model's provider keeps one HTTP client for the runs in flight and closes it after.
            async with self._model:
                result = await agent.run(context, usage_limits=self._limits_for(job))
        except UsageLimitExceeded as exc:
            raise AgentError(f"budget exceeded, run stopped: {exc}", retry=False) from exc
        except UnexpectedModelBehavior as exc:
            raise AgentError(misbehaviour_text(exc)) from exc
        except (ModelAuthenticationError, ModelNotFoundError) as exc:
            raise AgentError(f"{type(exc).__name__}: {exc}", permanent=True) from exc
        except ModelHTTPError as exc:
            raise AgentError(f"HTTP {exc.status_code} from the model: {exc}", retry_after=exc.retry_after,
                             permanent=exc.status_code in PERMANENT_STATUS) from exc  # fmt: skip
        except ModelAPIError as exc:
            raise AgentError(f"{type(exc).__name__}: {exc}", retry_after=exc.retry_after) from exc
        except RuntimeError as exc:  # what MCP toolsets raise when a server fails to start or dies
            raise AgentError(f"an agent server of {self.agent_servers} failed: {exc}") from exc
        report = result.output
        usage = result.usage
        return AgentResult(
            output=report.output,
            verdict=Verdict.model_validate(report.model_dump(exclude={"output"})),
            usage={
                "requests": usage.requests,
                "tool_calls": usage.tool_calls,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            },
        )
