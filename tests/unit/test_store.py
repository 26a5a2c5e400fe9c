"""The store contract on both databases: the transition table on every write, optimistic versions; SQLite's
migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from mcp_server_jobs.errors import Conflict, ForbiddenTransition, InvalidInput, JobNotFound
from mcp_server_jobs.lifecycle import TRANSITIONS, allowed
from mcp_server_jobs.models import InboxMessage, JobChanges, JobStatus
from mcp_server_jobs.store import JobFilter
from mcp_server_jobs.store.factory import open_store
from mcp_server_jobs.store.migrations import schema_version
from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import START, dump, new_job

pytestmark = pytest.mark.anyio


async def test_schema_is_versioned_and_two_openers_agree(db_path: Path) -> None:
    """SQLite only: its user_version, WAL and file; tests/postgres/test_store.py does the same on PostgreSQL."""

    async def open_close() -> None:
        async with SQLiteStore(db_path):
            pass

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(open_close)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema_version()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"jobs", "job_dependencies", "runs", "inbox", "jobs_fts"} <= tables


@pytest.mark.parametrize("current", list(JobStatus))
async def test_every_write_follows_the_transition_table(any_db: Path | str, current: JobStatus) -> None:
    async with open_store(any_db) as store:
        for target in JobStatus:
            if target == current:
                continue
            job, _ = await store.create_job(new_job(START, status=current))
            before = dump(any_db)
            if allowed(current, target):
                changed = await store.update_job(
                    "local", job.id, JobChanges(status=target), expected_version=job.version
                )
                assert changed.status == target
                assert changed.version == job.version + 1
            else:
                with pytest.raises(ForbiddenTransition, match=f"cannot become {target}"):
                    await store.update_job("local", job.id, JobChanges(status=target), expected_version=job.version)
                assert dump(any_db) == before


def test_terminal_statuses_lead_only_to_archive() -> None:
    for status in (JobStatus.COMPLETED, JobStatus.CANCELLED):
        assert TRANSITIONS[status] == {JobStatus.ARCHIVED}
    assert TRANSITIONS[JobStatus.ARCHIVED] == frozenset()


async def test_stale_version_is_a_conflict_and_changes_nothing(any_db: Path | str) -> None:
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START))
        await store.update_job("local", job.id, JobChanges(title="first"), expected_version=job.version)
        before = dump(any_db)
        with pytest.raises(Conflict):
            await store.update_job("local", job.id, JobChanges(title="second"), expected_version=job.version)
        assert dump(any_db) == before


async def test_rows_of_another_user_are_missing(any_db: Path | str) -> None:
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START, user_id="alice"))
        with pytest.raises(JobNotFound):
            await store.get_job("bob", job.id)
        with pytest.raises(JobNotFound):
            await store.update_job("bob", job.id, JobChanges(title="x"), expected_version=job.version)
        assert await store.list_jobs("bob", JobFilter(), 10) == []
        assert await store.get_jobs("bob", [job.id]) == []


async def test_an_inbox_past_its_size_drops_read_messages_before_unread_ones(any_db: Path | str) -> None:
    def message(n: int, user: str = "local", read: bool = False) -> InboxMessage:
        return InboxMessage(
            id=f"msg_{user}_{n}", user_id=user, job_id=None, run_id=None, title=f"m{n}", body="",
            created_at=START, read_at=START if read else None,
        )  # fmt: skip

    async with open_store(any_db) as store:
        await store.add_message(message(0, user="bob"))
        for n in range(1, 5):
            await store.add_message(message(n, read=n <= 2), keep=3)
        await store.add_message(message(5), keep=3)
        kept = [m.title for m in await store.list_messages("local", False, 10)]
        await store.add_message(message(6), keep=3)
        then = [m.title for m in await store.list_messages("local", False, 10)]
        bobs = [m.title for m in await store.list_messages("bob", False, 10)]
    assert kept == ["m5", "m4", "m3"]  # the read m1 and m2 went first
    assert then == ["m6", "m5", "m4"]  # only unread left: the oldest of them goes
    assert bobs == ["m0"]


async def test_a_write_cancelled_at_any_point_leaves_the_connection_usable(any_db: Path | str) -> None:
    """A server stopping cancels writes midway; the runs it records on the way out must still be written."""
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START))
        for checkpoints in range(12):
            async with anyio.create_task_group() as group:
                group.start_soon(store.drop_worker, "gone")
                for _ in range(checkpoints):
                    await anyio.lowlevel.checkpoint()
                group.cancel_scope.cancel()
            await store.update_job("local", job.id, JobChanges(title=f"t{checkpoints}"), expected_version=checkpoints)
        assert (await store.get_job("local", job.id)).title == "t11"


async def test_keywords_are_plain_words_whatever_query_syntax_they_hold(any_db: Path | str) -> None:
    syntax = ["foo AND", '"unbalanced', "NEAR(", "c++ (beta)", "invoice' OR 1=1 --", "description:invoice",
              "a & !b | c:*", "invoice:* <-> (x", "x\\' )"]  # fmt: skip
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START, title="Chase the overdue invoice"))
        found = {text: await store.search_keywords("local", [text], False, JobFilter(), 10) for text in syntax}
        counts = await store.word_counts(["invoice", "the", "absent"])
        with pytest.raises(InvalidInput, match="no words"):
            await store.search_keywords("local", ["!!! ()"], False, JobFilter(), 10)
    assert [hit.job.id for hit in found["invoice' OR 1=1 --"]] == [job.id]
    assert [hit.job.id for hit in found["description:invoice"]] == [job.id]
    assert found["foo AND"] == found['"unbalanced'] == found["NEAR("] == []
    assert counts == {"invoice": 1, "the": 1, "absent": 0}


async def test_a_title_match_ranks_first_and_a_snippet_marks_the_words_it_matched(any_db: Path | str) -> None:
    words = " ".join(f"word{n}" for n in range(40))
    async with open_store(any_db) as store:
        in_text, _ = await store.create_job(
            new_job(START, title="Quarterly figures").model_copy(update={"description": f"{words} invoices {words}"})
        )
        in_title, _ = await store.create_job(new_job(START, title="Invoices to chase"))
        hits = await store.search_keywords("local", ["invoices"], True, JobFilter(), 10)
    assert [hit.job.id for hit in hits] == [in_title.id, in_text.id]
    assert hits[0].rank < hits[1].rank
    assert hits[0].snippet == "**Invoices** to chase"
    assert "**invoices**" in hits[1].snippet
    assert hits[1].snippet.startswith("…")
    assert hits[1].snippet.endswith("…")
