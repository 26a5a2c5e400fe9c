"""Finding jobs by meaning: vectors plus BM25 merged by reciprocal-rank fusion, near-duplicates, back-fill."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import anyio
from anyio.abc import TaskStatus

from mcp_server_jobs.embeddings import EmbeddingError, Embeddings
from mcp_server_jobs.errors import InvalidInput, StoreError
from mcp_server_jobs.lifecycle import LIVE
from mcp_server_jobs.models import Job, NewJob, search_text
from mcp_server_jobs.store import JobFilter, JobStore, KeywordHit, SimilarHit, Vector
from mcp_server_jobs.store.queries import search_words

log = logging.getLogger(__name__)

RRF_K = 60  # the constant of Cormack et al.
# A rank among shared words counts half a rank among meanings: people describe a job they half
# remember in other words, so word matches are mostly incidental (docs/decisions.md, the measurements).
WORDS_WEIGHT = 0.5
CANDIDATES = 20  # how deep each list goes before fusion (deeper ranks add under 1/80 each)
# Below this cosine a MiniLM neighbour is as likely noise as meaning (measured on tests/data).
MIN_SIMILARITY = 0.25
# Two jobs this close say the same thing in other words (see docs/decisions.md for the measurements).
DUPLICATE_SIMILARITY = 0.7
# A word in more jobs than this picks out none of them: the words half of a search leaves it to meaning.
# (Ranking every job with a common word by BM25 was most of a search's time at 100k jobs.)
COMMON_WORD_JOBS = 2_000
BACKFILL_BATCH = 64
BACKFILL_RETRY_SECONDS = 60.0

# Words that carry no topic: matching on them only adds noise to the words half of a hybrid search.
_STOPWORD_TEXT = """
    a about above after again all am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he
    her here hers him his how i if in into is it its itself just me more most my no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours thing things stuff something
    anything job jobs task tasks remember remind reminder find look looking one
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Found:
    """One result of a semantic search."""

    job: Job
    score: float  # fused, 0-1: 1 is first by both words and meaning
    matched: Literal["words", "meaning", "both"]
    snippet: str | None
    similarity: float | None


@dataclass
class Answer:
    """What a semantic search found and how."""

    mode: Literal["hybrid", "lexical"]
    results: list[Found]
    warnings: list[str] = field(default_factory=list)


def topic_words(query: str) -> list[str]:
    """The query's words without stopwords."""
    return [w for w in search_words(query.lower()) if w not in STOPWORDS]


def fuse(lexical: Sequence[KeywordHit], semantic: Sequence[SimilarHit], limit: int) -> list[Found]:
    """Merge two ranked lists by weighted reciprocal-rank fusion; a job in both lists says so."""
    scores: dict[str, float] = {}
    jobs: dict[str, Job] = {}
    snippets: dict[str, str] = {}
    similarities: dict[str, float] = {}
    for rank, hit in enumerate(lexical, start=1):
        scores[hit.job.id] = scores.get(hit.job.id, 0.0) + WORDS_WEIGHT / (RRF_K + rank)
        jobs[hit.job.id], snippets[hit.job.id] = hit.job, hit.snippet
    for rank, similar in enumerate(semantic, start=1):
        scores[similar.job.id] = scores.get(similar.job.id, 0.0) + 1 / (RRF_K + rank)
        jobs[similar.job.id], similarities[similar.job.id] = similar.job, similar.similarity
    best = (1 + WORDS_WEIGHT) / (RRF_K + 1)
    ranked = sorted(scores, key=lambda job_id: -scores[job_id])[:limit]
    return [
        Found(
            job=jobs[job_id],
            score=round(scores[job_id] / best, 4),
            matched=_how(job_id in snippets, job_id in similarities),
            snippet=snippets.get(job_id),
            similarity=round(similarities[job_id], 4) if job_id in similarities else None,
        )
        for job_id in ranked
    ]


def _how(words: bool, meaning: bool) -> Literal["words", "meaning", "both"]:
    if words and meaning:
        return "both"
    return "words" if words else "meaning"


