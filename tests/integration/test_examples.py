"""The four requests of the design's opening paragraph, end to end.

Jobs are created and the inbox read through a real MCP client; the scheduler runs them on a fake clock
with the `model` backend, whose LLM is a scripted pydantic-ai FunctionModel; the page watcher's tool is
a real stdio MCP server whose answer changes on its third call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.config import Settings
from mcp_server_jobs.scheduler.backends.model import ModelBackend
from mcp_server_jobs.scheduler.verdict import NEGATED
from mcp_server_jobs.server.app import build_server
from tests.conftest import START, World, ok, open_world

pytestmark = pytest.mark.anyio


@dataclass
class ScriptedLLM:
    """Answers like a model would for each example job; records every prompt it was given."""

    prompts: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = next(
            str(part.content)
            for message in messages
            if isinstance(message, ModelRequest)
            for part in message.parts
            if isinstance(part, UserPromptPart)
        )
        if prompt.startswith("End condition of a background job"):
            # The end-condition check quotes what the run found: judge by the page's price.
            self.prompts.setdefault("end check", []).append(prompt)
            holds = ("$19" in prompt) != (NEGATED in prompt)
            return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"holds": holds})])
        title = prompt.splitlines()[0].removeprefix("# Job: ")
        tool_results = [
            str(part.content)
            for message in messages
            if isinstance(message, ModelRequest)
            for part in message.parts
            if isinstance(part, ToolReturnPart)
        ]
        if not tool_results:
            self.prompts.setdefault(title, []).append(prompt)
        if title == "Watch the pricing page" and not tool_results:
            return ModelResponse(parts=[ToolCallPart("pages_fetch_page", {"url": "https://acme.test/pricing"})])
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, self.verdict(title, tool_results))])

    def verdict(self, title: str, tool_results: list[str]) -> dict[str, Any]:
        if title == "Watch the pricing page":
            changed = "$19" in tool_results[-1]
            return {"output": tool_results[-1], "outcome": "success", "summary": "checked the price",
                    "worth_reporting": changed, "report_title": "The price changed",
                    "report": tool_results[-1]}  # fmt: skip
        outputs = {
            "Research 3 companies": "Acme: 120 staff. Globex: 40 staff. Initech: 300 staff.",
            "Pending invoices reminder": "2 invoices are pending: #101 (Acme), #107 (Globex).",
            "Send the proposal": "Proposal sent to Dana at Acme.",
            "Follow up on the proposal": "No reply from Dana; sent a polite follow-up.",
            "Escalate": "Escalated to Acme's VP of Sales.",
        }
        return {"output": outputs[title], "outcome": "success", "summary": outputs[title], "worth_reporting": True,
                "report_title": title, "report": outputs[title]}  # fmt: skip


@dataclass
class Setup:
    client: Client
    world: World
    llm: ScriptedLLM

    async def create(self, **arguments: Any) -> dict[str, Any]:
        return ok(await self.client.call_tool("job_create", arguments))

    async def inbox_titles(self) -> list[str]:
        inbox = ok(await self.client.call_tool("inbox_list", {"unread_only": False, "limit": 50}))
        return [m["title"] for m in reversed(inbox["results"])]

    async def status(self, job_id: str) -> str:
        job = ok(await self.client.call_tool("job_retrieval_by_id", {"job_id": job_id}))
        return str(job["status"])


@pytest.fixture
async def setup(db_path: Path, clock: FakeClock, agent_servers: Path) -> AsyncIterator[Setup]:
    llm = ScriptedLLM()
    settings = Settings(db=db_path, timezone="Europe/Paris", run_jobs=False)
    async with (
        Client(build_server(settings, clock=clock)) as client,
        open_world(db_path, clock, [ModelBackend(FunctionModel(llm), agent_servers)]) as world,
    ):
        yield Setup(client, world, llm)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_research_by_morning(setup: Setup) -> None:
    job = await setup.create(
        title="Research 3 companies",
        description="Research Acme, Globex and Initech: size, products, recent news. Report by morning.",
        job_type="ONE_OFF",
        schedule={"run_at": "2026-11-23T07:00:00"},
        related_entities=[{"name": "Acme", "kind": "company"}, {"name": "Globex", "kind": "company"}],
    )
    assert await setup.world.at(utc(2026, 11, 22, 23, 0)) == []
    await setup.world.at(utc(2026, 11, 23, 6, 0))  # 07:00 in Paris
    assert await setup.status(job["id"]) == "COMPLETED"
    assert await setup.inbox_titles() == ["Research 3 companies"]
    assert "Acme (company)" in setup.llm.prompts["Research 3 companies"][0]


async def test_monday_reminder(setup: Setup) -> None:
    job = await setup.create(
        title="Pending invoices reminder",
        description="List the invoices still unpaid and remind me to chase them.",
        job_type="SCHEDULED",
        schedule={"cron": "0 9 * * 1"},
    )
    for day in range(15):  # two weeks, checked every day at 09:00 Paris
        await setup.world.at(utc(2026, 11, 22, 8, 0) + timedelta(days=day))
    assert len(setup.llm.prompts["Pending invoices reminder"]) == 2  # Mondays 23 and 30 November
    assert await setup.inbox_titles() == ["Pending invoices reminder"] * 2
    assert await setup.status(job["id"]) == "ACTIVE"


async def test_watch_a_page_until_it_changes(setup: Setup) -> None:
    job = await setup.create(
        title="Watch the pricing page",
        description="Fetch https://acme.test/pricing and tell me when the Pro plan price changes from $29/month.",
        job_type="ONGOING",
        schedule={"every": "1h"},
        end_condition="The Pro plan no longer costs $29/month",
    )
    for hour in range(5):
        await setup.world.at(START + timedelta(hours=hour))
    assert len(setup.llm.prompts["Watch the pricing page"]) == 3
    # Two short questions (the condition, and its opposite) after each check of the page.
    assert len(setup.llm.prompts["end check"]) == 6
    assert await setup.status(job["id"]) == "COMPLETED"
    assert await setup.inbox_titles() == ["The price changed"]
    assert "The Pro plan no longer costs $29/month" in setup.llm.prompts["Watch the pricing page"][0]


async def test_proposal_follow_up_escalate(setup: Setup) -> None:
    proposal = await setup.create(
        title="Send the proposal", description="Email the proposal to Dana at Acme.", job_type="ONE_OFF"
    )
    follow_up = await setup.create(
        title="Follow up on the proposal",
        description="If Dana has not replied, send a polite follow-up.",
        job_type="ONE_OFF",
        schedule={"delay": "3d"},
        depends_on=[proposal["id"]],
    )
    escalate = await setup.create(
        title="Escalate", description="If still no reply, escalate to Acme's VP.", job_type="ONE_OFF",
        depends_on=[follow_up["id"]],
    )  # fmt: skip
    await setup.world.at(START)
    assert [await setup.status(j["id"]) for j in (proposal, follow_up, escalate)] == ["COMPLETED", "ACTIVE", "PENDING"]
    await setup.world.at(START + timedelta(days=3))
    assert [await setup.status(j["id"]) for j in (proposal, follow_up, escalate)] == ["COMPLETED"] * 3
    assert "Proposal sent to Dana at Acme." in setup.llm.prompts["Follow up on the proposal"][0]
    assert "sent a polite follow-up" in setup.llm.prompts["Escalate"][0]
    assert await setup.inbox_titles() == ["Send the proposal", "Follow up on the proposal", "Escalate"]
