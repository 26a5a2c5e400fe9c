"""The `mcp-agent` backend: a tool of another MCP server (over stdio) runs the agent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import JobStatus, RunOutcome
from mcp_server_jobs.scheduler.backends.mcp_agent import McpAgentBackend
from tests.conftest import START, open_world

pytestmark = pytest.mark.anyio
AGENT = f"{sys.executable} {Path(__file__).parent.parent / 'fakes' / 'agent_server.py'}"


async def test_the_agent_tool_does_the_job(db_path: Path, clock: FakeClock) -> None:
    async with open_world(db_path, clock, [McpAgentBackend(AGENT, "run_agent")]) as world:
        job = await world.create(title="Summarise the news", job_type="ONE_OFF")
        [run] = await world.at(START)
        status = (await world.job(job.id)).status
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.backend == "mcp-agent"
    assert run.output is not None
    assert run.output.startswith('Did "Summarise the news".')
    assert run.summary == "did Summarise the news"
    assert status is JobStatus.COMPLETED


async def test_a_tool_error_fails_the_run_with_its_words(db_path: Path, clock: FakeClock) -> None:
    async with open_world(db_path, clock, [McpAgentBackend(AGENT, "run_agent")]) as world:
        await world.create(title="Please refuse", job_type="ONE_OFF")
        [run] = await world.at(START)
    assert run.outcome is RunOutcome.FAILED
    assert run.error is not None
    assert "I will not do that" in run.error


def test_unavailable_without_a_server() -> None:
    assert McpAgentBackend(None, "run_agent").unavailable() == "no agent server set (--mcp-agent-server URL or command)"
    assert McpAgentBackend("http://127.0.0.1:9/mcp", "run_agent").unavailable() is None
