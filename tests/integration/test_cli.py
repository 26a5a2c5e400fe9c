"""The command line, through the installed entry point."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.embeddings import LOCAL_MODEL_ID
from mcp_server_jobs.lifecycle import NO_BACKEND_REASON
from mcp_server_jobs.models import JobStatus
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.store.factory import open_store
from mcp_server_jobs.store.migrations import schema_version
from tests.conftest import START, new_job, open_world
from tests.fakes.agents import SucceedingAgent
from tests.integration.test_readme import help_text

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
async def test_doctor_ready_with_an_existing_database(any_db: Path | str, anyio_backend: str) -> None:
    async with open_store(any_db) as store:
        await store.create_job(new_job(START))
    result = run("doctor", "--db", str(any_db), "--backends", "command", MCP_JOBS_COMMAND="sleep 1")
    assert result.returncode == 0, result.stdout
    package = "mcp_server_jobs.store.postgres" if isinstance(any_db, str) else "mcp_server_jobs.store"
    assert f"schema version {schema_version(package)}, 1 jobs" in result.stdout
    assert "command: ready" in result.stdout
    assert "ready: jobs will run" in result.stdout


@pytest.mark.anyio
async def test_doctor_lists_what_needs_a_person_and_exits_1(any_db: Path | str, anyio_backend: str) -> None:
    db = any_db
    waiting = f"{NO_BACKEND_REASON} (no model set); next try at 2026-11-22T10:05:00+00:00"
    async with open_store(db) as store:
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


def test_python_dash_m_is_the_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mcp_server_jobs", "jobs", "list", "--db", str(tmp_path / "absent.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"no database at {tmp_path / 'absent.db'}" in result.stderr


STORE_FLAGS = {"--db", "--user", "--config", "--json"}
BACKEND_FLAGS = {"--backends", "--model", "--command", "--agent-servers", "--mcp-agent-server", "--mcp-agent-tool"}
OWN_FLAGS = {
    ("jobs", "list"): STORE_FLAGS | {"--status", "--type", "--limit"},
    ("jobs", "show"): STORE_FLAGS | {"--runs"},
    ("jobs", "pause"): STORE_FLAGS,
    ("jobs", "resume"): STORE_FLAGS,
    ("jobs", "cancel"): STORE_FLAGS,
    ("jobs", "run"): STORE_FLAGS | BACKEND_FLAGS | {"--webhook"},
    ("inbox",): STORE_FLAGS | {"--timezone", "--all", "--mark-read"},
    ("token", "add"): {"--db", "--tokens", "--config"},
    ("token", "list"): {"--db", "--tokens", "--config"},
    ("token", "revoke"): {"--db", "--tokens", "--config"},
    ("migrate",): {"--db", "--tokens", "--config"},
}


def test_each_command_help_shows_its_own_options_each_described() -> None:
    serve = described_options("serve")
    assert {"--transport", "--port", "--tokens", "--jobs-file", "--run-jobs", *BACKEND_FLAGS} <= set(serve)
    assert described_options("doctor").keys() == serve.keys()  # doctor checks serve's command line
    for path, flags in OWN_FLAGS.items():
        assert set(described_options(*path)) == flags | {"--help"}, path


def described_options(*path: str) -> dict[str, str]:
    """The options `mcp-server-jobs PATH --help` lists, each with its description (fails if one has none)."""
    text = help_text(*path)
    options: dict[str, str] = {}
    flag = None
    for line in text.split("\noptions:\n", 1)[1].splitlines():
        entry = re.match(r"^  (-\w, )?(--[\w-]+)(.*?)(?:  +(.*))?$", line)
        if entry:
            flag = entry.group(2)
            options[flag] = entry.group(4) or ""
        elif flag and line.startswith("    "):
            options[flag] += " " + line.strip()
    positional = text.split("\npositional arguments:\n", 1)[1].split("\n\n")[0] if "positional" in text else ""
    for line in positional.splitlines():
        assert re.match(r"^  \S+ +\S", line) or line.startswith("    "), f"{path}: {line!r} has no description"
    undescribed = [name for name, description in options.items() if not description.strip()]
    assert not undescribed, f"mcp-server-jobs {' '.join(path)}: no description for {undescribed}"
    return options


def test_serve_starts_quietly_and_warns_once_when_no_backend_can_run_jobs(tmp_path: Path) -> None:
    # stdin closed: the stdio server starts (database, scheduler) and stops at once.
    result = subprocess.run(
        [COMMAND, "serve", "--db", str(tmp_path / "jobs.db"), "--embeddings", "off"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MCP_JOBS_", "OPENAI_", "ANTHROPIC_"))},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING mcp_server_jobs: " in line]
    assert len(warnings) == 1, result.stderr
    assert "no backend can run jobs yet (model: no model set" in warnings[0]
    assert "mcp-server-jobs doctor" in warnings[0]
    assert "apscheduler" not in result.stderr  # its per-alarm INFO lines
    assert (tmp_path / "jobs.db").exists()


def test_a_taken_port_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        jobs_file = tmp_path / "jobs.toml"
        jobs_file.write_text('[jobs.a]\ntitle = "A"\ndescription = "Do A."\njob_type = "ONE_OFF"\n')
        result = run(
            "serve", "--transport", "http", "--port", str(port), "--db", str(tmp_path / "jobs.db"),
            "--tokens", str(tmp_path / "tokens.json"), "--jobs-file", str(jobs_file),
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"mcp-server-jobs: cannot listen on 127.0.0.1:{port}: Address already in use; another process is using it; "
        "stop it or choose another --port"
    ]
    assert not (tmp_path / "jobs.db").exists()  # neither the jobs file nor the scheduler got to start
