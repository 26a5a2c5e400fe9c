"""jobs_overview, the jobs page's data: live jobs first however many have ended, each run's lateness,
duration, tokens and tool calls, the inbox read and unread; the same answer as JSON for clients without UI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import Job, JobStatus
from mcp_server_jobs.scheduler.backends.base import AgentResult
from mcp_server_jobs.scheduler.verdict import Verdict
from mcp_server_jobs.server.overview import overview
from mcp_server_jobs.times import zone
from tests.conftest import START, ConnectFn, new_job, ok, open_world

pytestmark = pytest.mark.anyio


class CountedAgent:
    """Succeeds, having used 1,200 + 300 tokens and 2 tool calls; the fake clock moves 4 s meanwhile."""

    name = "counted"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        self.clock.advance(timedelta(seconds=4))
        usage = {"requests": 2, "tool_calls": 2, "input_tokens": 1200, "output_tokens": 300}
        return AgentResult(output="ok", verdict=Verdict(outcome="success", summary="checked"), usage=usage)


async def test_live_jobs_come_first_and_runs_say_what_they_cost(db_path: Path, clock: FakeClock) -> None:
    async with open_world(db_path, clock, [CountedAgent(clock)]) as world:
        live = await world.create(title="Check the build", job_type="RECURRING", schedule={"every": "1h"},
                                  notify="always")  # fmt: skip
        for number in range(3):  # newer than the live job, and more than the page has room for
            await world.store.create_job(new_job(START + timedelta(minutes=1), title=f"Done {number}",
                                                 status=JobStatus.COMPLETED))  # fmt: skip
        clock.set(START + timedelta(seconds=2))  # the run starts 2 s after its time
        await world.scheduler.run_once()
        page = await overview(world.service, "local", zone("UTC"), jobs=2, runs=5, messages=5)
    [first, second] = page.jobs
    [run] = first.runs
    assert first.id == live.id
    assert second.status is JobStatus.COMPLETED
    assert len(first.next_runs) == 3
    assert (run.lateness_seconds, run.duration_seconds) == (2.0, 4.0)
    assert (run.tokens, run.tool_calls, run.summary) == (1500, 2, "checked")
    assert [message.job_id for message in page.inbox] == [live.id]
    assert page.unread_count == 1


async def test_without_a_ui_the_answer_is_a_few_lines_of_text(connect: ConnectFn) -> None:
    """The text is what a model reads on every later turn: the jobs and messages in a line each, not the page."""
    async with connect() as client:
        job = ok(await client.call_tool("job_create", {"title": "Ping", "description": "Say hi.",
                                                       "job_type": "ONE_OFF", "schedule": "in 1 hour"}))  # fmt: skip
        result = await client.call_tool("jobs_overview", {})
        refused = await client.call_tool("jobs_overview", {"limit": 3})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    assert [j["title"] for j in result.structured_content["jobs"]] == ["Ping"]
    assert text.splitlines() == [
        "1 jobs (1 live); 0 unread of the 0 latest messages. Clients with MCP Apps show this as the jobs page.",
        f"- Ping ({job['id']}) ACTIVE, {job['schedule_text']}; next {job['next_runs'][0]}",
    ]
    assert refused.is_error
