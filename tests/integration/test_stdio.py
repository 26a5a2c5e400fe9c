"""The installed command over stdio, as a desktop client starts it; state survives a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import dump, error_text, new_job, ok, poll_job, wait_for

pytestmark = pytest.mark.anyio

COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")


def server(db_path: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=COMMAND,
        args=["serve", "--db", str(db_path), "--timezone", "Europe/Paris", "--no-run-jobs", *extra],
    )


async def test_stdio_server_creates_refuses_and_survives_a_restart(db_path: Path) -> None:
    async with Client(server(db_path)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        job = ok(
            await client.call_tool(
                "job_create",
                {
                    "title": "Pending invoices reminder",
                    "description": "List unpaid invoices and remind me to chase them.",
                    "job_type": "SCHEDULED",
                    "schedule": {"cron": "0 9 * * 1"},
                },
            )
        )
        before = dump(db_path)
        refused = error_text(
            await client.call_tool(
                "job_create",
                {"title": "t", "description": "d", "job_type": "SCHEDULED", "schedule": {"cron": "99 9 * * 1"}},
            )
        )
        assert dump(db_path) == before
    assert "job_create" in names
    assert "cron '99 9 * * 1' is not valid" in refused

    async with Client(server(db_path)) as client:
        again = ok(await client.call_tool("job_retrieval_by_id", {"job_id": job["id"]}))
    assert again["status"] == "ACTIVE"
    assert again["next_run_at"] == job["next_run_at"]
    assert again["schedule_text"] == "every Monday at 09:00 (Europe/Paris)"


async def test_stdio_user_flag_scopes_the_jobs(db_path: Path) -> None:
    async with Client(server(db_path, "--user", "alice")) as alice:
        job = ok(
            await alice.call_tool(
                "job_create", {"title": "Alice's job", "description": "Do a thing.", "job_type": "ONE_OFF"}
            )
        )
    async with Client(server(db_path, "--user", "bob")) as bob:
        text = error_text(await bob.call_tool("job_retrieval_by_id", {"job_id": job["id"]}))
    assert f"No job with id {job['id']!r}" in text


async def test_stdio_every_tool_answers_and_refuses(db_path: Path) -> None:
    reminder = {
        "title": "Pending invoices reminder",
        "description": "List unpaid invoices and remind me to chase them.",
        "job_type": "SCHEDULED",
        "schedule": {"cron": "0 9 * * 1"},
    }
    async with Client(server(db_path)) as client:
        job = ok(await client.call_tool("job_create", reminder))
        job_id = job["id"]
        normal: list[tuple[str, dict[str, object]]] = [
            ("job_retrieval_semantic", {"query": "unpaid invoices"}),
            ("job_retrieval_by_id", {"job_id": job_id}),
            ("job_retrieval_by_keywords", {"keywords": "invoices"}),
            ("job_update", {"job_id": job_id, "title": "Invoices"}),
            ("job_pause", {"job_id": job_id}),
            ("job_update", {"job_id": job_id, "status": "ACTIVE"}),
            ("job_cancel", {"job_id": job_id}),
            ("inbox_list", {}),
            ("inbox_mark_read", {"all": True}),
        ]
        answers = {name: ok(await client.call_tool(name, arguments)) for name, arguments in normal}
        before = dump(db_path)
        bad: list[tuple[str, dict[str, object]]] = [
            ("job_create", {**reminder, "schedule": {"cron": "0 9 * * 1", "timezone": "Nowhere"}}),
            ("job_retrieval_semantic", {"query": ""}),
            ("job_retrieval_by_id", {"job_id": "job_missing"}),
            ("job_retrieval_by_keywords", {"keywords": "((( --"}),
            ("job_update", {"job_id": job_id, "status": "ACTIVE"}),
            ("job_pause", {"job_id": job_id}),
            ("job_cancel", {"job_id": "job_missing"}),
            ("inbox_list", {"limit": 0}),
            ("inbox_mark_read", {"message_ids": ["msg_missing"]}),
        ]
        refusals = {name: error_text(await client.call_tool(name, arguments)) for name, arguments in bad}
        assert dump(db_path) == before
    assert [hit["id"] for hit in answers["job_retrieval_semantic"]["results"]] == [job_id]
    assert answers["job_retrieval_by_id"]["runs"] == []
    assert answers["job_update"]["status"] == "ACTIVE"
    assert answers["job_pause"]["status"] == "PAUSED"
    assert answers["job_cancel"]["status"] == "CANCELLED"
    assert answers["inbox_mark_read"] == {"marked": 0, "unread_count": 0}
    assert "unknown timezone 'Nowhere'" in refusals["job_create"]
    assert "No job with id 'job_missing'" in refusals["job_retrieval_by_id"]
    assert "no words" in refusals["job_retrieval_by_keywords"]
    assert "From CANCELLED, job_update can set: ARCHIVED" in refusals["job_update"]
    assert "nothing to pause" in refusals["job_pause"]
    assert "No inbox message with id 'msg_missing'" in refusals["inbox_mark_read"]
    assert all(refusals.values())


def agent_started(starts: Path, times: int) -> bool:
    return starts.exists() and len(starts.read_text().splitlines()) >= times


async def test_a_client_quitting_mid_run_three_times_costs_no_attempt(db_path: Path, tmp_path: Path) -> None:
    """Closing a desktop client is how a stdio server stops: the run in progress is recorded as
    interrupted by the shutdown, and the next start runs the job again from attempt 1."""
    starts, gate = tmp_path / "starts", tmp_path / "gate"
    agent = f"{sys.executable} {Path(__file__).parents[1] / 'fakes' / 'gated_agent.py'}"
    params = StdioServerParameters(
        command=COMMAND,
        args=["serve", "--db", str(db_path), "--timezone", "UTC", "--backends", "command", "--embeddings", "off"],
        env={**os.environ, "MCP_JOBS_COMMAND": agent, "AGENT_STARTS": str(starts), "AGENT_GATE": str(gate)},
    )
    job_id = None
    for quit_number in range(1, 5):
        if quit_number == 4:
            gate.touch()  # the fourth start lets the agent finish
        async with Client(params) as client:
            if job_id is None:
                job_id = ok(await client.call_tool("job_create", {"title": "Report", "description": "Write it.",
                                                                  "job_type": "ONE_OFF"}))["id"]  # fmt: skip
            await wait_for(partial(agent_started, starts, quit_number), 30)
            if quit_number == 4:
                done = await poll_job(client, job_id, lambda job: job["status"] == "COMPLETED")
    runs = sorted(done["runs"], key=lambda run: run["started_at"])
    assert [run["outcome"] for run in runs] == ["interrupted"] * 3 + ["succeeded"]
    assert {run["error"] for run in runs[:3]} == {"interrupted: the server shut down"}
    assert [run["attempt"] for run in runs] == [1, 1, 1, 1]
    assert done["status_reason"] == "done"


async def test_sigterm_mid_run_records_the_run_as_interrupted_by_the_shutdown(db_path: Path, tmp_path: Path) -> None:
    starts, gate = tmp_path / "starts", tmp_path / "gate"
    async with SQLiteStore(db_path) as store:
        job, _ = await store.create_job(new_job(datetime.now(UTC), title="Report"))
    agent = f"{sys.executable} {Path(__file__).parents[1] / 'fakes' / 'gated_agent.py'}"
    env = {**os.environ, "MCP_JOBS_COMMAND": agent, "AGENT_STARTS": str(starts), "AGENT_GATE": str(gate)}
    args = ["serve", "--db", str(db_path), "--timezone", "UTC", "--backends", "command", "--embeddings", "off"]
    # stdin stays open, as a desktop client's pipe does: only the signal stops the server.
    process = await anyio.open_process([COMMAND, *args], env=env, stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    async with process:
        await wait_for(partial(agent_started, starts, 1), 30)
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            assert await process.wait() == 0
    with sqlite3.connect(db_path) as conn:
        runs = conn.execute("SELECT outcome, error FROM runs").fetchall()
        status, attempt = conn.execute("SELECT status, attempt FROM jobs WHERE id = ?", (job.id,)).fetchone()
    assert runs == [("interrupted", "interrupted: the server shut down")]
    assert (status, attempt) == ("ACTIVE", 0)
