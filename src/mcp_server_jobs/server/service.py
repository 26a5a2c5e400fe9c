"""What the tools do, apart from MCP: checks a request, decides the change, writes it through the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from mcp_server_jobs import advice, lifecycle
from mcp_server_jobs.clock import Clock
from mcp_server_jobs.conflicts import retried_on_conflict
from mcp_server_jobs.embeddings import Embeddings
from mcp_server_jobs.errors import (
    DependencyError,
    ForbiddenTransition,
    InvalidInput,
    JobNotFound,
    JobsError,
    Suggestion,
)
from mcp_server_jobs.lifecycle import affects_dependents
from mcp_server_jobs.models import (
    TEXT_FIELDS,
    InboxMessage,
    Job,
    JobChanges,
    JobStatus,
    JobType,
    NewJob,
    Run,
    RunLimits,
    RunOutcome,
    new_id,
)
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.scheduler.dependencies import settle_dependents
from mcp_server_jobs.server.job_edits import (
    check_client,
    check_end_condition,
    merged_schedule,
    runnable,
    set_status,
    unique,
)
from mcp_server_jobs.server.requests import JobCreateRequest, JobUpdateRequest
from mcp_server_jobs.server.retrieval import Answer, Retrieval
from mcp_server_jobs.server.schedule_input import build_schedule
from mcp_server_jobs.store import JobFilter, JobStore, KeywordHit, SimilarHit

_EDITABLE = ("title", "description", "schedule", "end_condition", "depends_on", "related_entities", "notify",
             "metadata", "limits")  # fmt: skip


@dataclass
class Created:
    """What job_create answers: the new job (or the live one with its dedup_key), warnings, near-duplicates."""

    job: Job
    is_existing: bool
    warnings: list[str] = field(default_factory=list)
    similar: list[SimilarHit] = field(default_factory=list)


async def _no_wake() -> None:
    return None


def check_request(request: JobCreateRequest, default_timezone: str, now: datetime) -> Schedule:
    """What `JobService.check` checks, for callers without a store (`doctor`)."""
    after_dependencies = bool(request.depends_on)
    schedule = build_schedule(
        request.job_type, request.schedule, default_timezone, now, after_dependencies=after_dependencies
    )
    check_end_condition(request.job_type, request.end_condition)
    return schedule


class JobService:
    """The jobs of every user, behind the tools. Every method is scoped to one `user_id`."""

    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        *,
        default_timezone: str,
        wake: Callable[[], Awaitable[None]] = _no_wake,
        stop_run: Callable[[str], None] = lambda job_id: None,
        backend_problem: Callable[[], str | None] = lambda: None,
        retrieval: Retrieval | None = None,
        max_live_jobs: int | None = None,
    ) -> None:
        self.max_live_jobs = max_live_jobs
        self.store = store
        self.retrieval = retrieval or Retrieval(store, Embeddings("off"))
        self.clock = clock
        self.default_timezone = default_timezone
        # Called after a change that may move the earliest due time, so the scheduler re-arms.
        self.wake = wake
        # Called with a job's id when it is cancelled, to stop its run in this process.
        self.stop_run = stop_run
        # Why no agent backend can run jobs now, or None: job_create warns about it up front.
        self.backend_problem = backend_problem

    # --- create ---

    async def create(self, user_id: str, request: JobCreateRequest) -> Created:
        """Validate and store a new job (or return the live one with the same dedup_key)."""
        now = self.clock.now()
        schedule = self.check(request, now)
        depends_on = unique(request.depends_on)
        dependencies = await self._dependencies(user_id, depends_on)
        status, reason = lifecycle.dependency_status(dependencies)
        if status is JobStatus.BLOCKED:
            arguments = request.model_dump(mode="json", exclude_unset=True, exclude_defaults=True)
            arguments["depends_on"] = runnable(dependencies)
            suggestion = Suggestion("To create it without the stopped dependencies", "job_create", arguments)
            raise DependencyError(f"depends_on: {reason}", suggestion=suggestion)
        if status is JobStatus.ACTIVE:
            schedule = schedule.released(now)  # its dependencies (if any) have all completed already
        new = NewJob(
            id=new_id("job"),
            user_id=user_id,
            title=request.title,
            description=request.description,
            job_type=request.job_type,
            schedule=schedule,
            end_condition=request.end_condition,
            depends_on=depends_on,
            related_entities=request.related_entities,
            notify=request.notify,
            metadata=request.metadata,
            dedup_key=request.dedup_key,
            status=status,
            status_reason=reason,
            next_run_at=schedule.first_run(now) if status is JobStatus.ACTIVE else None,
            created_at=now,
            limits=request.limits or RunLimits(),
        )
        vector = await self.retrieval.vector_of(new)
        # Looked up before the insert, so the new job is not its own near-duplicate.
        similar = await self.retrieval.similar_live(user_id, vector) if vector is not None else []
        job, created = await self.store.create_job(new, vector, max_live=self.max_live_jobs)
        if created:
            await self.wake()
        else:
            similar = []  # nothing new was made: the dedup_key's job is the answer
        warnings = []
        if (problem := self.backend_problem()) is not None:
            warnings.append(
                f"No agent backend can run jobs on this server yet ({problem}). The job is saved and will wait, "
                "not fail; ask the person running the server to configure one (README: Backends)."
            )
        if similar:
            warnings.append(
                "The user already has live jobs much like this one (similar_jobs). The job was created; "
                "ask whether they meant one of those, and cancel the copy if so."
            )
        return Created(job=job, is_existing=not created, warnings=warnings, similar=similar)

    def check(self, request: JobCreateRequest, now: datetime) -> Schedule:
        """The checks of `create` that need no database: the schedule (returned, built) and end condition."""
        return check_request(request, self.default_timezone, now)

    async def _dependencies(self, user_id: str, depends_on: Sequence[str], *, of: str | None = None) -> list[Job]:
        """The user's jobs named in depends_on; refuses unknown ids, archived jobs and cycles."""
        found = await self.store.get_jobs(user_id, depends_on)
        missing = [i for i in depends_on if i not in {j.id for j in found}]
        if missing:
            raise DependencyError(f"depends_on: {JobNotFound(missing[0])}")
        archived = [j.id for j in found if j.status is JobStatus.ARCHIVED]
        if archived:
            raise DependencyError(f"depends_on: {archived[0]} is ARCHIVED; a job can only wait on a live job")
        if of is not None and (of in depends_on or of in await self.store.dependency_closure(depends_on)):
            raise DependencyError(
                f"depends_on: {of} would wait on itself (one of those jobs already depends on it, directly "
                "or through others); remove that id"
            )
        return found

    # --- read ---

    async def get(self, user_id: str, job_id: str, runs: int) -> tuple[Job, list[Run], dict[RunOutcome, int]]:
        """A job, its latest runs, and how many runs it has had by outcome."""
        job = await self.store.get_job(user_id, job_id)
        latest = await self.store.list_runs(job.id, runs) if runs else []
        return job, latest, await self.store.run_totals(job.id)

    async def search_keywords(
        self, user_id: str, keywords: str, match_all: bool, where: JobFilter, limit: int
    ) -> list[KeywordHit]:
        """Jobs whose text contains the keywords (any or all of them)."""
        return await self.store.search_keywords(user_id, keywords.split(), match_all, where, limit)

    async def search_meaning(self, user_id: str, query: str, where: JobFilter, limit: int) -> Answer:
        """Jobs about what `query` describes, by meaning and by words."""
        return await self.retrieval.search(user_id, query, where, limit)

    # --- change ---

    async def update(self, user_id: str, request: JobUpdateRequest) -> Job:
        """Apply job_update: edit fields, recompute the next run, and/or change status."""
        given = request.model_fields_set - {"job_id"}
        if not given:
            raise InvalidInput("job_update needs at least one field to change: " + ", ".join((*_EDITABLE, "status")))

        async def changes_for(job: Job, now: datetime) -> JobChanges:
            return await self._update_changes(job, request, given, now)

        return await self._modify(user_id, request.job_id, changes_for)

    async def _update_changes(self, job: Job, request: JobUpdateRequest, given: set[str], now: datetime) -> JobChanges:
        edits = given & set(_EDITABLE)
        if edits and job.status in lifecycle.FROZEN:
            raise InvalidInput(
                f"{job.id} is {job.status}; its fields can no longer change.",
                suggestion=self._recreation(job, request, edits, now),
            )
        changes = JobChanges()
        for name in ("title", "description", "related_entities", "notify", "metadata", "limits"):
            if name in edits:
                setattr(changes, name, getattr(request, name))
        if "end_condition" in edits:
            check_end_condition(job.job_type, request.end_condition)
            changes.end_condition = request.end_condition
        schedule = job.schedule
        if "schedule" in edits and request.schedule is not None:
            schedule = merged_schedule(job, request.schedule, now)
            changes.schedule = schedule
            if job.status is JobStatus.ACTIVE:
                changes.next_run_at = schedule.first_run(now)
        status = job.status
        if "depends_on" in edits and request.depends_on is not None:
            depends_on = unique(request.depends_on)
            dependencies = await self._dependencies(job.user_id, depends_on, of=job.id)
            changes.depends_on = depends_on
            if job.status in (JobStatus.PENDING, JobStatus.ACTIVE, JobStatus.BLOCKED):
                status, reason = lifecycle.dependency_status(dependencies)
                if status is JobStatus.BLOCKED:
                    arguments = {"job_id": job.id, "depends_on": runnable(dependencies)}
                    suggestion = Suggestion("To keep only the dependencies that can still run", "job_update", arguments)
                    raise DependencyError(f"depends_on: {reason}", suggestion=suggestion)
                if status != job.status:
                    set_status(changes, status, reason, schedule, now, release=True)
        target = JobStatus(request.status) if request.status else None
        if target is not None and target != status:
            check_client(job, target, now)
            await self._client_status(job, target, schedule, changes, now)
        return changes

    def _recreation(self, job: Job, request: JobUpdateRequest, edits: set[str], now: datetime) -> Suggestion:
        """job_create with the job's definition and the edits asked for, if they are valid; else without them."""
        given = request.model_dump(mode="json", include=edits - {"depends_on"}, exclude_unset=True)
        suggestion = advice.recreate(job, now, given)
        try:
            self.check(JobCreateRequest.model_validate(suggestion.arguments), now)
        except (ValidationError, JobsError):
            return advice.recreate(job, now)
        return suggestion

    async def _client_status(
        self, job: Job, target: JobStatus, schedule: Schedule, changes: JobChanges, now: datetime
    ) -> None:
        if target is JobStatus.COMPLETED:
            if job.job_type is not JobType.ONGOING:
                raise InvalidInput(
                    f"Only ONGOING jobs can be marked COMPLETED by hand; {job.id} is {job.job_type}.",
                    suggestion=Suggestion("To stop it for good", "job_cancel", {"job_id": job.id}),
                )
            set_status(changes, JobStatus.COMPLETED, "goal met (marked by the user)", schedule, now)
        elif target is JobStatus.ACTIVE:
            used_up = schedule.max_runs is not None and job.run_count >= schedule.max_runs
            if used_up or schedule.first_run(now) is None:
                raise InvalidInput(
                    f"{job.id} has no run left in its schedule (end_at or max_runs reached).",
                    suggestion=advice.reactivate(job, now, "To resume it"),
                )
            if job.status is JobStatus.PAUSED:
                # A job paused while it waited on dependencies goes back to waiting.
                status, reason = lifecycle.dependency_status(await self.store.get_jobs(job.user_id, job.depends_on))
                resumed = JobStatus.PENDING if status is JobStatus.PENDING else target
                set_status(changes, resumed, reason, schedule, now, release=schedule.run_at is None)
            else:
                blocked = job.status is JobStatus.BLOCKED
                unblocked = "unblocked by the user" if blocked else None
                set_status(changes, JobStatus.ACTIVE, unblocked, schedule, now, release=blocked)
            changes.consecutive_failures = 0
        else:
            set_status(changes, target, None, schedule, now)

    async def pause(self, user_id: str, job_id: str, reason: str | None) -> Job:
        """Stop scheduling the job; a running job finishes its run first."""

        async def changes_for(job: Job, now: datetime) -> JobChanges:
            why = reason or "paused by the user"
            if job.status is JobStatus.PAUSED:
                return JobChanges()
            if job.status is JobStatus.IN_PROGRESS:
                return JobChanges(pause_requested=True, status_reason=f"{why} (after the current run)")
            if not lifecycle.allowed(job.status, JobStatus.PAUSED):
                idle = "it does not run until it is unblocked" if job.status is JobStatus.BLOCKED else "it has ended"
                raise ForbiddenTransition(f"{job.id} is {job.status}, so there is nothing to pause: {idle}.")
            return JobChanges(status=JobStatus.PAUSED, status_reason=why, next_run_at=None)

        return await self._modify(user_id, job_id, changes_for)

    async def cancel(self, user_id: str, job_id: str, reason: str | None) -> Job:
        """End the job for good; jobs waiting on it become BLOCKED."""

        async def changes_for(job: Job, now: datetime) -> JobChanges:
            if job.status is JobStatus.CANCELLED:
                return JobChanges()
            if not lifecycle.allowed(job.status, JobStatus.CANCELLED):
                archive = {"job_id": job.id, "status": JobStatus.ARCHIVED.value}
                hide = Suggestion("To hide it from listings", "job_update", archive)
                raise ForbiddenTransition(
                    f"{job.id} is {job.status}, so there is nothing to cancel: it has ended.",
                    suggestion=hide if lifecycle.allowed(job.status, JobStatus.ARCHIVED) else None,
                )
            return JobChanges(
                status=JobStatus.CANCELLED, status_reason=reason or "cancelled by the user", next_run_at=None
            )

        return await self._modify(user_id, job_id, changes_for)

    async def _modify(
        self, user_id: str, job_id: str, changes_for: Callable[[Job, datetime], Awaitable[JobChanges]]
    ) -> Job:
        """Read, decide, write if unchanged since the read; re-read and decide again on a conflict."""

        async def write(job: Job) -> Job:
            now = self.clock.now()
            changes = await changes_for(job, now)
            if not changes.model_fields_set:
                return job
            vector = None
            if changes.model_fields_set & TEXT_FIELDS:
                edited = job.model_copy(update={name: getattr(changes, name) for name in changes.model_fields_set})
                vector = await self.retrieval.vector_of(edited)
            updated = await self.store.update_job(user_id, job_id, changes, expected_version=job.version, vector=vector)
            if affects_dependents(job.status, updated.status):
                await settle_dependents(self.store, updated, now)
            if job.status is JobStatus.IN_PROGRESS and updated.status is JobStatus.CANCELLED:
                self.stop_run(job.id)
            await self.wake()
            return updated

        return await retried_on_conflict(lambda: self.store.get_job(user_id, job_id), write)

    # --- inbox ---

    async def inbox(self, user_id: str, unread_only: bool, limit: int) -> tuple[list[InboxMessage], int]:
        """The user's messages and how many are unread."""
        messages = await self.store.list_messages(user_id, unread_only, limit)
        return messages, await self.store.count_unread(user_id)

    async def mark_read(self, user_id: str, message_ids: list[str] | None, all_unread: bool) -> tuple[int, int]:
        """Mark messages read; returns (how many changed, how many stay unread)."""
        if (message_ids is None) == (not all_unread):
            raise InvalidInput("give either message_ids (a list of ids) or all=true, not both and not neither")
        marked = await self.store.mark_read(user_id, None if all_unread else message_ids, self.clock.now())
        return marked, await self.store.count_unread(user_id)
