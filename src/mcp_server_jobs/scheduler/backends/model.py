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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.shared.exceptions import MCPError
from pydantic import BaseModel
from pydantic_ai import Agent, RunContext
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
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart
from pydantic_ai.models import Model, infer_model
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset
from pydantic_ai.usage import RunUsage, UsageLimits

from mcp_server_jobs.agent_servers import AgentServersError, read_agent_servers
from mcp_server_jobs.errors import AgentError
from mcp_server_jobs.models import Job, JobType
from mcp_server_jobs.scheduler.backends.agent_tools import is_job_tool
from mcp_server_jobs.scheduler.backends.base import NO_MODEL, AgentResult, current_meter
from mcp_server_jobs.scheduler.verdict import (
    MODEL_INSTRUCTIONS,
    EndCheck,
    Verdict,
    end_check_prompt,
    report_model,
)

log = logging.getLogger(__name__)

PERMANENT_STATUS = frozenset({401, 403, 404})
# The same tool with the same arguments this many times in one run is a loop (docs/decisions.md).
LOOP_CALLS = 3
# The end-condition check quotes this much of what the run found.
_EVIDENCE_RESULTS = 3
_EVIDENCE_CHARS = 1_500


class ToolLoop(Exception):
    """The model called one tool with the same arguments too often."""


@dataclass
class Calls:
    """What a run's tools were asked, shared by its toolsets: a loop is a tool and its arguments."""

    counts: Counter[str] = field(default_factory=Counter)
    results: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None


@dataclass
class LoopGuard(WrapperToolset[Any]):
    """Notices a model calling one tool with the same arguments again and again, and stops it.

    A repeat does not reach the tool: the model gets the first result again with a note to use it (a
    tool with effects, an email, acts once). At the LOOP_CALLS-th the model is told to call no more
    tools and answer from what it found; a tool call after that stops the run as a loop.
    """

    calls: Calls = field(default_factory=Calls)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        if self.calls.stopped is not None:
            raise ToolLoop(self.calls.stopped)
        key = name + "\0" + json.dumps(tool_args, sort_keys=True, default=str)
        self.calls.counts[key] += 1
        if self.calls.counts[key] >= LOOP_CALLS:
            self.calls.stopped = (
                f"the model called tool {name!r} with the same arguments {LOOP_CALLS} times and went on calling "
                "tools when told to answer; stopped as a loop"
            )
            return (
                f"Stopped: you called {name} with the same arguments {LOOP_CALLS} times. Call no more tools: "
                "give your final result now, from what you have found."
            )
        if key in self.calls.results:
            return (
                f"You already called {name} with these arguments; it was not called again. Its result was: "
                f"{self.calls.results[key]}\nUse that result: do not call {name} with the same arguments again."
            )
        self.calls.results[key] = result = await super().call_tool(name, tool_args, ctx, tool)
        return result


def usage_dict(usage: RunUsage) -> dict[str, Any]:
    """A run's usage as recorded on it."""
    return {
        "requests": usage.requests,
        "tool_calls": usage.tool_calls,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }


def misbehaviour_text(exc: UnexpectedModelBehavior) -> str:
    """What the model did wrong, from pydantic-ai's error and its cause (the last retry it asked for)."""
    cause = exc.__cause__
    unknown = re.match(r"Unknown tool name: '([^']*)'", str(cause)) if isinstance(cause, ModelRetry) else None
    if unknown is not None:
        return f"the model kept calling unknown tool {unknown.group(1)!r}, which no agent server provides: {cause}"
    if "token limit" in str(exc).lower():
        return (
            "the model's answer was cut off at its output token limit before it was complete; give the model a "
            "larger max_tokens, or the job shorter instructions"
        )
    failing = re.match(r"Tool '([^']*)' exceeded max retries", str(exc))
    if failing is not None and failing.group(1) != "final_result":
        return f"tool {failing.group(1)!r} kept failing, the run gave up: {cause or exc}"
    return f"the model gave no valid verdict after one retry: {exc}"