class Retrieval:
    """Embeds job texts and queries, ranks jobs by meaning, and keeps every job's vector current."""

    def __init__(self, store: JobStore, embeddings: Embeddings) -> None:
        self.store = store
        self.embeddings = embeddings
        self._backfill_wanted = anyio.Event()
        self._missing = False  # some job went without its vector since the last back-fill

    async def vector(self, text: str) -> Vector | None:
        """The embedding of `text`, or None when there is no working model (the job is back-filled later)."""
        vector, _ = await self._embed(text)
        return vector

    async def _embed(self, text: str) -> tuple[Vector | None, str | None]:
        """The embedding of `text`, or None and why not."""
        embedder = await self.embeddings.get()
        if embedder is None:
            return None, self.embeddings.problem
        try:
            values = await embedder.embed([text])
        except EmbeddingError as exc:
            log.warning("no vector for now: %s", exc)
            self._missing = True
            return None, str(exc)
        if self._missing:
            # The model answers again: embed what was written while it did not.
            self._backfill_wanted.set()
        return Vector(model=embedder.model_id, values=values[0]), None

    async def vector_of(self, job: NewJob) -> Vector | None:
        """The embedding of a job's text."""
        return await self.vector(search_text(job))

    async def search(self, user_id: str, query: str, where: JobFilter, limit: int) -> Answer:
        """Hybrid search; lexical alone (saying why) when the model cannot answer."""
        words = search_words(query)
        if not words:
            raise InvalidInput("query has no words to search for; describe the job in a few words")
        topic = topic_words(query)
        vector, reason = await self._embed(query)
        if vector is None:
            hits = await self.store.search_keywords(user_id, topic or words, False, where, limit)
            answer = fuse(hits, [], limit)
            return Answer("lexical", answer, [f"ranked by shared words only (BM25): {reason}"])
        telling = await self._telling(topic)
        lexical = await self.store.search_keywords(user_id, telling, False, where, CANDIDATES) if telling else []
        semantic = await self.store.search_similar(user_id, vector, where, CANDIDATES, MIN_SIMILARITY)
        return Answer("hybrid", fuse(lexical, semantic, limit))

    async def _telling(self, words: list[str]) -> list[str]:
        """The words that appear in few enough jobs to tell them apart."""
        counts = await self.store.word_counts(words)
        return [w for w in words if counts[w] <= COMMON_WORD_JOBS]

    async def similar_live(self, user_id: str, vector: Vector) -> list[SimilarHit]:
        """The user's live jobs (at most 3) that say nearly the same as `vector`."""
        return await self.store.search_similar(
            user_id, vector, JobFilter(statuses=tuple(LIVE)), 3, DUPLICATE_SIMILARITY
        )

    async def backfill(self) -> int:
        """Embed every job that has no vector from the current model; returns how many were written."""
        embedder = await self.embeddings.get()
        if embedder is None:
            return 0
        written = 0
        while jobs := await self.store.jobs_without_vectors(embedder.model_id, BACKFILL_BATCH):
            values = await embedder.embed([search_text(job) for job in jobs])
            stored = 0
            for job, row in zip(jobs, values, strict=True):
                stored += await self.store.put_vector(job, Vector(model=embedder.model_id, values=row))
            written += stored
            if stored == 0:
                break  # every job changed under us: the next pass sees their new text
        return written

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Load the model and back-fill vectors; again once the model answers after failing."""
        task_status.started()
        await self.embeddings.get()
        if self.embeddings.problem:
            log.warning("semantic search answers by words only: %s", self.embeddings.problem)
        while True:
            self._backfill_wanted = anyio.Event()
            self._missing = False
            try:
                written = await self.backfill()
                if written:
                    log.info("embedded %d jobs", written)
                await self._backfill_wanted.wait()
            except (EmbeddingError, StoreError) as exc:
                log.warning("back-fill of job vectors failed, retrying in %.0f s: %s", BACKFILL_RETRY_SECONDS, exc)
                self._missing = True
                with anyio.move_on_after(BACKFILL_RETRY_SECONDS):
                    await self._backfill_wanted.wait()
