"""`mcp-server-jobs jobs ...` and `inbox` through the real entry point, on a real database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import anyio
import pytest

from mcp_server_jobs.models import InboxMessage, JobStatus
from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import START, dump, new_job
from tests.fakes.openai_server import FakeOpenAI, verdict
from tests.integration.test_processes import COMMAND

pytestmark = pytest.mark.anyio


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MCP_JOBS_TIMEZONE": "UTC"}
    return subprocess.run([COMMAND, *args, "--db", str(db)], capture_output=True, text=True, env=env, timeout=60)


def status_of(db: Path, job_id: str) -> str:
    with sqlite3.connect(db) as conn:
        status: str = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
        return status


@pytest.fixture
async def db(db_path: Path) -> Path:
    async with SQLiteStore(db_path) as store:
        await store.create_job(new_job(START, title="Pending invoices nudge").model_copy(update={"id": "job_invoices"}))
        await store.create_job(new_job(START, title="Paused one", status=JobStatus.PAUSED))
        await store.create_job(new_job(START, title="Bob's job", user_id="bob").model_copy(update={"id": "job_bobs"}))
        await store.add_message(
            InboxMessage(id="msg_1", user_id="local", job_id="job_invoices", run_id=None, title="Invoices: done",
                         body="Two clients were reminded.", created_at=START)
        )  # fmt: skip
    return db_path


async def test_list_shows_a_table_filters_and_json(db: Path) -> None:
    table = cli(db, "jobs", "list")
    paused = cli(db, "jobs", "list", "--status", "PAUSED", "--json")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "TYPE", "NEXT", "RUN", "TITLE"]
    assert any(row.startswith("job_invoices") and "Pending invoices nudge" in row for row in rows)
    assert "Bob's job" not in table.stdout
    assert [j["title"] for j in json.loads(paused.stdout)] == ["Paused one"]


async def test_show_pause_resume_cancel(db: Path) -> None:
    shown = cli(db, "jobs", "show", "job_invoices")
    as_json = json.loads(cli(db, "jobs", "show", "job_invoices", "--json").stdout)
    paused = cli(db, "jobs", "pause", "job_invoices")
    after_pause = status_of(db, "job_invoices")
    resumed = cli(db, "jobs", "resume", "job_invoices")
    after_resume = status_of(db, "job_invoices")
    cancelled = cli(db, "jobs", "cancel", "job_invoices", "--json")
    assert "Pending invoices nudge  (job_invoices)" in shown.stdout
    assert "status    ACTIVE" in shown.stdout
    assert as_json["id"] == "job_invoices"
    assert as_json["runs"] == []
    assert paused.stdout.strip() == "job_invoices is PAUSED (paused from the command line)"
    assert after_pause == "PAUSED"
    assert resumed.returncode == 0
    assert after_resume == "ACTIVE"
    assert json.loads(cancelled.stdout)["status"] == "CANCELLED"
    assert status_of(db, "job_invoices") == "CANCELLED"


async def test_bad_ids_other_users_jobs_and_a_missing_database(db: Path, tmp_path: Path) -> None:
    unknown = cli(db, "jobs", "show", "job_nope")
    others = cli(db, "jobs", "pause", "job_bobs")
    missing = cli(tmp_path / "absent.db", "jobs", "list")
    bad_limit = cli(db, "jobs", "list", "--limit", "-3")
    assert unknown.returncode == 1
    assert "No job with id 'job_nope'" in unknown.stderr
    assert others.returncode == 1
    assert others.stderr.replace("job_bobs", "job_nope") == unknown.stderr
    assert status_of(db, "job_bobs") == "ACTIVE"
    assert missing.returncode == 2
    assert "no database at" in missing.stderr
    assert not (tmp_path / "absent.db").exists()
    assert bad_limit.returncode == 2


async def test_inbox_lists_unread_and_marks_read(db: Path) -> None:
    unread = cli(db, "inbox")
    marked = cli(db, "inbox", "--mark-read")
    after = cli(db, "inbox", "--json")
    everything = cli(db, "inbox", "--all")
    assert "● " in unread.stdout
    assert "Invoices: done" in unread.stdout
    assert "Two clients were reminded." in unread.stdout
    assert "marked 1 read" in marked.stdout
    assert json.loads(after.stdout) == {"messages": [], "unread_count": 0}
    assert "Invoices: done" in everything.stdout
    assert "● " not in everything.stdout


def runs_of(db: Path, job_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT outcome, trigger FROM runs WHERE job_id = ?", (job_id,)).fetchall()


async def test_run_prints_the_context_sent_and_the_result_of_a_real_model_call(db: Path, provider: FakeOpenAI) -> None:
    provider.script = [verdict("Reminded Acme and Globex.", summary="two reminders sent")]
    # The fake provider answers from this event loop: the CLI must not block it.
    ran = await anyio.to_thread.run_sync(
        lambda: cli(db, "jobs", "run", "job_invoices", "--model", "openai-chat:fake-model")
    )
    assert ran.returncode == 0, ran.stderr
    context, result = ran.stdout.split("--- run ")
    assert context.startswith("--- context sent ---")
    assert "Pending invoices nudge" in context
    # What the CLI printed is what the model was sent.
    sent = provider.requests[0]["messages"][-1]["content"]
    assert context.removeprefix("--- context sent ---\n").strip() in sent
    assert ": succeeded (backend model) ---" in result
    assert "summary: two reminders sent" in result
    assert "Reminded Acme and Globex." in result
    assert "job_invoices is COMPLETED" in result  # a one-off done by hand is done
    assert runs_of(db, "job_invoices") == [("succeeded", "manual")]


async def test_run_a_failing_job_exits_1_and_says_why(db: Path) -> None:
    ran = cli(db, "jobs", "run", "job_invoices", "--backends", "command", "--command", "false", "--json")
    report = json.loads(ran.stdout)
    assert ran.returncode == 1
    assert report["run"]["outcome"] == "failed"
    assert "exited with" in report["run"]["error"]
    assert "Pending invoices nudge" in report["context"]
    assert runs_of(db, "job_invoices") == [("failed", "manual")]
    # A manual run leaves the job's schedule alone, and the failure is shown with it.
    assert status_of(db, "job_invoices") == "ACTIVE"
    shown = cli(db, "jobs", "show", "job_invoices").stdout
    assert "runs      1 failed" in shown
    assert "the run by hand failed: command exited with status 1" in shown


async def test_run_refuses_without_a_backend_or_with_a_bad_id_and_changes_nothing(db: Path) -> None:
    before = dump(db)
    no_backend = cli(db, "jobs", "run", "job_invoices")  # the default backends need a model
    unknown = cli(db, "jobs", "run", "job_nope", "--backends", "dry-run")
    others = cli(db, "jobs", "run", "job_bobs", "--backends", "dry-run")
    assert no_backend.returncode == 2
    assert "nothing can run the job here" in no_backend.stderr
    assert "doctor" in no_backend.stderr
    assert unknown.returncode == 1
    assert "No job with id 'job_nope'" in unknown.stderr
    assert others.returncode == 1
    assert dump(db) == before


async def test_run_with_dry_run_shows_the_context_once_and_changes_no_job(db: Path) -> None:
    jobs_before = [line for line in dump(db) if line.startswith('INSERT INTO "jobs"')]
    ran = cli(db, "jobs", "run", "job_invoices", "--backends", "dry-run")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count("Pending invoices nudge") == ran.stdout.split("--- run ")[0].count("Pending invoices nudge")
    assert ": preview (backend dry-run) ---" in ran.stdout
    # What each kind of backend would get: text backends are asked for JSON, the model backend is not.
    assert "end your answer with this JSON object" in ran.stdout
    assert "the model backend gets the context without the JSON paragraph" in ran.stdout
    assert [line for line in dump(db) if line.startswith('INSERT INTO "jobs"')] == jobs_before
    assert runs_of(db, "job_invoices") == [("preview", "manual")]
