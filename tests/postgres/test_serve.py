"""`serve --db postgresql://...`: the whole server on the PostgreSQL store, through a real MCP client."""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from mcp_server_jobs.config import Settings
from mcp_server_jobs.server.app import build_server
from tests.conftest import QUICK_AGENT, ok, poll_job, wait_for
from tests.integration.test_processes import COMMAND, listening, server

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


async def test_a_token_added_once_signs_in_on_every_host_and_its_revocation_reaches_them_all(
    pg_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL the tokens are the database's: two HTTP servers with no tokens file of their own."""
    added = token_cli(pg_url, "add", "alice")  # before any server: the command brings the schema up itself
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert "alice" in token_cli(pg_url, "list").stdout
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}

    async def answers(port: int, bearer: str | None) -> int:
        headers = {"Accept": "application/json, text/event-stream"} | (
            {"Authorization": f"Bearer {bearer}"} if bearer else {}
        )
        async with httpx2.AsyncClient(timeout=10) as http:
            return (await http.post(f"http://127.0.0.1:{port}/mcp", json=initialize, headers=headers)).status_code

    with (
        server(pg_url, tmp_path / "a.log", run_jobs="false") as (_, a),
        server(pg_url, tmp_path / "b.log", run_jobs="false") as (_, b),
    ):
        await wait_for(lambda: listening(a) and listening(b), seconds=30)
        before = [await answers(port, bearer) for port in (a, b) for bearer in (None, token)]
        assert token_cli(pg_url, "revoke", "alice").returncode == 0
        with anyio.fail_after(10):
            while [await answers(port, token) for port in (a, b)] != [401, 401]:  # noqa: ASYNC110 -- revoked elsewhere
                await anyio.sleep(0.2)
    assert before == [401, 200, 401, 200]
    assert not (tmp_path / "tokens.json").exists()


def token_cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, "token", *args, "--db", db], capture_output=True, text=True, timeout=60)
