"""The backends named in the settings, built in order; each backend's module is imported only when it is built.

pydantic-ai and the provider SDKs take seconds to load, and the MCP client is not free either: a scheduler
that runs only `command` agents loads neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcp_server_jobs.errors import BackendUnavailable
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.base import NO_MODEL, AgentResult, Backend


class NotConfigured:
    """A backend named in the settings that this server cannot use."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    def unavailable(self) -> str | None:
        return self._reason

    async def run(self, job: Job, context: str) -> AgentResult:
        raise BackendUnavailable(f"{self.name}: {self._reason}")


def build_backends(
    names: Sequence[str],
    *,
    command: str | None = None,
    model: str | None = None,
    agent_servers: Path | None = None,
    mcp_agent_server: str | None = None,
    mcp_agent_tool: str = "run_agent",
) -> list[Backend]:
    """The backends for the configured names, in order."""
    backends: list[Backend] = []
    for name in names:
        if name == "dry-run":
            from mcp_server_jobs.scheduler.backends.dry_run import DryRunBackend

            backends.append(DryRunBackend())
        elif name == "command":
            from mcp_server_jobs.scheduler.backends.command import CommandBackend

            backends.append(CommandBackend(command))
        elif name == "mcp-agent":
            from mcp_server_jobs.scheduler.backends.mcp_agent import McpAgentBackend

            backends.append(McpAgentBackend(mcp_agent_server, mcp_agent_tool))
        elif name == "sampling":
            from mcp_server_jobs.scheduler.backends.sampling import SamplingBackend

            backends.append(SamplingBackend(agent_servers=agent_servers))
        elif name == "model" and model is None:
            backends.append(NotConfigured(name, NO_MODEL))
        elif name == "model":
            from mcp_server_jobs.scheduler.backends.model import ModelBackend

            backends.append(ModelBackend(model, agent_servers))
        else:
            backends.append(NotConfigured(name, "not available in this version of the server"))
    return backends


def first_problem(backends: Sequence[Backend]) -> str | None:
    """None if some backend can take runs; otherwise why none can."""
    reasons = []
    for backend in backends:
        reason = backend.unavailable()
        if reason is None:
            return None
        reasons.append(f"{backend.name}: {reason}")
    return "; ".join(reasons) or "no backend is configured (--backends)"
