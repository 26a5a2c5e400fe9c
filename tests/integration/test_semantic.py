"""Finding jobs by meaning through a real MCP client: hybrid ranking, filters, near-duplicates, fallbacks."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_jobs import embeddings
from mcp_server_jobs.embeddings import LOCAL_MODEL_ID
from mcp_server_jobs.server import retrieval
from mcp_server_jobs.store import queries as q
from mcp_server_jobs.store.codec import job_params
from mcp_server_jobs.store.migrations import migrations, statements
from tests.conftest import START, ConnectFn, error_text, new_job, ok, wait_for
from tests.fakes.openai_server import FakeOpenAI, error

pytestmark = pytest.mark.anyio

INVOICES = {
    "title": "Pending invoices nudge",
    "description": "Every Monday, check the accounting inbox for invoices more than 30 days overdue and send a "
    "polite reminder email to each client.",
    "job_type": "SCHEDULED",
    "schedule": {"cron": "0 9 * * 1"},
    "related_entities": [{"name": "Acme Corp", "kind": "company"}],
}
STANDUP = {
    "title": "Weekly standup notes",
    "description": "Summarise the #standup Slack channel every Friday.",
    "job_type": "SCHEDULED",
    "schedule": {"cron": "0 17 * * 5"},
}
PLANTS = {
    "title": "Water the office plants",
    "description": "Every Tuesday remind me to water the plants in the office kitchen.",
    "job_type": "SCHEDULED",
    "schedule": {"cron": "0 10 * * 2"},
}
BACKUP = {
    "title": "Nightly database backup check",
    "description": "Check that last night's Postgres backup finished and its size looks normal.",
    "job_type": "RECURRING",
    "schedule": {"every": "1d"},
}


async def create(client: Client, job: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return ok(await client.call_tool("job_create", {**job, **overrides}))


async def search(client: Client, query: str, **arguments: Any) -> dict[str, Any]:
    return ok(await client.call_tool("job_retrieval_semantic", {"query": query, **arguments}))


def vector_models(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT model FROM job_vectors")]


async def test_a_paraphrase_finds_the_job_though_they_share_no_word(connect: ConnectFn) -> None:
    async with connect() as client:
        invoices = await create(client, INVOICES)
        for job in (STANDUP, PLANTS, BACKUP):
            await create(client, job)
        by_words = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "chasing unpaid bills"}))
        found = await search(client, "what was that thing about chasing unpaid bills?")
    assert by_words["results"] == []
    assert found["mode"] == "hybrid"
    assert found["warnings"] == []
    first = found["results"][0]
    assert first["id"] == invoices["id"]
    assert first["matched"] == "meaning"
    assert first["similarity"] > 0.25
    assert first["snippet"] is None


async def test_each_result_says_whether_it_matched_by_words_meaning_or_both(connect: ConnectFn) -> None:
    async with connect() as client:
        invoices = await create(client, INVOICES)
        plants = await create(client, PLANTS)
        await create(client, STANDUP)
        both = await search(client, "invoices for Acme")
        words = await search(client, "kitchen renovation budget")
    assert both["results"][0]["id"] == invoices["id"]
    assert both["results"][0]["matched"] == "both"
    assert "**invoices**" in both["results"][0]["snippet"]
    assert both["results"][0]["similarity"] > 0.5
    # "kitchen" is in the plants job, but a renovation budget means nothing like watering plants.
    assert [(r["id"], r["matched"], r["similarity"]) for r in words["results"]] == [(plants["id"], "words", None)]
    scores = [r["score"] for r in both["results"]]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[-1] <= scores[0] <= 1


async def test_a_word_in_very_many_jobs_is_left_to_meaning(connect: ConnectFn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieval, "COMMON_WORD_JOBS", 1)  # "invoices" below is in two jobs: common
    async with connect() as client:
        invoices = await create(client, INVOICES)
        await create(
            client,
            INVOICES,
            title="Supplier invoices",
            description="Pay supplier invoices on Friday.",
            related_entities=[],
        )
        common = await search(client, "invoices")
        telling = await search(client, "Acme invoices")
    assert {r["matched"] for r in common["results"]} == {"meaning"}
    assert telling["results"][0]["id"] == invoices["id"]
    assert telling["results"][0]["matched"] == "both"
    assert telling["results"][0]["snippet"].startswith("**Acme** Corp")


async def test_filters_apply_before_ranking(connect: ConnectFn) -> None:
    async with connect() as client:
        for n in range(6):
            await create(client, INVOICES, title=f"Overdue invoice reminders, batch {n}")
        paused = await create(client, BACKUP, title="Chase the late payers", description="Email clients who owe us.")
        ok(await client.call_tool("job_pause", {"job_id": paused["id"]}))
        only_paused = await search(client, "unpaid invoices", status=["PAUSED"], limit=1)
        only_recurring = await search(client, "unpaid invoices", job_type=["RECURRING"], limit=1)
        top = await search(client, "unpaid invoices", limit=3)
    # Six active jobs rank above it, yet the filter finds it with a limit of one.
    assert [r["id"] for r in only_paused["results"]] == [paused["id"]]
    assert [r["id"] for r in only_recurring["results"]] == [paused["id"]]
    assert paused["id"] not in [r["id"] for r in top["results"]]


async def test_another_users_jobs_are_never_found(connect: ConnectFn) -> None:
    async with connect(user="alice") as alice:
        await create(alice, INVOICES)
    async with connect(user="bob") as bob:
        await create(bob, STANDUP)
        found = await search(bob, "overdue invoices for Acme")
    assert [r["title"] for r in found["results"]] == []


async def test_editing_a_jobs_text_moves_it_to_its_new_meaning(connect: ConnectFn) -> None:
    async with connect() as client:
        job = await create(client, INVOICES)
        await create(client, STANDUP)
        before = await search(client, "did the db snapshot succeed")
        edit = {"title": BACKUP["title"], "description": BACKUP["description"], "related_entities": []}
        ok(await client.call_tool("job_update", {"job_id": job["id"], **edit}))
        after = await search(client, "did the db snapshot succeed")
        old_meaning = await search(client, "chasing unpaid bills")
    assert job["id"] not in [r["id"] for r in before["results"]]
    assert after["results"][0]["id"] == job["id"]
    assert after["results"][0]["matched"] == "meaning"
    assert job["id"] not in [r["id"] for r in old_meaning["results"]]


async def test_a_near_duplicate_is_created_with_a_warning_naming_the_original(connect: ConnectFn) -> None:
    async with connect() as client:
        original = await create(client, INVOICES)
        copy = await create(
            client,
            INVOICES,
            title="Chase unpaid invoices weekly",
            description="Each Monday look for client invoices overdue by a month or more and email them a reminder.",
        )
        unrelated = await create(client, PLANTS)
        ok(await client.call_tool("job_cancel", {"job_id": copy["id"]}))
        after_cancel = await create(client, INVOICES, title="Remind clients about overdue invoices")
        retried = await create(client, PLANTS, dedup_key="plants")
        retried_again = await create(client, PLANTS, dedup_key="plants")
    assert copy["id"] != original["id"]
    assert copy["status"] == "ACTIVE"
    assert [s["id"] for s in copy["similar_jobs"]] == [original["id"]]
    assert copy["similar_jobs"][0]["similarity"] >= 0.7
    assert any("similar_jobs" in w for w in copy["warnings"])
    assert unrelated["similar_jobs"] == []
    # Only live jobs count: the cancelled copy is not reported again.
    assert [s["id"] for s in after_cancel["similar_jobs"]] == [original["id"]]
    assert [s["id"] for s in retried["similar_jobs"]] == [unrelated["id"]]
    assert retried_again["is_existing"]
    assert retried_again["similar_jobs"] == []


async def test_with_embeddings_off_search_answers_by_words_and_says_so(connect: ConnectFn, db_path: Path) -> None:
    async with connect(embeddings="off") as client:
        job = await create(client, INVOICES)
        found = await search(client, "the invoices job")
    assert found["mode"] == "lexical"
    assert "turned off" in found["warnings"][0]
    assert [(r["id"], r["matched"]) for r in found["results"]] == [(job["id"], "words")]
    assert vector_models(db_path) == []


async def test_a_model_that_cannot_load_leaves_search_lexical_and_creates_working(
    connect: ConnectFn, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    monkeypatch.setattr(embeddings, "_local", None)
    monkeypatch.setattr(embeddings, "local_model_path", lambda: broken)
    async with connect() as client:
        job = await create(client, INVOICES)
        found = await search(client, "overdue invoices")
        refused = error_text(await client.call_tool("job_retrieval_semantic", {"query": "?!"}))
    assert job["similar_jobs"] == []
    assert found["mode"] == "lexical"
    assert "sha256" in found["warnings"][0]
    assert found["results"][0]["id"] == job["id"]
    assert "no words" in refused
    assert vector_models(db_path) == []


def v4_database(path: Path, titles: list[str]) -> None:
    """A database as schema version 4 left it (before vectors), holding jobs with these titles."""
    with sqlite3.connect(path) as conn:
        for number, script in migrations():
            if number <= 4:
                for statement in statements(script):
                    conn.execute(statement)
        conn.execute("PRAGMA user_version = 4")
        for title in titles:
            job = new_job(START, title=title).model_copy(update={"description": f"{title}, please."})
            conn.execute(q.INSERT_JOB, job_params(job))


async def test_jobs_from_before_vectors_are_back_filled_on_start(connect: ConnectFn, db_path: Path) -> None:
    v4_database(db_path, ["Renew the passport before the summer trip", "Order printer toner"])
    async with connect() as client:
        await wait_for(lambda: len(vector_models(db_path)) == 2)
        found = await search(client, "travel documents expiring")
    assert vector_models(db_path) == [LOCAL_MODEL_ID] * 2
    assert found["results"][0]["title"] == "Renew the passport before the summer trip"
    assert found["results"][0]["matched"] == "meaning"


async def test_an_embeddings_endpoint_ranks_falls_back_and_catches_up(
    connect: ConnectFn, provider: FakeOpenAI, db_path: Path
) -> None:
    remote = "openai:fake-embed"
    async with connect(embeddings=remote) as client:
        invoices = await create(client, INVOICES)
        found = await search(client, "invoices Acme")
        provider.embeddings_error = error(404, "model 'fake-embed' not found")
        while_down = await search(client, "overdue invoices")
        standup = await create(client, STANDUP)
        assert vector_models(db_path) == [remote]  # the standup job waits for its vector
        provider.embeddings_error = None
        back = await search(client, "standup Slack")
        await wait_for(lambda: vector_models(db_path) == [remote, remote])
    assert any(INVOICES["title"] in text for text in provider.embedding_inputs)
    assert found["mode"] == "hybrid"
    assert found["results"][0]["id"] == invoices["id"]
    assert while_down["mode"] == "lexical"
    assert "embeddings endpoint failed" in while_down["warnings"][0]
    assert while_down["results"][0]["id"] == invoices["id"]
    assert back["mode"] == "hybrid"
    assert back["results"][0]["id"] == standup["id"]

    # Back on the local model, every vector is remade with it.
    async with connect() as client:
        await wait_for(lambda: vector_models(db_path) == [LOCAL_MODEL_ID] * 2)
        found = await search(client, "chasing unpaid bills")
    assert found["results"][0]["id"] == invoices["id"]
