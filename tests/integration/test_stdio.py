"""The installed command over stdio, as a desktop client starts it; state survives a restart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import dump, error_text, ok

pytestmark = pytest.mark.anyio

COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")


def server(db_path: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=COMMAND, args=["serve", "--db", str(db_path), "--timezone", "Europe/Paris", *extra]
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
