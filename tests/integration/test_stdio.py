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
