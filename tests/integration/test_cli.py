"""The command line, through the installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server_jobs.embeddings import LOCAL_MODEL_ID
from mcp_server_jobs.store import SQLiteStore
from mcp_server_jobs.store.sqlite import schema_version
from tests.conftest import START, new_job

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


def test_bad_settings_exit_2_with_the_reason(tmp_path: Path) -> None:
    result = run("doctor", "--db", str(tmp_path / "jobs.db"), "--timezone", "Mars/Base")
    assert result.returncode == 2
    assert "unknown timezone 'Mars/Base'" in result.stderr
