"""Reciprocal-rank fusion of the words list and the meaning list."""

from __future__ import annotations

import pytest

from mcp_server_jobs.server.retrieval import fuse, topic_words
from mcp_server_jobs.store import KeywordHit, SimilarHit
from tests.conftest import START, new_job

JOBS = {name: new_job(START, title=name).model_copy(update={"id": name}) for name in ("a", "b", "c", "d")}


def words(*names: str) -> list[KeywordHit]:
    return [KeywordHit(job=JOBS[n], snippet=f"**{n}**", rank=-1.0) for n in names]


def meaning(*names: str) -> list[SimilarHit]:
    return [SimilarHit(job=JOBS[n], similarity=0.9 - i / 10) for i, n in enumerate(names)]


def test_first_in_both_lists_scores_one_and_says_both() -> None:
    found = fuse(words("a", "b"), meaning("a", "c"), 10)
    assert [(f.job.id, f.matched) for f in found] == [("a", "both"), ("c", "meaning"), ("b", "words")]
    assert found[0].score == 1.0
    assert found[0].snippet == "**a**"
    assert found[0].similarity == 0.9
    assert found[1].snippet is None
    assert found[2].similarity is None


def test_a_rank_by_meaning_outweighs_the_same_rank_by_words() -> None:
    found = fuse(words("b"), meaning("c"), 10)
    assert [f.job.id for f in found] == ["c", "b"]
    assert found[0].score == pytest.approx(2 * found[1].score, abs=1e-3)


def test_limit_and_empty_lists() -> None:
    assert [f.job.id for f in fuse(words("a", "b"), meaning("c", "d"), 3)] == ["c", "d", "a"]
    assert fuse([], [], 5) == []


def test_topic_words_drop_words_that_carry_no_topic() -> None:
    assert topic_words("What was that thing about chasing unpaid bills?") == ["chasing", "unpaid", "bills"]
