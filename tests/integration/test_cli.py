"""The command line, through the installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.embeddings import LOCAL_MODEL_ID
from mcp_server_jobs.lifecycle import NO_BACKEND_REASON
from mcp_server_jobs.models import JobStatus
from mcp_server_jobs.scheduler.decide import Policy
from mcp_server_jobs.store import SQLiteStore
from mcp_server_jobs.store.sqlite import schema_version
from tests.conftest import START, new_job, open_world
from tests.fakes.agents import SucceedingAgent

COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_JOBS_", "OPENAI_", "ANTHROPIC_"))}
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=60, env={**environ, **env})


def test_doctor_says_why_jobs_would_not_run(tmp_path: Path) -> None:
    result = run("doctor", "--db", str(tmp_path / "jobs.db"), "--timezone", "Europe/Paris")
    assert result.returncode == 1
    assert "database: " in result.stdout
    assert "not created yet" in result.stdout
    assert "timezone: Europe/Paris" in result.stdout
    assert "model: not usable: no model set" in result.stdout
    assert f"search by meaning: ready ({LOCAL_MODEL_ID})" in result.stdout
    assert "NOT READY" in result.stdout


def test_doctor_says_when_search_is_by_words_only(tmp_path: Path) -> None:
    result = run("doctor", "--db", str(tmp_path / "jobs.db"), "--embeddings", "off")
    assert "search by meaning: unavailable, searches rank by words only: meaning-based search is turned off" in (
        result.stdout
    )


def test_doctor_with_a_missing_key_names_it(tmp_path: Path) -> None:
    result = run("doctor", "--db", str(tmp_path / "jobs.db"), "--model", "openai:gpt-5-mini")
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stdout


@pytest.mark.anyio
async def test_doctor_ready_with_an_existing_database(tmp_path: Path, anyio_backend: str) -> None:
    db = tmp_path / "jobs.db"
    async with SQLiteStore(db) as store:
        await store.create_job(new_job(START))
    result = run("doctor", "--db", str(db), "--backends", "command", MCP_JOBS_COMMAND="sleep 1")
    assert result.returncode == 0, result.stdout
    assert f"schema version {schema_version()}, 1 jobs" in result.stdout
    assert "command: ready" in result.stdout
    assert "ready: jobs will run" in result.stdout


@pytest.mark.anyio
async def test_doctor_lists_what_needs_a_person_and_exits_1(tmp_path: Path, anyio_backend: str) -> None:
    db = tmp_path / "jobs.db"
    waiting = f"{NO_BACKEND_REASON} (no model set); next try at 2026-11-22T10:05:00+00:00"
    async with SQLiteStore(db) as store:
        for title, status, reason in [
            ("Broken", JobStatus.FAILED, "failed 3 attempts; last error: HTTP 500"),
            ("Stuck", JobStatus.BLOCKED, "dependency job_x failed"),
            ("Waiting", JobStatus.ACTIVE, waiting),
            ("Fine", JobStatus.ACTIVE, None),
        ]:
            job = new_job(START, title=title, status=status).model_copy(update={"status_reason": reason})
            await store.create_job(job)
    # A report whose webhook delivery fails for good (one post allowed; nothing listens on the discard port).
    async with open_world(db, FakeClock(START), [SucceedingAgent()], Policy(webhook_attempts=1)) as world:
        world.scheduler.webhook = "http://127.0.0.1:9/hook"
        reported = await world.create(title="Reported", job_type="ONE_OFF", notify="always")
        await world.at(START)
        waiting_job = new_job(START, title="Waiting").model_copy(update={"status_reason": waiting})
        await world.store.create_job(waiting_job)
    result = run("doctor", "--db", str(db), "--backends", "command", MCP_JOBS_COMMAND="sleep 1")
    assert result.returncode == 1, result.stdout
    assert "needs a person: 4" in result.stdout, result.stdout
    assert "FAILED: Broken — failed 3 attempts; last error: HTTP 500" in result.stdout
    assert "BLOCKED: Stuck — dependency job_x failed" in result.stdout
    assert "waiting for a backend: Waiting" in result.stdout
    assert (
        f"of {reported.id}: webhook delivery failed — webhook http://127.0.0.1:9/hook: gave up after 1 attempt(s)"
        in (result.stdout)
    )
    assert "Fine" not in result.stdout


def test_bad_settings_exit_2_with_the_reason(tmp_path: Path) -> None:
    result = run("doctor", "--db", str(tmp_path / "jobs.db"), "--timezone", "Mars/Base")
    assert result.returncode == 2
    assert "unknown timezone 'Mars/Base'" in result.stderr
