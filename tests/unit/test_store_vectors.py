"""Job vectors in the store (both databases) and the in-memory index that searches them (vectors made by hand,
no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcp_server_jobs.models import JobChanges, JobStatus, JobType
from mcp_server_jobs.store import JobFilter, JobStore, Vector, vector_search
from mcp_server_jobs.store.factory import open_store
from mcp_server_jobs.store.vectors import IndexRow, VectorIndex, to_blob
from tests.conftest import START, new_job

pytestmark = pytest.mark.anyio

MODEL = "test-model"


def unit(*values: float) -> Vector:
    array = np.array(values, dtype=np.float32)
    return Vector(MODEL, array / np.linalg.norm(array))


ANY = JobFilter()


async def titles(store: JobStore, query: Vector, where: JobFilter = ANY, user: str = "local") -> list[str]:
    return [hit.job.title for hit in await store.search_similar(user, query, where, 10, -1.0)]


async def test_nearest_first_with_similarity_cut_and_filters_before_ranking(any_db: Path | str) -> None:
    async with open_store(any_db) as store:
        await store.create_job(new_job(START, title="east"), unit(1, 0, 0))
        await store.create_job(new_job(START, title="north-east"), unit(1, 1, 0))
        await store.create_job(new_job(START, title="north", status=JobStatus.PAUSED), unit(0, 1, 0))
        await store.create_job(new_job(START, title="up", status=JobStatus.ARCHIVED), unit(1, 0, 0.1))
        await store.create_job(new_job(START, title="bob's east", user_id="bob"), unit(1, 0, 0))
        query = unit(1, 0.1, 0)
        hits = await store.search_similar("local", query, JobFilter(), 10, 0.5)
        assert [h.job.title for h in hits] == ["east", "north-east"]
        assert hits[0].similarity == pytest.approx(float(query.values @ unit(1, 0, 0).values), abs=1e-6)
        assert await titles(store, query, JobFilter(statuses=[JobStatus.PAUSED])) == ["north"]
        assert (await titles(store, query, JobFilter(include_archived=True)))[:2] == ["east", "up"]
        assert await titles(store, query, JobFilter(job_types=[JobType.RECURRING])) == []
        assert await titles(store, query, user="bob") == ["bob's east"]
        assert await titles(store, query, user="carol") == []


async def test_another_process_sees_new_jobs_new_statuses_and_new_vectors(any_db: Path | str) -> None:
    async with open_store(any_db) as writer, open_store(any_db) as reader:
        first, _ = await writer.create_job(new_job(START, title="first"), unit(1, 0))
        assert await titles(reader, unit(1, 0)) == ["first"]  # the reader's index is built now

        await writer.create_job(new_job(START, title="second"), unit(0.9, 0.1))
        assert await titles(reader, unit(1, 0)) == ["first", "second"]

        await writer.update_job("local", first.id, JobChanges(status=JobStatus.PAUSED), expected_version=first.version)
        assert await titles(reader, unit(1, 0), JobFilter(statuses=[JobStatus.ACTIVE])) == ["second"]

        first = await writer.get_job("local", first.id)
        await writer.update_job(
            "local", first.id, JobChanges(title="first, now west"), expected_version=first.version, vector=unit(-1, 0)
        )
        assert await titles(reader, unit(-1, 0)) == ["first, now west", "second"]


async def test_a_text_edit_without_a_vector_drops_the_stale_one(any_db: Path | str) -> None:
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START, title="old words"), unit(1, 0))
        assert await store.jobs_without_vectors(MODEL, 10) == []
        await store.update_job("local", job.id, JobChanges(description="new words"), expected_version=job.version)
        assert await titles(store, unit(1, 0)) == []
        assert [j.id for j in await store.jobs_without_vectors(MODEL, 10)] == [job.id]
        # A status change alone keeps the vector: the text it describes did not change.
        other, _ = await store.create_job(new_job(START, title="other"), unit(1, 0))
        await store.update_job("local", other.id, JobChanges(status=JobStatus.PAUSED), expected_version=other.version)
        assert await titles(store, unit(1, 0)) == ["other"]


async def test_a_vector_for_text_that_has_changed_since_is_not_stored(any_db: Path | str) -> None:
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START, title="before"))
        await store.update_job("local", job.id, JobChanges(title="after"), expected_version=job.version)
        assert await store.put_vector(job, unit(1, 0)) is False  # embedded from "before"
        assert await store.put_vector(await store.get_job("local", job.id), unit(1, 0)) is True
        assert await store.jobs_without_vectors(MODEL, 10) == []


async def test_vectors_of_another_model_count_as_missing(any_db: Path | str) -> None:
    async with open_store(any_db) as store:
        job, _ = await store.create_job(new_job(START, title="a job"), unit(1, 0))
        assert [j.id for j in await store.jobs_without_vectors("new-model", 10)] == [job.id]
        assert await store.search_similar("local", Vector("new-model", unit(1, 0).values), JobFilter(), 10, 0.0) == []
        await store.put_vector(job, Vector("new-model", unit(0, 1).values))
        assert await store.jobs_without_vectors("new-model", 10) == []
        assert await store.jobs_without_vectors(MODEL, 10) == [await store.get_job("local", job.id)]


async def test_the_index_loads_a_database_in_pages(any_db: Path | str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_search, "_INDEX_PAGE", 2)
    async with open_store(any_db) as store:
        for n in range(7):
            await store.create_job(new_job(START, title=f"job {n}"), unit(1, n / 10))
    async with open_store(any_db) as store:
        assert await titles(store, unit(1, 0)) == [f"job {n}" for n in range(7)]


def test_the_index_grows_past_its_first_allocation() -> None:
    index = VectorIndex(MODEL)
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(3000, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index.apply(IndexRow(pk, f"job_{pk}", "local", "ACTIVE", "ONE_OFF", pk, to_blob(vectors[pk])) for pk in range(3000))
    assert len(index) == 3000
    found = index.search(
        "local", vectors[2999], statuses=(), job_types=(), include_archived=False, limit=3, min_similarity=0.0
    )
    assert found[0] == ("job_2999", pytest.approx(1.0, abs=1e-5))
    expected = np.argsort(-(vectors @ vectors[2999]))[:3]
    assert [job_id for job_id, _ in found] == [f"job_{i}" for i in expected]
