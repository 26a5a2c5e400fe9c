"""Real server processes on one database: no job runs twice, and a killed server loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_server_jobs.models import Notify
from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import QUICK_AGENT, new_job, ok, process_alive, wait_for
from tests.fakes.loopback import serve

pytestmark = pytest.mark.anyio

COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(
    db: Path | str, log: Path, environ: dict[str, str] | None = None, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A `mcp-server-jobs serve --transport http` process with `settings` (MCP_JOBS_*) and more `environ`;
    stopped (SIGTERM) on exit if still alive."""
    port = free_port()
    # A tokens file of the test's own, never the machine's default one.
    base = {"MCP_JOBS_TIMEZONE": "UTC", "MCP_JOBS_TOKENS": str(log.parent / "tokens.json")}
    environ = {**os.environ, **base, **{f"MCP_JOBS_{k.upper()}": v for k, v in settings.items()}, **(environ or {})}
    with log.open("ab") as err:
        process = subprocess.Popen(
            [COMMAND, "serve", "--transport", "http", "--port", str(port), "--db", str(db)],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def query(db_path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


async def test_two_servers_run_each_of_200_due_jobs_exactly_once(db_path: Path, tmp_path: Path) -> None:
    due = datetime.now(UTC) + timedelta(seconds=3)
    async with SQLiteStore(db_path) as store:
        ids = [(await store.create_job(new_job(due)))[0].id for _ in range(200)]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    quick = {"backends": "command", "command": QUICK_AGENT}
    agent_logs = [tmp_path / "a.agent", tmp_path / "b.agent"]
    with (
        server(db_path, logs[0], {"AGENT_LOG": str(agent_logs[0])}, **quick) as (a, _),
        server(db_path, logs[1], {"AGENT_LOG": str(agent_logs[1])}, **quick) as (b, _),
    ):
        await wait_for(
            lambda: query(db_path, "SELECT count(*) FROM jobs WHERE status = 'COMPLETED'")[0][0] == 200, seconds=60
        )
        assert a.poll() is None
        assert b.poll() is None
    per_job = dict(query(db_path, "SELECT job_id, count(*) FROM runs GROUP BY job_id"))
    assert per_job == dict.fromkeys(ids, 1)
    assert query(db_path, "SELECT DISTINCT outcome FROM runs") == [("succeeded",)]
    # The agent's own note, once per invocation, across both processes.
    calls = [Counter(log.read_text().split()) if log.exists() else Counter() for log in agent_logs]
    assert sum(calls, Counter()) == Counter(ids)
    assert all(calls), f"one server ran nothing: {[sum(c.values()) for c in calls]}"
    # Quiet by default: no APScheduler line per alarm, no backend warning when one can run jobs.
    assert not [log for log in logs if "apscheduler" in log.read_text() or "no backend can" in log.read_text()]


async def test_sigkill_during_a_run_loses_nothing(db_path: Path, tmp_path: Path) -> None:
    fast = {"lease_seconds": "1", "sweep_seconds": "0.2"}
    async with SQLiteStore(db_path) as store:
        long_job, _ = await store.create_job(new_job(datetime.now(UTC), title="Long"))
    with server(db_path, tmp_path / "a.log", backends="command", command="sleep 60", **fast) as (first, _):
        await wait_for(lambda: query(db_path, "SELECT count(*) FROM runs WHERE outcome = 'running'")[0][0] == 1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # While the server is down, another job falls due.
    down_due = datetime.now(UTC) + timedelta(seconds=0.5)
    async with SQLiteStore(db_path) as store:
        down_job, _ = await store.create_job(new_job(down_due, title="Due while down"))
    await anyio.sleep((down_due + timedelta(seconds=1) - datetime.now(UTC)).total_seconds())

    with server(db_path, tmp_path / "b.log", backends="command", command=QUICK_AGENT, **fast) as (_, port):
        await wait_for(
            lambda: query(db_path, "SELECT count(*) FROM jobs WHERE status = 'COMPLETED'")[0][0] == 2, seconds=30
        )
        await wait_for(lambda: listening(port))
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            long_view = ok(await client.call_tool("job_retrieval_by_id", {"job_id": long_job.id}))
            down_view = ok(await client.call_tool("job_retrieval_by_id", {"job_id": down_job.id}))

    assert query(db_path, "SELECT count(*) FROM jobs WHERE status = 'IN_PROGRESS'") == [(0,)]
    newest_first = [(r["outcome"], r["attempt"]) for r in long_view["runs"]]
    assert newest_first == [("succeeded", 2), ("interrupted", 1)]
    assert "lease expired" in long_view["runs"][1]["error"]
    [late] = down_view["runs"]
    assert late["outcome"] == "succeeded"
    assert late["lateness_seconds"] >= 1.0


# Starts a helper, writes its own pid and the helper's to the file it is given, and works for a long time.
LONG_AGENT = """
import os, pathlib, subprocess, sys, time
sys.stdin.read()
helper = subprocess.Popen(["sleep", "60"])
pids = pathlib.Path(sys.argv[1])
pids.with_suffix(".tmp").write_text(f"{os.getpid()} {helper.pid}")
pids.with_suffix(".tmp").rename(pids)
time.sleep(60)
"""


async def test_sigkill_of_the_server_leaves_no_agent_running(db_path: Path, tmp_path: Path) -> None:
    script, pid_file = tmp_path / "agent.py", tmp_path / "agent.pids"
    script.write_text(LONG_AGENT)
    async with SQLiteStore(db_path) as store:
        await store.create_job(new_job(datetime.now(UTC), title="Long"))
    command = f"{sys.executable} {script} {pid_file}"
    with server(db_path, tmp_path / "a.log", backends="command", command=command) as (first, _):
        await wait_for(pid_file.exists, seconds=30)
        pids = [int(pid) for pid in pid_file.read_text().split()]
        try:
            await wait_for(lambda: query(db_path, "SELECT agent_pid FROM runs") == [(pids[0],)])
            first.kill()  # the server alone, as kill -9 would
            first.wait()
            await wait_for(lambda: not any(process_alive(pid) for pid in pids), seconds=5)
        finally:
            for pid in pids:  # a failed test leaves no orphans behind either
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


async def test_sigkill_between_a_runs_end_and_its_delivery_loses_no_report(db_path: Path, tmp_path: Path) -> None:
    """kill -9 right after the run's end is committed: its inbox message is there (same transaction), and
    the webhook delivery pending at the kill is posted by the next start."""
    received: list[dict[str, object]] = []

    async def hook(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=204)

    async with SQLiteStore(db_path) as store:
        job, _ = await store.create_job(
            new_job(datetime.now(UTC), title="Report").model_copy(update={"notify": Notify.ALWAYS})
        )
    async with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        settings = {"backends": "command", "command": QUICK_AGENT, "webhook": f"{url}/hook", "sweep_seconds": "0.2"}
        with server(db_path, tmp_path / "a.log", {"MCP_JOBS_CRASH_AT": "after-finish-run"}, **settings) as (first, _):
            with anyio.fail_after(30):
                while first.poll() is None:  # noqa: ASYNC110 -- another process
                    await anyio.sleep(0.05)
        assert first.returncode == -signal.SIGKILL
        at_kill = query(
            db_path,
            "SELECT j.status, count(i.id), d.state FROM jobs j "
            "LEFT JOIN inbox i ON i.job_id = j.id LEFT JOIN deliveries d ON d.message_id = i.id",
        )
        assert received == []
        with server(db_path, tmp_path / "b.log", **settings):
            await wait_for(lambda: len(received) == 1, seconds=30)
            await wait_for(lambda: query(db_path, "SELECT state FROM deliveries") == [("delivered",)])
    assert at_kill == [("COMPLETED", 1, "pending")]
    [payload] = received
    assert payload["job"] == {"id": job.id, "title": "Report", "status": "COMPLETED", "job_type": "ONE_OFF"}
