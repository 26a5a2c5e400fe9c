"""The store's contract: what any database behind the server must do.

Every method that takes a `user_id` sees only that user's rows; a row of another user behaves
exactly as a missing one. Each method raises only the errors of `mcp_server_jobs.errors` its docstring
names, and what a callable it is given raises; every one raises `StoreError` when the database fails
(driver errors are converted at this boundary) or is not open, which the docstrings leave unsaid.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

import anyio

from mcp_server_jobs.models import (
    Delivery,
    InboxMessage,
    Job,
    JobChanges,
    JobStatus,
    JobType,
    NewJob,
    Run,
    RunOutcome,
)

if TYPE_CHECKING:
    # Annotations only: importing the contract must not load numpy (a test checks it).
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class JobFilter:
    """Which of a user's jobs a listing or search may return; empty means any."""

    statuses: Sequence[JobStatus] = ()
    job_types: Sequence[JobType] = ()
    include_archived: bool = False


@dataclass(frozen=True)
class KeywordHit:
    """A job found by full-text search, with a highlighted excerpt and its rank (lower is better)."""

    job: Job
    snippet: str
    rank: float


@dataclass(frozen=True)
class Vector:
    """A job's embedding (unit length) and the id of the model that made it."""

    model: str
    values: NDArray[np.float32]


@dataclass(frozen=True)
class SimilarHit:
    """A job found by vector search, with its cosine similarity to the query (1 is identical)."""

    job: Job
    similarity: float


@dataclass(frozen=True)
class DefinedJob:
    """A job of the jobs file: its name there, the job made from it, and a digest of its definition."""

    name: str
    user_id: str
    job_id: str
    digest: str


@dataclass(frozen=True)
class Worker:
    """A process serving the database, as its last heartbeat left it."""

    id: str
    pid: int
    host: str
    runs_jobs: bool
    started_at: datetime
    seen_at: datetime


@dataclass(frozen=True)
class Claim:
    """What a claim decided for one due job: the job's changes and the runs to record with them.

    At most one of `runs` has outcome `running`: that run is started. Others record what was
    skipped (e.g. a `missed` run).
    """

    changes: JobChanges
    runs: Sequence[Run] = ()
    # Written instead when the started run's occurrence already has a run (the database refuses a second).
    on_taken: JobChanges | None = None


ClaimDecision = Callable[[Job], Claim]
"""Decides a claim from the job as it is inside the claiming transaction (pure, no I/O)."""

RunDecision = Callable[[Job, Run], JobChanges]
"""Decides a job's next state from the job and its ending run, inside the transaction (pure, no I/O)."""


@dataclass(frozen=True)
class Report:
    """What a finished run sends: its inbox message, the webhook delivery of it when one is set, and how
    many messages its user's inbox keeps (None: all)."""

    message: InboxMessage
    delivery: Delivery | None = None
    keep: int | None = None


ReportDecision = Callable[[Job, Run], Report | None]
"""Decides what a run reports from the job after it and the run, inside the transaction (pure, no I/O)."""


@dataclass(frozen=True)
class Finished:
    """A run's end as written: the job after it, and the message written with it (if any)."""

    job: Job
    message: InboxMessage | None = None