def evidence(output: str, messages: list[ModelMessage]) -> str:
    """What the run found, for the end-condition check: its last tool results and its output, clipped."""
    results = [
        part.model_response_str()
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        # pydantic-ai's output tool (final_result...) returns only an acknowledgement.
        if isinstance(part, ToolReturnPart) and not part.tool_name.startswith("final_result")
    ][-_EVIDENCE_RESULTS:]
    quoted = [f"Tool result: {text[:_EVIDENCE_CHARS]}" for text in results]
    return "\n".join([*quoted, f"The run's answer: {output[: 2 * _EVIDENCE_CHARS]}"])


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
            servers = read_agent_servers(self.agent_servers)
            loaded = load_mcp_toolsets(self.agent_servers)
        except AgentServersError as exc:
            raise AgentError(f"agent servers file {self.agent_servers}: {exc.problem}") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:  # an entry pydantic-ai cannot read
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
        calls = Calls()
        agent: Agent[None, BaseModel] = Agent(
            self._model,
            output_type=report_model(job),
            instructions=MODEL_INSTRUCTIONS,
            toolsets=[LoopGuard(toolset, calls) for toolset in self._toolsets()],
            # One retry for a malformed verdict (design §5.5); a failing tool is reported to the model.
            retries={"output": 1, "tools": 2},
        )
        # Ours, so that what a run used is known however it ends (pydantic-ai adds to it in place).
        usage = RunUsage()
        meter = current_meter()
        if meter is not None:
            meter.follow(lambda: usage_dict(usage))
        try:
            # Entered, the model's provider keeps one HTTP client for the runs in flight and closes it after.
            async with self._model:
                result = await agent.run(context, usage_limits=self._limits_for(job), usage=usage)
                verdict = Verdict.model_validate(result.output.model_dump(exclude={"output"}))
                # A small model may leave `output` empty and write its findings in the report.
                output: str = result.output.output or verdict.report or verdict.summary  # type: ignore[attr-defined]
                if job.job_type is JobType.ONGOING and job.end_condition and verdict.outcome == "success":
                    found = evidence(output, result.all_messages())
                    verdict = await self._end_check(job.end_condition, verdict, found, usage)
        # RuntimeError and MCPError: what MCP toolsets raise when a server fails to start or dies.
        except (ToolLoop, UsageLimitExceeded, UnexpectedModelBehavior, ModelAPIError, RuntimeError, MCPError) as exc:
            raise self._failure(exc, usage_dict(usage)) from exc
        return AgentResult(output=output, verdict=verdict, usage=usage_dict(usage))

    def _failure(self, exc: Exception, usage: dict[str, Any]) -> AgentError:
        """The run's failure as the scheduler judges it, with what the run used until then."""
        if isinstance(exc, ToolLoop):
            # Retried like other misbehaviour: stopped early it cost little, and the retry's context shows it.
            return AgentError(str(exc), usage=usage)
        if isinstance(exc, UsageLimitExceeded):
            # pydantic-ai's text goes on to advice and a link to its docs, which are not the user's to follow.
            return AgentError(f"budget exceeded, run stopped: {str(exc).split('. ')[0]}", retry=False, usage=usage)
        if isinstance(exc, UnexpectedModelBehavior):
            return AgentError(misbehaviour_text(exc), usage=usage)
        if isinstance(exc, ModelAuthenticationError | ModelNotFoundError):
            return AgentError(f"{type(exc).__name__}: {exc}", permanent=True, usage=usage)
        if isinstance(exc, ModelHTTPError):
            return AgentError(f"HTTP {exc.status_code} from the model: {exc}", retry_after=exc.retry_after,
                              permanent=exc.status_code in PERMANENT_STATUS, usage=usage)  # fmt: skip
        if isinstance(exc, ModelAPIError):
            return AgentError(f"{type(exc).__name__}: {exc}", retry_after=exc.retry_after, usage=usage)
        # What MCP toolsets raise when a server fails to start or dies.
        return AgentError(f"an agent server of {self.agent_servers} failed: {exc}", usage=usage)

    async def _end_check(self, condition: str, verdict: Verdict, found: str, usage: RunUsage) -> Verdict:
        """Ask whether the end condition holds, and whether its opposite does (docs/decisions.md).

        Only answers that disagree judge it: a model that says "true" to both has not judged, and a
        watch ended on such an answer would stop for good while its condition does not hold.
        """
        assert self._model is not None
        checker: Agent[None, EndCheck] = Agent(self._model, output_type=EndCheck, retries={"output": 1})
        answers = []
        for negated in (False, True):
            # Outside the work's budget, which may be spent: each question is one request, two with its retry.
            limits = UsageLimits(request_limit=usage.requests + 2)
            prompt = end_check_prompt(condition, found, negated=negated)
            try:
                answers.append((await checker.run(prompt, usage=usage, usage_limits=limits)).output.holds)
            except (UnexpectedModelBehavior, UsageLimitExceeded) as exc:
                return _unjudged(verdict, str(exc))
        holds, opposite = answers
        if holds == opposite:
            return _unjudged(verdict, f"the model said {str(holds).lower()} both to it and to its opposite")
        return verdict.model_copy(update={"goal_met": holds})


def _unjudged(verdict: Verdict, why: str) -> Verdict:
    """Unjudged is not met: the job goes on, and its next run asks again."""
    note = f" (the end condition could not be judged: {why})"
    return verdict.model_copy(update={"goal_met": False, "summary": (verdict.summary + note)[:2_000]})
