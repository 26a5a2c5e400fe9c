"""`mcp-server-jobs migrate`: a SQLite database and its tokens file copied into PostgreSQL, read back the same,
and a PostgreSQL server carrying on from there; a target that holds jobs is refused and left as it was."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import JobStatus
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.server.requests import JobCreateRequest
from mcp_server_jobs.server.tokens import DatabaseTokens, TokensFile, TokenVerifier
from mcp_server_jobs.store import JobFilter, JobStore, Vector
from mcp_server_jobs.store.base import DefinedJob
from mcp_server_jobs.store.factory import open_store
from tests.conftest import START, dump, open_world
from tests.fakes.agents import SucceedingAgent
from tests.integration.test_processes import COMMAND

pytestmark = pytest.mark.anyio


def migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, "migrate", *args], capture_output=True, text=True, timeout=120)


async def populate(db: Path, clock: FakeClock) -> None:
    """Jobs of every kind with runs, read and unread messages, a failed webhook delivery, a vector, a
    dependency and a jobs-file definition: a row in every table migrate copies."""
    async with open_world(db, clock, [SucceedingAgent()], Policy(webhook_attempts=1)) as world:
        world.scheduler.webhook = "http://127.0.0.1:9/hook"  # nothing listens: the delivery fails
        once = await world.create(title="Ping the team", job_type="ONE_OFF", notify="always")
        hourly = await world.create(title="Poll the feed", job_type="RECURRING", schedule={"every": "1h"})
        await world.create(title="After the poll", job_type="ONE_OFF", depends_on=[hourly.id],
                           schedule={"run_at": (START + timedelta(days=2)).isoformat()})  # fmt: skip
        paused = await world.create(title="Paused report", job_type="SCHEDULED", schedule={"cron": "0 9 * * *"})
        await world.service.pause("local", paused.id, "away for a week")
        await world.at(START)
        await world.at(START + timedelta(hours=1))
        [*_, first] = await world.store.list_messages("local", unread_only=True, limit=10)
        await world.store.mark_read("local", [first.id], START + timedelta(hours=1))
        job = await world.store.get_job("local", once.id)
        await world.store.put_vector(job, Vector("test-model", np.array([0.6, 0.8], dtype=np.float32)))
        await world.store.put_defined_job(DefinedJob("nightly", "local", hourly.id, "digest-1"))
        await world.service.create(
            "alice", JobCreateRequest.model_validate({"title": "Alice's", "description": "x", "job_type": "ONE_OFF"})
        )


async def everything(store: JobStore) -> dict[str, object]:
    """What a user sees of the store: every job of both users with its runs, the inboxes, definitions, vectors."""
    seen: dict[str, object] = {"defined": await store.defined_jobs()}
    for user in ("local", "alice"):
        jobs = await store.list_jobs(user, JobFilter(), 100)
        seen[user] = [(job, await store.list_runs(job.id, 100)) for job in jobs]
        seen[f"{user} inbox"] = await store.list_messages(user, unread_only=False, limit=100)
    hits = await store.search_similar("local", Vector("test-model", np.array([0.6, 0.8])), JobFilter(), 5, 0.5)
    seen["similar"] = [(hit.job.id, round(hit.similarity, 6)) for hit in hits]
    seen["words"] = [hit.job.id for hit in await store.search_keywords("local", ["feed"], False, JobFilter(), 5)]
    return seen


async def test_migrate_copies_everything_and_a_server_carries_on(tmp_path: Path, pg_url: str, clock: FakeClock) -> None:
    source = tmp_path / "jobs.db"
    await populate(source, clock)
    tokens = TokensFile(tmp_path / "tokens.json")
    _, alice_token = tokens.add("alice")
    tokens.add("bob")
    before = dump(source)

    result = migrate(pg_url, "--db", str(source), "--tokens", str(tokens.path))

    assert result.returncode == 0, result.stderr
    counts = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert counts["jobs"][0] == "5"
    assert counts["runs"][0] == "3"
    assert counts["tokens"][0] == "2"
    assert all(numbers[0] == numbers[2] for numbers in counts.values()), result.stdout
    assert set(counts) == {"jobs", "job_dependencies", "runs", "inbox", "job_vectors", "defined_jobs",
                           "deliveries", "tokens"}  # fmt: skip
    assert all(int(counts[table][0]) > 0 for table in counts), "a table was empty: the test shows nothing for it"
    assert dump(source) == before, "migrate changed the SQLite file"
    async with open_store(source, clock=clock) as sqlite, open_store(pg_url, clock=clock) as postgres:
        seen = await everything(sqlite)
        assert await everything(postgres) == seen
        [hourly] = [job for job in await sqlite.list_jobs("local", JobFilter(), 100) if job.title == "Poll the feed"]
        [alices] = await sqlite.list_jobs("alice", JobFilter(), 100)  # made after the last sweep: due, not run
    assert seen["similar"]
    assert seen["words"]
    assert seen["local inbox"]
    assert seen["defined"]
    assert sorted(DatabaseTokens(pg_url).entries(), key=str) == sorted(tokens.entries(), key=str)
    signed_in = await TokenVerifier(DatabaseTokens(pg_url)).verify_token(alice_token)
    assert signed_in is not None
    assert signed_in.subject == "alice"
    # The copy is a working database: its scheduler runs the copied job's next hour, and the new job
    # takes a key past the copied ones.
    async with open_world(pg_url, clock, [SucceedingAgent()]) as world:
        new = await world.create(title="Made after the move", job_type="ONE_OFF")
        runs = await world.at(START + timedelta(hours=2))
        assert sorted(run.job_id for run in runs) == sorted([new.id, hourly.id, alices.id])
        assert (await world.job(new.id)).status is JobStatus.COMPLETED
        assert (await world.job(hourly.id)).run_count == hourly.run_count + 1


async def test_a_target_that_holds_jobs_is_refused_and_left_as_it_was(
    tmp_path: Path, pg_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "jobs.db"
    await populate(source, clock)
    assert migrate(pg_url, "--db", str(source), "--tokens", str(tmp_path / "none.json")).returncode == 0
    before = dump(pg_url)

    again = migrate(pg_url, "--db", str(source), "--tokens", str(tmp_path / "none.json"))

    assert again.returncode == 2
    assert "already holds jobs" in again.stderr
    assert "Nothing was copied." in again.stderr
    assert dump(pg_url) == before


def test_migrate_goes_from_a_sqlite_file_to_a_postgresql_url(tmp_path: Path, pg_url: str) -> None:
    backwards = migrate(str(tmp_path / "jobs.db"), "--db", pg_url)
    missing = migrate(pg_url, "--db", str(tmp_path / "absent.db"))
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    foreign = migrate(pg_url, "--db", str(tmp_path / "other.db"))

    assert backwards.returncode == 2
    assert "migrate copies a SQLite file" in backwards.stderr
    assert missing.returncode == 2
    assert f"no SQLite database at {tmp_path / 'absent.db'}" in missing.stderr
    assert foreign.returncode == 2
    assert "is not a jobs database" in foreign.stderr
    with psycopg.connect(pg_url) as conn:  # nothing was created in the target either
        assert conn.execute("SELECT to_regclass('jobs')").fetchone() == (None,)
