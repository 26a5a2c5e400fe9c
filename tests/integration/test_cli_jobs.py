"""`mcp-server-jobs jobs ...` and `inbox` through the real entry point, on a real database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from mcp_server_jobs.models import InboxMessage, JobStatus
from mcp_server_jobs.store import SQLiteStore
from tests.conftest import START, new_job
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
