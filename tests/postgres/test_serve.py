"""`serve --db postgresql://...`: the whole server on the PostgreSQL store, through a real MCP client."""

from __future__ import annotations

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
