"""The refusal catalogue: each refused call that suggests another, and that call accepted.

Each case puts a job in the state that gets refused through the tools (its runs made by the scheduler
on the fake clock, the agent scripted), checks that the refusal changed nothing and carries its
suggestion both in the text and as structured content, then makes the suggested call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.errors import AgentError
from mcp_server_jobs.server.tools import TOOLS
from tests.conftest import START, ConnectFn, World, dump, error_text, ok, open_world
from tests.integration.test_scheduler_rules import ScriptedAgent

pytestmark = pytest.mark.anyio

Call = tuple[str, dict[str, Any]]


@pytest.fixture
async def world(db_path: Path, clock: FakeClock) -> AsyncIterator[World]:
    agent = ScriptedAgent()
    async with open_world(db_path, clock, [agent]) as opened:
        opened.agent = agent
        yield opened


async def make(client: Client, **fields: Any) -> str:
    fields.setdefault("title", "Report")
    fields.setdefault("job_type", "ONE_OFF")
    return str(ok(await client.call_tool("job_create", {"description": "Write the report.", **fields}))["id"])


async def completed(client: Client, world: World) -> str:
    job_id = await make(client)
    await world.at(START)
    return job_id


async def failed(client: Client, world: World) -> str:
    world.agent.failures = [AgentError("401 invalid API key", permanent=True)]
    job_id = await make(client, title="Send the proposal")
    await world.at(START)
    return job_id


async def cancelled(client: Client, world: World) -> str:
    job_id = await make(client, job_type="RECURRING", schedule={"every": "1h"})
    ok(await client.call_tool("job_cancel", {"job_id": job_id}))
    return job_id


async def run_now_completed(client: Client, world: World) -> Call:
    return "job_run_now", {"job_id": await completed(client, world)}


async def revive_completed(client: Client, world: World) -> Call:
    return "job_update", {"job_id": await completed(client, world), "status": "ACTIVE"}


async def edit_completed(client: Client, world: World) -> Call:
    return "job_update", {
        "job_id": await completed(client, world),
        "title": "Report again",
        "schedule": {"delay": "1h"},
    }


async def run_now_cancelled(client: Client, world: World) -> Call:
    return "job_run_now", {"job_id": await cancelled(client, world)}


async def revive_cancelled(client: Client, world: World) -> Call:
    return "job_update", {"job_id": await cancelled(client, world), "status": "ACTIVE"}


async def run_now_failed(client: Client, world: World) -> Call:
    return "job_run_now", {"job_id": await failed(client, world)}


async def run_now_blocked(client: Client, world: World) -> Call:
    world.agent.failures = [AgentError("401 invalid API key", permanent=True)]
    proposal = await make(client, title="Send the proposal")
    follow_up = await make(client, title="Follow up", schedule={"delay": "3d"}, depends_on=[proposal])
    await world.at(START)
    return "job_run_now", {"job_id": follow_up}


async def retry_out_of_checks(client: Client, world: World) -> Call:
    job_id = await make(
        client, job_type="ONGOING", schedule={"every": "1h", "max_runs": 1}, end_condition="The price dropped"
    )
    await world.at(START)  # its one check ran without the goal met: FAILED
    return "job_update", {"job_id": job_id, "status": "ACTIVE"}


async def resume_past_end(client: Client, world: World) -> Call:
    job_id = await make(client, job_type="SCHEDULED", schedule={"cron": "0 12 * * *", "end_at": "2026-11-24T13:00:00"})
    ok(await client.call_tool("job_pause", {"job_id": job_id}))
    world.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    return "job_update", {"job_id": job_id, "status": "ACTIVE"}


async def complete_recurring(client: Client, world: World) -> Call:
    return "job_update", {
        "job_id": await make(client, job_type="RECURRING", schedule={"every": "1h"}),
        "status": "COMPLETED",
    }


async def cancel_completed(client: Client, world: World) -> Call:
    return "job_cancel", {"job_id": await completed(client, world)}


async def depend_on_failed(client: Client, world: World) -> Call:
    proposal = await failed(client, world)
    return "job_create", {
        "title": "Follow up",
        "description": "Chase Dana.",
        "job_type": "ONE_OFF",
        "depends_on": [proposal],
    }


async def depend_on_cancelled(client: Client, world: World) -> Call:
    gone = await cancelled(client, world)
    waiting = await make(client, title="Follow up", schedule={"delay": "1h"})
    return "job_update", {"job_id": waiting, "depends_on": [gone]}


async def update_to_paused(client: Client, world: World) -> Call:
    return "job_update", {
        "job_id": await make(client, job_type="RECURRING", schedule={"every": "1h"}),
        "status": "paused",
    }


async def update_to_cancelled(client: Client, world: World) -> Call:
    return "job_update", {
        "job_id": await make(client, job_type="RECURRING", schedule={"every": "1h"}),
        "status": "CANCELLED",
    }


async def mark_unknown_message(client: Client, world: World) -> Call:
    return "inbox_mark_read", {"message_ids": ["msg_0000000000"]}


CATALOGUE: list[tuple[Callable[[Client, World], Awaitable[Call]], str]] = [
    (run_now_completed, "job_create"),
    (revive_completed, "job_create"),
    (edit_completed, "job_create"),
    (run_now_cancelled, "job_create"),
    (revive_cancelled, "job_create"),
    (run_now_failed, "job_update"),
    (run_now_blocked, "job_update"),
    (retry_out_of_checks, "job_update"),
    (resume_past_end, "job_update"),
    (complete_recurring, "job_cancel"),
    (cancel_completed, "job_update"),
    (depend_on_failed, "job_create"),
    (depend_on_cancelled, "job_update"),
    (update_to_paused, "job_pause"),
    (update_to_cancelled, "job_cancel"),
    (mark_unknown_message, "inbox_list"),
]


@pytest.mark.parametrize(("case", "suggested"), CATALOGUE, ids=[case.__name__ for case, _ in CATALOGUE])
async def test_a_refusals_suggested_call_is_accepted(
    connect: ConnectFn, world: World, db_path: Path, case: Callable[[Client, World], Awaitable[Call]], suggested: str
) -> None:
    async with connect() as client:
        tool, arguments = await case(client, world)
        before = dump(db_path)
        refused = await client.call_tool(tool, arguments)
        assert dump(db_path) == before
        text = error_text(refused)
        assert refused.structured_content is not None
        suggestion = refused.structured_content["suggestion"]
        assert suggestion["tool"] == suggested
        assert f"call {suggestion['tool']} {json.dumps(suggestion['arguments'], ensure_ascii=False)}." in text
        accepted = ok(await client.call_tool(suggestion["tool"], suggestion["arguments"]))
    if suggested == "job_create":
        assert accepted["status"] in ("ACTIVE", "PENDING")
        assert accepted["is_existing"] is False
    if tool == "job_run_now" and suggested == "job_update":
        assert accepted["status"] == "ACTIVE"  # so job_run_now now takes it


async def test_a_refusal_suggests_no_call_that_would_be_refused(connect: ConnectFn, world: World) -> None:
    async with connect() as client:
        world.agent.failures = [AgentError("401 invalid API key", permanent=True)]
        proposal = await make(client, title="Send the proposal")
        follow_up = await make(client, title="Follow up", depends_on=[proposal])
        await world.at(START)
        archived = await completed(client, world)
        ok(await client.call_tool("job_update", {"job_id": archived, "status": "ARCHIVED"}))
        refusals = [
            await client.call_tool("job_pause", {"job_id": follow_up}),  # BLOCKED
            await client.call_tool("job_pause", {"job_id": proposal}),  # FAILED
            await client.call_tool("job_cancel", {"job_id": archived}),
        ]
    for refused in refusals:
        assert refused.structured_content is None
        message = error_text(refused).split(": ", 1)[1]
        assert [name for name, *_ in TOOLS if name in message] == []
    assert "nothing to pause: it does not run until it is unblocked" in error_text(refusals[0])
