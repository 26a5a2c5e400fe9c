"""The scheduler on the real clock: jobs fall due and run by themselves, within generous deadlines."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server_jobs.clock import SystemClock
from mcp_server_jobs.config import Settings
from mcp_server_jobs.errors import StoreError
from mcp_server_jobs.models import Job
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.scheduler.backends.base import AgentResult
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.scheduler.verdict import Verdict
from mcp_server_jobs.server.app import build_server
from mcp_server_jobs.store.factory import open_store
from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import QUICK_AGENT, error_text, new_job, ok, poll_job, wait_for

pytestmark = pytest.mark.anyio


def live_settings(db_path: Path) -> Settings:
    return Settings(db=db_path, timezone="UTC", backends=("command",), command=QUICK_AGENT)


async def test_one_off_due_in_a_second_completes(db_path: Path) -> None:
    async with Client(build_server(live_settings(db_path))) as client:
        job = ok(
            await client.call_tool(
                "job_create",
                {"title": "Soon", "description": "Say hello.", "job_type": "ONE_OFF", "schedule": {"delay": "1s"}},
            )
        )
        done = await poll_job(client, job["id"], lambda j: j["status"] == "COMPLETED")
    assert job["warnings"] == []
    [run] = done["runs"]
    assert run["outcome"] == "succeeded"
    assert run["backend"] == "command"
    assert run["summary"] == "did it"
    assert 0 <= run["lateness_seconds"] < 5


async def test_every_second_three_times_then_completed(db_path: Path) -> None:
    async with Client(build_server(live_settings(db_path))) as client:
        job = ok(
            await client.call_tool(
                "job_create",
                {
                    "title": "Tick",
                    "description": "Count.",
                    "job_type": "RECURRING",
                    "schedule": {"every": "1s", "max_runs": 3},
                },
            )
        )
        done = await poll_job(client, job["id"], lambda j: j["status"] == "COMPLETED")
    scheduled = sorted(datetime.fromisoformat(r["scheduled_for"]) for r in done["runs"])
    assert done["run_count"] == 3
    assert [r["outcome"] for r in done["runs"]] == ["succeeded"] * 3
    assert [b - a for a, b in pairwise(scheduled)] == [timedelta(seconds=1)] * 2


async def test_run_now_through_the_tool(db_path: Path) -> None:
    async with Client(build_server(live_settings(db_path))) as client:
        job = ok(
            await client.call_tool(
                "job_create",
                {"title": "Digest", "description": "Weekly digest.", "job_type": "SCHEDULED",
                 "schedule": {"cron": "0 9 * * 1"}},
            )
        )  # fmt: skip
        started = ok(await client.call_tool("job_run_now", {"job_id": job["id"]}))
        done = await poll_job(client, job["id"], lambda j: j["status"] == "ACTIVE" and j["runs"])
        ok(await client.call_tool("job_cancel", {"job_id": job["id"]}))
        refused = error_text(await client.call_tool("job_run_now", {"job_id": job["id"]}))
    [run] = done["runs"]
    assert run["id"] == started["run_id"]
    assert run["outcome"] == "succeeded"
    assert done["next_run_at"] == job["next_run_at"]
    assert done["run_count"] == 0
    assert "is CANCELLED and cannot run now" in refused


async def test_run_now_without_run_jobs_answers_at_once_and_the_serving_process_runs_it(db_path: Path) -> None:
    tools_only = live_settings(db_path).model_copy(update={"run_jobs": False})
    digest = {"title": "Digest", "description": "Weekly digest.", "job_type": "SCHEDULED",
              "schedule": {"cron": "0 9 * * 1"}}  # fmt: skip
    async with Client(build_server(tools_only)) as client:
        job = ok(await client.call_tool("job_create", digest))
        alone = ok(await client.call_tool("job_run_now", {"job_id": job["id"]}))
        async with Client(build_server(live_settings(db_path))):  # a process that runs jobs comes up
            done = await poll_job(client, job["id"], lambda j: j["run_totals"].get("succeeded") == 1)
            again = ok(await client.call_tool("job_run_now", {"job_id": job["id"]}))
            twice = await poll_job(client, job["id"], lambda j: j["run_totals"].get("succeeded") == 2)
    assert alone["started"] == "no runner"
    assert alone["run_id"] is None
    assert "no process runs jobs on this database" in alone["note"]
    assert again["started"] == "handed over"
    assert f"pid {os.getpid()}" in again["note"]
    assert [run["outcome"] for run in done["runs"]] == ["succeeded"]
    assert twice["next_run_at"] == job["next_run_at"]
    assert twice["run_requested_at"] is None


@dataclass
class SlowAgent:
    """Stands in for an LLM agent that takes a while; counts how many runs overlap."""

    name: str = "slow"
    in_flight: int = 0
    most: int = 0
    done: list[str] = field(default_factory=list)

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await anyio.sleep(0.2)
        finally:
            self.in_flight -= 1
        self.done.append(job.id)
        return AgentResult(output="ok", verdict=Verdict(outcome="success", summary="ok"))


async def test_twenty_due_jobs_never_more_than_five_at_once(any_db: Path | str) -> None:
    agent = SlowAgent()
    now = datetime.now(UTC)
    async with open_store(any_db) as store:
        for _ in range(20):
            await store.create_job(new_job(now))
        scheduler = Scheduler(store, SystemClock(), [agent], Policy(max_concurrency=5))
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            with anyio.fail_after(30):
                while len(agent.done) < 20:  # noqa: ASYNC110 -- progress made by the scheduler's tasks
                    await anyio.sleep(0.02)
            group.cancel_scope.cancel()
    assert sorted(set(agent.done)) == sorted(agent.done)
    assert agent.most == 5


async def test_a_locked_database_delays_runs_but_does_not_stop_the_scheduler(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite only: its one write lock, held by another connection."""
    agent = SlowAgent()
    now = datetime.now(UTC)
    async with SQLiteStore(db_path, busy_timeout_ms=50) as store:
        scheduler = Scheduler(store, SystemClock(), [agent], Policy())
        async with anyio.create_task_group() as group:
            await group.start(scheduler.serve)
            with sqlite3.connect(db_path, isolation_level=None) as other:
                other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
                with pytest.raises(StoreError, match="database is locked"):
                    await store.create_job(new_job(now))
                await scheduler.wake()  # the dispatcher's claim meets the same lock, and must survive it
                await wait_for(lambda: "dispatch failed" in caplog.text)
                other.execute(
                    "INSERT INTO jobs (id, user_id, title, description, job_type, schedule, notify, status,"
                    " next_run_at, created_at, updated_at) SELECT 'job_locked01', 'local', 't', 'd',"
                    " 'ONE_OFF', '{\"timezone\": \"UTC\"}', 'auto', 'ACTIVE', '2000-01-01T00:00:00.000000Z',"
                    " '2000-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z'"
                )
                other.execute("COMMIT")
            await scheduler.wake()
            with anyio.fail_after(10):
                while agent.done != ["job_locked01"]:  # noqa: ASYNC110 -- progress made by the scheduler
                    await anyio.sleep(0.02)
            group.cancel_scope.cancel()


async def test_a_listening_client_hears_of_new_inbox_messages(db_path: Path) -> None:
    async with Client(build_server(live_settings(db_path))) as client:
        async with client.listen(resource_subscriptions=["inbox://unread"]) as events:
            job = ok(
                await client.call_tool(
                    "job_create",
                    {"title": "Ping", "description": "Say hi.", "job_type": "ONE_OFF", "notify": "always"},
                )
            )
            with anyio.fail_after(20):
                event = await anext(aiter(events))
        inbox = ok(await client.call_tool("inbox_list", {}))
    assert getattr(event, "uri", None) == "inbox://unread"
    [message] = inbox["results"]
    assert message["job_id"] == job["id"]
    assert message["title"] == "Ping: succeeded"
    assert inbox["unread_count"] == 1
