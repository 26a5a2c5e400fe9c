"""The scheduler: wakes when a job is due, claims it, runs it through a backend, records the outcome.

APScheduler 3.11 (`AsyncIOScheduler`, in-memory) is only the alarm clock: one `date` job re-armed
at the earliest next_run_at, and a slow `interval` sweep for changes made by other processes.
SQLite holds the truth; every claim is one write transaction, so processes sharing a database
never run one job twice.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import anyio
from anyio.abc import TaskGroup, TaskStatus
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mcp_server_jobs import faults
from mcp_server_jobs.clock import Clock
from mcp_server_jobs.lifecycle import affects_dependents
from mcp_server_jobs.models import InboxMessage, Job, JobStatus, Run, RunOutcome
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.redact import Redactor
from mcp_server_jobs.scheduler.attempt import Attempt
from mcp_server_jobs.scheduler.backends.base import Backend
from mcp_server_jobs.scheduler.backends.factory import first_problem
from mcp_server_jobs.scheduler.decide import Ending, after_interrupt, after_run, plan_claim, plan_manual
from mcp_server_jobs.scheduler.delivery import post_webhook, report_for
from mcp_server_jobs.scheduler.dependencies import settle, settle_dependents
from mcp_server_jobs.store import Claim, Finished, JobStore, Report, Worker

log = logging.getLogger(__name__)
_RETRY_SECONDS = 1.0
_BUSY_SECONDS = 0.1
_DELIVERY_BATCH = 20
# How long a claimed webhook delivery is held: longer than a post may take, short enough to retry soon.
_DELIVERY_HOLD = timedelta(seconds=60)


@dataclass
class _Running:
    job_id: str
    scope: anyio.CancelScope


@dataclass(frozen=True)
class RunStart:
    """What asking for a run by hand did: started it here (`run`), or handed it to the process that runs
    jobs (`run` None, `handed_to` says which processes serve), or found none to hand it to."""

    job: Job
    run: Run | None
    handed_to: list[Worker]


class Scheduler:
    """Runs due jobs of every user from one store, at most `policy.max_concurrency` at once."""

    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        backends: Sequence[Backend],
        policy: Policy | None = None,
        *,
        owner: str | None = None,
        on_message: Callable[[InboxMessage], Awaitable[None]] | None = None,
        webhook: str | None = None,
        on_context: Callable[[Job, str], None] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.store = store
        # Cuts configured secrets out of everything a run records (a provider may echo a key in an error).
        self.redactor = redactor or Redactor()
        # Shown each run's context before the backends get it (`jobs run` prints it).
        self.on_context = on_context
        # Told of every inbox message this scheduler writes (the server notifies subscribed clients).
        self.on_message = on_message
        # Every inbox message is also POSTed here as JSON, when set.
        self.webhook = webhook
        self.clock = clock
        self.backends = list(backends)
        self.policy = policy or Policy()
        # Names this process in leases: host and pid help a person reading the database.
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._running: dict[str, _Running] = {}
        self._limiter = anyio.CapacityLimiter(self.policy.max_concurrency)
        self._woken = anyio.Event()
        self._deliveries_due = anyio.Event()
        self._sweep_due = True
        self._group: TaskGroup | None = None
        self._alarm: AsyncIOScheduler | None = None
        self._started_at = clock.now()
        # Previews only: every backend is a dry run, so no scheduled job may be consumed.
        self.previews_only = bool(self.backends) and all(getattr(b, "previews", False) for b in self.backends)

    # --- entry points ---

    async def run_once(self) -> list[Run]:
        """Sweep, then claim and run everything due at the clock's time; return the finished runs."""
        await self.sweep()
        finished: list[Run] = []
        while claimed := await self._claim(self.policy.max_concurrency):
            async with anyio.create_task_group() as group:
                for job, run in claimed:
                    group.start_soon(self._collect, job, run, finished)
        await self.deliver_due()
        return finished

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled: claim due jobs as they fall due, renew leases, sweep."""
        if self.previews_only:
            log.warning("dry-run: scheduled jobs are not run here; job_run_now and `jobs run` record previews")
        alarm = AsyncIOScheduler(timezone=UTC)
        alarm.add_job(self._sweep_alarm, IntervalTrigger(seconds=self.policy.sweep_seconds), id="sweep")
        alarm.start()
        self._alarm = alarm
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                group.start_soon(self._renew_leases)
                group.start_soon(self._watch)
                group.start_soon(self._follow_due_changes)
                task_status.started()
                while True:
                    try:
                        await self._dispatch(group)
                    except Exception:
                        # The database may be busy or briefly unreachable: keep serving, try again soon.
                        log.exception("scheduler: dispatch failed; trying again in %gs", _RETRY_SECONDS)
                        group.start_soon(self._wake_later, _RETRY_SECONDS)
                    await self._woken.wait()
                    self._woken = anyio.Event()
        finally:
            self._group = None
            alarm.shutdown(wait=False)
            with anyio.CancelScope(shield=True):
                try:
                    await self.store.drop_worker(self.owner)
                except Exception as exc:
                    log.warning("scheduler: could not sign off in the database (%s); it is forgotten soon", exc)

    async def wake(self) -> None:
        """Look for due work now (after a job was created or changed in this process); the job service's hook."""
        self._woken.set()

    async def start_run(self, user_id: str, job_id: str) -> RunStart:
        """Start one run of the job by hand and answer at once: in this process's loop if it runs jobs,
        else handed to the process that does (the answer names it, or says there is none)."""
        if self.previews_only:
            return RunStart(*await self.run_here(user_id, job_id), handed_to=[])
        now = self.clock.now()
        if self._group is not None:
            job, run = await self.store.claim_job(user_id, job_id, self._manual(now))
            self._group.start_soon(self._execute, job, run)
            return RunStart(job, run, handed_to=[])
        job = await self.store.request_run(user_id, job_id, self._manual(now), now)
        return RunStart(job, None, handed_to=await self.serving_workers())

    async def run_here(self, user_id: str, job_id: str) -> tuple[Job, Run]:
        """Run the job by hand in this process until the run ends (CLI `jobs run`); return the ended run.

        With only dry-run backends the run is a preview: the context is recorded, the job is not touched.
        """
        now = self.clock.now()
        if self.previews_only:
            return await self._preview(user_id, job_id, now)
        job, run = await self.store.claim_job(user_id, job_id, self._manual(now))
        async with anyio.create_task_group() as group:
            # A run longer than a lease would otherwise be taken back by a server on the same database.
            group.start_soon(self._renew_leases)
            run = await self._execute(job, run)
            group.cancel_scope.cancel()
        await self.deliver_due()
        return job, run

    async def serving_workers(self) -> list[Worker]:
        """The processes on this database that run jobs, by their recent heartbeats."""
        since = self.clock.now() - timedelta(seconds=max(3 * self.policy.lease_seconds, 10 * self.policy.watch_seconds))
        return [worker for worker in await self.store.workers(since) if worker.runs_jobs]

    def _manual(self, now: datetime) -> Callable[[Job], Claim]:
        return partial(plan_manual, now=now, owner=self.owner, policy=self.policy)

    async def _preview(self, user_id: str, job_id: str, now: datetime) -> tuple[Job, Run]:
        job = await self.store.get_job(user_id, job_id)
        plan_manual(job, now, self.owner, self.policy)  # refuses what a real run would refuse
        return job, await self._attempt().preview(job, now)

    def backend_problem(self) -> str | None:
        """Why no backend can take runs now, or None when one can."""
        return first_problem(self.backends)

    def cancel_job_run(self, job_id: str) -> None:
        """Stop this process's run of the job, if there is one (the job was cancelled)."""
        for running in self._running.values():
            if running.job_id == job_id:
                running.scope.cancel()

    # --- the loop ---

    async def sweep(self) -> None:
        """Take back runs of dead processes and free or block jobs whose dependencies finished."""
        now = self.clock.now()
        interrupted = partial(after_interrupt, now=now, policy=self.policy)
        for finished in await self.store.reclaim_expired(now, interrupted, self._report(now)):
            job = finished.job
            log.warning("job %s: run interrupted (lease expired); %s", job.id, job.status_reason)
            await self._announce(finished)
            await self._settle_dependents(job, now)
        for job in await self.store.waiting_to_settle(limit=1000):
            await settle(self.store, job, now)

    async def _sweep_alarm(self) -> None:
        self._sweep_due = True
        self._woken.set()

    async def _dispatch(self, group: TaskGroup) -> None:
        if self._sweep_due:
            self._sweep_due = False
            await self.sweep()
        free = self.policy.max_concurrency - len(self._running)
        took_none = False
        if free > 0 and not self.previews_only:
            claimed = await self._claim(free)
            for job, run in claimed:
                group.start_soon(self._execute, job, run)
            if len(claimed) == free:
                self._woken.set()  # more may be due; claim again once these are started
            took_none = not claimed
        await self._arm(group, took_none=took_none)

    async def _arm(self, group: TaskGroup, *, took_none: bool = False) -> None:
        """Set the alarm for the earliest due job (when there is room to run it)."""
        earliest = await self.store.earliest_due()
        if earliest is None or self._alarm is None:
            return
        if earliest <= self.clock.now():
            if len(self._running) >= self.policy.max_concurrency:
                return
            if took_none:
                # Due, yet nothing could be claimed: another process's claim holds it (PostgreSQL skips
                # locked rows). Looking again at once would spin for as long as that lock is held.
                group.start_soon(self._wake_later, _BUSY_SECONDS)
            else:
                self._woken.set()
            return
        self._alarm.add_job(
            self.wake, DateTrigger(run_date=earliest), id="wake", replace_existing=True, misfire_grace_time=None
        )

    async def _claim(self, limit: int) -> list[tuple[Job, Run]]:
        now = self.clock.now()
        plan = partial(plan_claim, now=now, owner=self.owner, policy=self.policy,
                         backend_problem=self.backend_problem())  # fmt: skip
        return await self.store.claim_due(now, limit, plan)

    async def _follow_due_changes(self) -> None:
        """Other processes' new jobs and due times wake this one at their commit (where the store hears of them)."""
        async for _ in self.store.due_changes():
            self._woken.set()

    async def _wake_later(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        self._woken.set()

    async def _renew_leases(self) -> None:
        while True:
            await anyio.sleep(self.policy.lease_seconds / 3)
            if not self._running:
                continue
            until = self.clock.now() + timedelta(seconds=self.policy.lease_seconds)
            try:
                held = await self.store.renew_leases(self.owner, list(self._running), until)
            except Exception:
                log.exception("scheduler: could not renew leases; trying again")
                continue
            for run_id, running in list(self._running.items()):
                if run_id not in held:
                    log.info(
                        "job %s: run %s no longer held (cancelled or taken back); stopping it", running.job_id, run_id
                    )
                    running.scope.cancel()

    # --- one run ---

    def _attempt(self) -> Attempt:
        # Taken at each use: the backends, the policy and the redactor are attributes a caller may change.
        return Attempt(self.store, self.clock, self.redactor, self.backends, self.policy.run_timeout,
                       self.on_context)  # fmt: skip

    async def _collect(self, job: Job, run: Run, finished: list[Run]) -> None:
        finished.append(await self._execute(job, run))

    async def _execute(self, job: Job, run: Run) -> Run:
        """Hold a claimed run while it is attempted, and record its end, whatever happens to it."""
        result: Run | None = None
        ending = Ending(succeeded=False)
        ended = run
        with anyio.CancelScope() as scope:
            self._running[run.id] = _Running(job.id, scope)
            try:
                async with self._limiter:
                    result, ending = await self._attempt().carry_out(job, run)
            finally:
                self._running.pop(run.id, None)
                # Also when a scope outside this one (the server stopping) cancels the run: the end is
                # recorded here and now, not left for the lease to expire and count as a failed attempt.
                with anyio.CancelScope(shield=True):
                    ended = await self._record_safely(run, result, ending, stopped=not scope.cancel_called)
        self._woken.set()
        return ended

    async def _record_safely(self, run: Run, result: Run | None, ending: Ending, *, stopped: bool) -> Run:
        try:
            return await self._record(run, result, ending, stopped=stopped)
        except Exception:
            # Unrecorded, the run keeps its lease until it expires; the sweep then takes it back.
            log.exception("job %s: could not record the end of run %s", run.job_id, run.id)
            return result or self._attempt().ended(run, RunOutcome.INTERRUPTED, error="not recorded")

    async def _record(self, run: Run, result: Run | None, ending: Ending, *, stopped: bool) -> Run:
        """Write how the run ended, the job's next state and its report in one go, then settle waiting jobs.

        `result` None means cancelled: by job_cancel or a lost lease, or (`stopped`) the process stopping.
        """
        now = self.clock.now()
        if result is None:
            error = "interrupted: the server shut down" if stopped else "interrupted: cancelled"
            ended = self._attempt().ended(run, RunOutcome.INTERRUPTED, error=error)
            next_state = partial(after_interrupt, now=now, policy=self.policy, counts=not stopped)
        else:
            ended = result
            next_state = partial(after_run, ending=ending, now=now, policy=self.policy)
        finished = await self.store.finish_run(ended, next_state, self._report(now))
        faults.crash_point("after-finish-run")
        if finished is not None:
            await self._announce(finished)
            await self._settle_dependents(finished.job, self.clock.now())
        return ended

    def _report(self, now: datetime) -> Callable[[Job, Run], Report | None]:
        return partial(report_for, now=now, webhook=self.webhook, keep=self.policy.max_inbox_messages)

    async def _announce(self, finished: Finished) -> None:
        """Tell the listener of a message written with a run's end, and have its webhook posted soon."""
        if finished.message is None:
            return
        self._deliveries_due.set()
        if self.on_message is not None:
            try:
                await self.on_message(finished.message)
            except Exception:  # a listener's failure must not undo the delivery
                log.exception("job %s: inbox listener failed", finished.job.id)

    # --- runs handed over, webhook deliveries, heartbeat ---

    async def _watch(self) -> None:
        """Start runs asked of this process, post webhook deliveries that are due, and say it is alive."""
        beat_every = self.policy.lease_seconds / 3
        last_beat: datetime | None = None
        while True:
            now = self.clock.now()
            try:
                if last_beat is None or (now - last_beat).total_seconds() >= beat_every:
                    await self.store.heartbeat(self._worker(now))
                    last_beat = now
                await self._start_requested()
                await self.deliver_due()
            except Exception:
                log.exception("scheduler: watching for requests and deliveries failed; trying again")
            with anyio.move_on_after(self.policy.watch_seconds):
                await self._deliveries_due.wait()
            self._deliveries_due = anyio.Event()

    def _worker(self, now: datetime) -> Worker:
        host = self.owner.split(":", 1)[0]
        return Worker(self.owner, os.getpid(), host, not self.previews_only, self._started_at, now)

    async def _start_requested(self) -> None:
        if self._group is None or self.previews_only:
            return
        for job in await self.store.requested_runs(limit=self.policy.max_concurrency):
            try:
                job, run = await self.store.claim_job(job.user_id, job.id, self._manual(self.clock.now()))
            except Exception as exc:  # changed since it was asked for (e.g. running, or cancelled)
                log.warning("job %s: the run asked for could not start: %s", job.id, exc)
                await self.store.clear_run_request(job.id)
                continue
            log.info("job %s: starting the run asked for by another process", job.id)
            self._group.start_soon(self._execute, job, run)

    async def deliver_due(self) -> None:
        """Post the webhook deliveries that are due once each; a failure waits its backoff, and after the
        last attempt the delivery is marked failed (shown on the message and the run)."""
        while True:
            now = self.clock.now()
            batch = await self.store.claim_deliveries(now, now + _DELIVERY_HOLD, limit=_DELIVERY_BATCH)
            for delivery in batch:
                problem = await post_webhook(delivery.url, delivery.payload)
                if problem is None:
                    await self.store.settle_delivery(delivery.message_id, self.clock.now())
                elif delivery.attempts >= self.policy.webhook_attempts:
                    error = f"webhook {delivery.url}: gave up after {delivery.attempts} attempt(s); last: {problem}"
                    log.warning("job %s: %s; giving up", delivery.job_id, error)
                    await self.store.settle_delivery(delivery.message_id, self.clock.now(), error)
                else:
                    retry_at = self.clock.now() + self.policy.webhook_backoff(delivery.attempts)
                    log.info("job %s: webhook %s: %s; trying again at %s", delivery.job_id, delivery.url, problem,
                             retry_at.isoformat(timespec="seconds"))  # fmt: skip
                    error = f"attempt {delivery.attempts} failed: {problem}"
                    await self.store.settle_delivery(delivery.message_id, self.clock.now(), error, retry_at)
            if len(batch) < _DELIVERY_BATCH:
                return

    async def _settle_dependents(self, job: Job, now: datetime) -> None:
        if affects_dependents(JobStatus.IN_PROGRESS, job.status):
            await settle_dependents(self.store, job, now)
