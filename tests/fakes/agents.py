"""Agents that stand in for an LLM in-process."""

from __future__ import annotations

from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.base import AgentResult
from mcp_server_jobs.scheduler.verdict import Verdict


class SucceedingAgent:
    """Does every job at once and says so."""

    name = "succeeding"

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        return AgentResult(output=f"did {job.title}", verdict=Verdict(outcome="success", summary=f"did {job.title}"))
