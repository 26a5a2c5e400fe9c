"""Retrieval quality on the project's evaluation set: recall@3 and MRR, words alone vs hybrid.

tests/data/retrieval_eval.json holds 67 jobs and 73 queries written the way people recall a job
they set up weeks ago; most share no content word with their target.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_jobs.config import is_postgres
from tests.conftest import ConnectFn, ok

pytestmark = pytest.mark.anyio

EVAL = json.loads((Path(__file__).parent.parent / "data" / "retrieval_eval.json").read_text(encoding="utf-8"))
SCHEDULES: dict[str, dict[str, Any]] = {
    "ONE_OFF": {"delay": "1d"},
    "SCHEDULED": {"cron": "0 9 * * 1"},
    "RECURRING": {"every": "1d"},
    "ONGOING": {"every": "1h"},
}


@pytest.fixture
def db_path(any_db: Path | str) -> Path | str:
    """The evaluation runs on both stores: SQLite's FTS5 and PostgreSQL's full-text search rank words apart."""
    return any_db


def score(ranked: list[list[str]]) -> tuple[float, float]:
    """(recall@3, mean reciprocal rank over the top 10) of each query's ranking against its target."""
    hits = reciprocal = 0.0
    for query, keys in zip(EVAL["queries"], ranked, strict=True):
        if query["target"] in keys[:3]:
            hits += 1
        if query["target"] in keys[:10]:
            reciprocal += 1 / (keys.index(query["target"]) + 1)
    return hits / len(ranked), reciprocal / len(ranked)


async def ranked_keys(client: Client, tool: str, argument: str, keys: dict[str, str]) -> list[list[str]]:
    rankings = []
    for query in EVAL["queries"]:
        found = ok(await client.call_tool(tool, {argument: query["query"], "limit": 10}))
        rankings.append([keys[result["id"]] for result in found["results"]])
    return rankings


async def test_hybrid_search_finds_paraphrases_that_words_alone_miss(
    connect: ConnectFn, db_path: Path | str, report: Callable[[str], None]
) -> None:
    async with connect() as client:
        keys = {}
        for job in EVAL["jobs"]:
            arguments = {
                "title": job["title"],
                "description": job["description"],
                "job_type": job["job_type"],
                "schedule": SCHEDULES[job["job_type"]],
                "end_condition": job["end_condition"],
                "related_entities": [{"name": name} for name in job["entities"]],
            }
            keys[ok(await client.call_tool("job_create", arguments))["id"]] = job["key"]
        lexical = score(await ranked_keys(client, "job_retrieval_by_keywords", "keywords", keys))
        hybrid = score(await ranked_keys(client, "job_retrieval_semantic", "query", keys))
    summary = (
        f"retrieval eval, {len(EVAL['jobs'])} jobs / {len(EVAL['queries'])} queries: "
        f"lexical ({'PostgreSQL FTS' if is_postgres(db_path) else 'FTS5 BM25'}) recall@3 {lexical[0]:.3f} "
        f"MRR {lexical[1]:.3f}; "
        f"hybrid (MiniLM + BM25) recall@3 {hybrid[0]:.3f} MRR {hybrid[1]:.3f}"
    )
    report(summary)
    assert hybrid[0] >= 0.85, summary
    assert hybrid[0] > lexical[0], summary
    assert hybrid[1] > lexical[1], summary