class JobStore(ABC):
    """Persistent jobs, runs and inbox messages."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date (idempotent, safe for two processes at once).

        Raises StoreError when the database cannot be opened or migrated.
        """

    @abstractmethod
    async def close(self) -> None:
        """Release the connection (idempotent). Raises nothing."""

    # --- jobs ---

    @abstractmethod
    async def create_job(
        self, job: NewJob, vector: Vector | None = None, *, max_live: int | None = None
    ) -> tuple[Job, bool]:
        """Insert `job`, its dependency edges and its `vector` (embedding of its text); return (job, True).

        If `job.dedup_key` is set and the user has a live job with that key, insert nothing and
        return (that job, False). Dependencies must already exist (checked by the caller). A user
        who already has `max_live` live jobs gets LimitReached. A missing dependency is a StoreError.
        """

    @abstractmethod
    async def get_job(self, user_id: str, job_id: str) -> Job:
        """The user's job with this id. Raises JobNotFound."""

    @abstractmethod
    async def get_jobs(self, user_id: str, job_ids: Sequence[str]) -> list[Job]:
        """The user's jobs among `job_ids`, in the given order; unknown ids are left out."""

    @abstractmethod
    async def list_jobs(self, user_id: str, where: JobFilter, limit: int) -> list[Job]:
        """The user's jobs matching `where`, newest first."""

    @abstractmethod
    async def search_keywords(
        self, user_id: str, terms: Sequence[str], match_all: bool, where: JobFilter, limit: int
    ) -> list[KeywordHit]:
        """Full-text search over title, description, end condition and entities; best first.

        `terms` are plain words (the store quotes them); `match_all` requires every term. Raises
        InvalidInput when `terms` hold no word at all.
        """

    @abstractmethod
    async def word_counts(self, words: Sequence[str]) -> dict[str, int]:
        """How many jobs (of any user) contain each word, as full-text search matches it.

        Raises InvalidInput for an entry with no word in it.
        """

    @abstractmethod
    async def search_similar(
        self, user_id: str, vector: Vector, where: JobFilter, limit: int, min_similarity: float
    ) -> list[SimilarHit]:
        """The user's jobs whose vectors (of `vector.model`) are nearest by cosine; best first.

        Sees every process's writes. Jobs below `min_similarity` are left out.
        """

    @abstractmethod
    async def jobs_without_vectors(self, model: str, limit: int) -> list[Job]:
        """Jobs (any user) with no vector from `model`: never embedded, or by another model."""

    @abstractmethod
    async def put_vector(self, job: Job, vector: Vector) -> bool:
        """Store `vector` for `job` if its text is still what `job` holds; True if written."""

    @abstractmethod
    async def update_job(
        self, user_id: str, job_id: str, changes: JobChanges, *, expected_version: int, vector: Vector | None = None
    ) -> Job:
        """Write the fields set in `changes` if the job is still at `expected_version`; return it.

        A status change is checked against the transition table (ForbiddenTransition). A job
        changed since it was read raises Conflict; a missing one JobNotFound. Changing `depends_on`
        replaces the edges. A change to the text stores `vector` for the new text, or drops the old one.
        """

    @abstractmethod
    async def dependency_closure(self, job_ids: Sequence[str]) -> set[str]:
        """Every job that `job_ids` depend on, directly or transitively (not including themselves)."""

    @abstractmethod
    async def dependents(self, job_id: str) -> list[Job]:
        """The jobs that list `job_id` in their `depends_on`."""

    # --- runs ---

    @abstractmethod
    async def list_runs(self, job_id: str, limit: int) -> list[Run]:
        """The job's latest runs, newest first."""

    @abstractmethod
    async def run_totals(self, job_id: str) -> dict[RunOutcome, int]:
        """How many runs the job has had, by outcome (manual runs and previews included)."""

    @abstractmethod
    async def claim_due(self, now: datetime, limit: int, plan: ClaimDecision) -> list[tuple[Job, Run]]:
        """Claim up to `limit` ACTIVE jobs due at `now`, earliest first, in one write transaction.

        Each job gets `plan(job)`: its changes are written (checked against the transition table)
        and its runs inserted. Returns the jobs that started a run, with that run. Two processes
        claiming at once never both get one job. Raises ForbiddenTransition (changing nothing).
        """

    @abstractmethod
    async def claim_job(self, user_id: str, job_id: str, plan: ClaimDecision) -> tuple[Job, Run]:
        """Claim one of the user's jobs whatever its next run time (run now). `plan` may raise to refuse.

        Raises JobNotFound, ForbiddenTransition, or Conflict when the claim started no run.
        """

    @abstractmethod
    async def finish_run(
        self, run: Run, next_state: RunDecision, report: ReportDecision | None = None
    ) -> Finished | None:
        """Record how `run` ended; if it still held its job, apply `next_state(job, run)`, then write what
        `report(job_after, run)` returns, all in one transaction.

        A run whose lease was taken back meanwhile changes nothing and returns None; so does a run
        whose job was cancelled (the run is still recorded). Raises ForbiddenTransition (changing nothing).
        """

    @abstractmethod
    async def record_preview(self, run: Run) -> None:
        """Insert a finished run that stands for no work done (a dry run); its job is not touched."""

    @abstractmethod
    async def renew_leases(self, owner: str, run_ids: Sequence[str], until: datetime) -> set[str]:
        """Extend the leases of `owner`'s running runs; return the ids still held (job still IN_PROGRESS)."""

    @abstractmethod
    async def reclaim_expired(
        self, now: datetime, next_state: RunDecision, report: ReportDecision | None = None, limit: int = 100
    ) -> list[Finished]:
        """Mark runs whose lease ran out before `now` interrupted, apply `next_state` to their jobs and write
        their reports, as `finish_run` does. Raises ForbiddenTransition (changing nothing)."""

    # --- the webhook outbox ---

    @abstractmethod
    async def claim_deliveries(self, now: datetime, until: datetime, limit: int) -> list[Delivery]:
        """Take up to `limit` pending deliveries due at `now`, counting an attempt on each and holding
        them until `until` (a process that dies meanwhile leaves them to be retried then)."""

    @abstractmethod
    async def settle_delivery(
        self, message_id: str, now: datetime, error: str | None = None, retry_at: datetime | None = None
    ) -> None:
        """Record an attempt: delivered (no error), pending until `retry_at`, or failed for good (an error
        and no `retry_at`; the run then notes it in its `delivery_error`)."""

    # --- runs asked of the serving process, and who serves ---

    @abstractmethod
    async def request_run(self, user_id: str, job_id: str, check: Callable[[Job], object], now: datetime) -> Job:
        """Ask the process that runs jobs to run the user's job by hand; `check(job)` may raise to refuse.

        Raises JobNotFound.
        """

    @abstractmethod
    async def requested_runs(self, limit: int) -> list[Job]:
        """Jobs (any user) with a run asked for and not started yet, oldest request first."""

    @abstractmethod
    async def clear_run_request(self, job_id: str) -> None:
        """Drop the job's run request (it could not start)."""

    @abstractmethod
    async def heartbeat(self, worker: Worker) -> None:
        """Record that `worker` is alive at `worker.seen_at` (and forget workers gone for a day)."""

    @abstractmethod
    async def drop_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped cleanly."""

    @abstractmethod
    async def workers(self, seen_since: datetime) -> list[Worker]:
        """Workers whose last heartbeat is at or after `seen_since`."""

    @abstractmethod
    async def record_agent_pid(self, run_id: str, pid: int) -> None:
        """Note on a running run the pid of the agent process it started (the latest, after a retry)."""

    hears_other_processes: ClassVar[bool] = False
    """Whether `due_changes` and `inbox_changes` report every process's writes (PostgreSQL), this one's too."""

    async def due_changes(self) -> AsyncIterator[None]:
        """Yields each time a process may have moved the earliest due time (PostgreSQL's NOTIFY).

        A store that hears of no such change never yields; the scheduler's sweep finds them instead.
        """
        await anyio.sleep_forever()
        yield  # makes this an async generator; never reached

    async def inbox_changes(self) -> AsyncIterator[str]:
        """Yields the user of each new inbox message, whichever process wrote it (when `hears_other_processes`)."""
        await anyio.sleep_forever()
        yield ""  # makes this an async generator; never reached

    @abstractmethod
    async def earliest_due(self) -> datetime | None:
        """The earliest next_run_at of any ACTIVE job."""

    @abstractmethod
    async def waiting_to_settle(self, limit: int) -> list[Job]:
        """PENDING or BLOCKED jobs whose dependencies' statuses call for another status (see settle)."""

    @abstractmethod
    async def latest_outputs(self, job_ids: Sequence[str]) -> dict[str, str]:
        """The output of each job's newest succeeded run (jobs without one are left out)."""

    # --- the jobs file ---

    @abstractmethod
    async def defined_jobs(self) -> list[DefinedJob]:
        """Every job the jobs file has made, by name."""

    @abstractmethod
    async def put_defined_job(self, defined: DefinedJob) -> None:
        """Remember (or replace) the job made from the definition called `defined.name`."""

    @abstractmethod
    async def drop_defined_job(self, name: str) -> None:
        """Forget the definition called `name` (it left the jobs file)."""

    # --- inbox ---

    @abstractmethod
    async def add_message(self, message: InboxMessage, keep: int | None = None) -> None:
        """Put a message in its user's inbox; with `keep`, trim that inbox to its `keep` newest messages,
        dropping read ones before unread ones (the runs keep every output)."""

    @abstractmethod
    async def list_messages(self, user_id: str, unread_only: bool, limit: int) -> list[InboxMessage]:
        """The user's messages, newest first."""

    @abstractmethod
    async def count_unread(self, user_id: str) -> int:
        """How many unread messages the user has."""

    @abstractmethod
    async def mark_read(self, user_id: str, message_ids: Sequence[str] | None, now: datetime) -> int:
        """Mark the given messages (all unread ones if None) read at `now`; return how many changed.

        Raises MessageNotFound, changing nothing, if any id is not one of the user's messages.
        """
