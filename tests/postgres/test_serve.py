"""`serve --db postgresql://...`: the whole server on the PostgreSQL store, through a real MCP client."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from mcp_server_jobs.config import Settings
from mcp_server_jobs.server.app import build_server
from tests.conftest import QUICK_AGENT, ok, poll_job

pytestmark = pytest.mark.anyio


async def test_a_job_created_through_the_tools_runs_and_is_found_by_its_words(pg_url: str) -> None:
    settings = Settings(db=pg_url, timezone="UTC", backends=("command",), command=QUICK_AGENT, embeddings="off")
    async with Client(build_server(settings)) as client:
        arguments = {"title": "Invoice reminder", "description": "Remind Acme about the March invoice.",
                     "job_type": "ONE_OFF", "schedule": "in 1 second"}  # fmt: skip
        job = ok(await client.call_tool("job_create", arguments))
        done = await poll_job(client, job["id"], lambda j: j["status"] == "COMPLETED")
        found = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoice acme"}))
    assert [run["outcome"] for run in done["runs"]] == ["succeeded"]
    assert [hit["id"] for hit in found["results"]] == [job["id"]]


async def test_a_client_of_one_process_hears_of_the_message_a_job_run_by_another_sends(pg_url: str) -> None:
    """Host A serves the tools only; host B runs the jobs. A job made on A starts on B, and A's client hears of it."""
    common = {"db": pg_url, "timezone": "UTC", "embeddings": "off"}
    tools_only = Settings(**common, run_jobs=False)
    runner = Settings(**common, backends=("command",), command=QUICK_AGENT, sweep_seconds=3600)
    async with Client(build_server(tools_only)) as client, Client(build_server(runner)):
        async with client.listen(resource_subscriptions=["inbox://unread"]) as events:
            arguments = {"title": "Ping", "description": "Say hi.", "job_type": "ONE_OFF", "notify": "always"}
            job = ok(await client.call_tool("job_create", arguments))
            with anyio.fail_after(20):
                event = await anext(aiter(events))
        inbox = ok(await client.call_tool("inbox_list", {}))
    assert getattr(event, "uri", None) == "inbox://unread"
    assert [message["job_id"] for message in inbox["results"]] == [job["id"]]
