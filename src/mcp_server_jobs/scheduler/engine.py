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

from mcp_server_jobs.clock import Clock
from mcp_server_jobs.errors import AgentError, BackendUnavailable
from mcp_server_jobs.models import InboxMessage, Job, JobStatus, JobType, Run, RunOutcome
from mcp_server_jobs.scheduler.backends import AgentResult, Backend, first_problem
from mcp_server_jobs.scheduler.context import MAX_PREVIOUS_RUNS, build_context
from mcp_server_jobs.scheduler.decide import Outcome, Policy, after_interrupt, after_run, plan_claim, plan_manual
from mcp_server_jobs.scheduler.delivery import inbox_message, post_webhook, webhook_payload
from mcp_server_jobs.scheduler.dependencies import affects_dependents, settle, settle_dependents
from mcp_server_jobs.scheduler.verdict import VERDICT_INSTRUCTIONS, VERDICT_ONLY, Verdict, VerdictError, parse_verdict
from mcp_server_jobs.store import JobStore

log = logging.getLogger(__name__)
_RETRY_SECONDS = 1.0


@dataclass
class _Running:
    job_id: str
    scope: anyio.CancelScope


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
    ) -> None:
        self.store = store
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
        self._poked = anyio.Event()
        self._sweep_due = True
        self._group: TaskGroup | None = None
        self._alarm: AsyncIOScheduler | None = None

    # --- entry points ---

    async def run_once(self) -> list[Run]:
        """Sweep, then claim and run everything due at the clock's time; return the finished runs."""
        await self.sweep()
        finished: list[Run] = []
        while claimed := await self._claim(self.policy.max_concurrency):
            async with anyio.create_task_group() as group:
                for job, run in claimed:
                    group.start_soon(self._collect, job, run, finished)
        return finished

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled: claim due jobs as they fall due, renew leases, sweep."""
        alarm = AsyncIOScheduler(timezone=UTC)
        alarm.add_job(self._sweep_alarm, IntervalTrigger(seconds=self.policy.sweep_seconds), id="sweep")
        alarm.start()
        self._alarm = alarm
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                group.start_soon(self._renew_leases)
                task_status.started()
                while True:
                    try:
                        await self._dispatch(group)
                    except Exception:
                        # The database may be busy or briefly unreachable: keep serving, try again soon.
                        log.exception("scheduler: dispatch failed; trying again in %gs", _RETRY_SECONDS)
                        group.start_soon(self._poke_later, _RETRY_SECONDS)
                    await self._poked.wait()
                    self._poked = anyio.Event()
        finally:
            self._group = None
            alarm.shutdown(wait=False)

    def poke(self) -> None:
        """Look for due work now (after a job was created or changed in this process)."""
        self._poked.set()

    async def wake(self) -> None:
        """`poke`, as the awaitable hook the job service calls."""
        self.poke()

    async def run_now(self, user_id: str, job_id: str) -> tuple[Job, Run]:
        """Start one run of the job now, outside its schedule: in the serving loop if one runs (the run
        returned has just started), else here until it ends (the run returned has ended)."""
        decide = partial(plan_manual, now=self.clock.now(), owner=self.owner, policy=self.policy)
        job, run = await self.store.claim_job(user_id, job_id, decide)
        if self._group is not None:
            self._group.start_soon(self._execute, job, run)
            return job, run
        async with anyio.create_task_group() as group:
            # A run longer than a lease would otherwise be taken back by a server on the same database.
            group.start_soon(self._renew_leases)
            run = await self._execute(job, run)
            group.cancel_scope.cancel()
        return job, run

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
        for job in await self.store.reclaim_expired(now, interrupted):
            log.warning("job %s: run interrupted (lease expired); %s", job.id, job.status_reason)
            await self._settle_dependents(job, now)
        for job in await self.store.waiting_to_settle(limit=1000):
            await settle(self.store, job, now)

    async def _sweep_alarm(self) -> None:
        self._sweep_due = True
        self.poke()

    async def _dispatch(self, group: TaskGroup) -> None:
        if self._sweep_due:
            self._sweep_due = False
            await self.sweep()
        free = self.policy.max_concurrency - len(self._running)
        if free > 0:
            claimed = await self._claim(free)
            for job, run in claimed:
                group.start_soon(self._execute, job, run)
            if len(claimed) == free:
                self.poke()  # more may be due; claim again once these are started
        await self._arm()

    async def _arm(self) -> None:
        """Set the alarm for the earliest due job (when there is room to run it)."""
        earliest = await self.store.earliest_due()
        if earliest is None or self._alarm is None:
            return
        if earliest <= self.clock.now():
            if len(self._running) < self.policy.max_concurrency:
                self.poke()
            return
        self._alarm.add_job(
            self.wake, DateTrigger(run_date=earliest), id="wake", replace_existing=True, misfire_grace_time=None
        )

    async def _claim(self, limit: int) -> list[tuple[Job, Run]]:
        now = self.clock.now()
        decide = partial(plan_claim, now=now, owner=self.owner, policy=self.policy,
                         backend_problem=self.backend_problem())  # fmt: skip
        return await self.store.claim_due(now, limit, decide)

    async def _poke_later(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        self.poke()

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

    async def _collect(self, job: Job, run: Run, finished: list[Run]) -> None:
        finished.append(await self._execute(job, run))

    async def _execute(self, job: Job, run: Run) -> Run:
        """Carry out a claimed run and record its end, whatever happens to it."""
        result: Run | None = None
        outcome = Outcome(succeeded=False)
        with anyio.CancelScope() as scope:
            self._running[run.id] = _Running(job.id, scope)
            try:
                async with self._limiter:
                    result, outcome = await self._attempt(job, run)
            finally:
                self._running.pop(run.id, None)
        message: tuple[InboxMessage, Job] | None = None
        with anyio.CancelScope(shield=True):
            try:
                ended, message = await self._record(run, result, outcome)
            except Exception:
                # Unrecorded, the run keeps its lease until it expires; the sweep then takes it back.
                log.exception("job %s: could not record the end of run %s", job.id, run.id)
                ended = result or self._ended(run, RunOutcome.INTERRUPTED, error="not recorded")
        self.poke()
        if message is not None and self.webhook is not None:
            await self._post_webhook(message[1], ended, message[0])
        return ended

    async def _record(
        self, run: Run, result: Run | None, outcome: Outcome
    ) -> tuple[Run, tuple[InboxMessage, Job] | None]:
        """Write how the run ended and the job's next state, deliver its message, settle waiting jobs."""
        if result is None:
            # Cancelled: by job_cancel, a lost lease, or the server shutting down.
            shutdown = self._group is not None and self._group.cancel_scope.cancel_called
            error = "interrupted: the server shut down" if shutdown else "interrupted: cancelled"
            ended = self._ended(run, RunOutcome.INTERRUPTED, error=error)
            decide = partial(after_interrupt, now=self.clock.now(), policy=self.policy, counts=not shutdown)
            updated = await self.store.finish_run(ended, decide)
        else:
            ended = result
            settle_run = partial(after_run, outcome=outcome, now=self.clock.now(), policy=self.policy)
            updated = await self.store.finish_run(ended, settle_run)
        if updated is None:
            return ended, None
        delivered = await self._deliver(updated, ended)
        await self._settle_dependents(updated, self.clock.now())
        return ended, None if delivered is None else (delivered, updated)

    async def _deliver(self, job: Job, run: Run) -> InboxMessage | None:
        message = inbox_message(job, run, self.clock.now())
        if message is None:
            return None
        await self.store.add_message(message, keep=self.policy.max_inbox_messages)
        if self.on_message is not None:
            try:
                await self.on_message(message)
            except Exception:  # a listener's failure must not undo the delivery
                log.exception("job %s: inbox listener failed", job.id)
        return message

    async def _post_webhook(self, job: Job, run: Run, message: InboxMessage) -> None:
        """Send the message to the webhook; a failure is recorded on the run, never hidden."""
        assert self.webhook is not None
        problem = await post_webhook(self.webhook, webhook_payload(message, job, run))
        if problem is not None:
            log.warning("job %s: %s", job.id, problem)
            await self.store.record_delivery_error(run.id, problem)

    async def _attempt(self, job: Job, run: Run) -> tuple[Run, Outcome]:
        """One call into the backends with the run's time limit; never raises but for cancellation."""
        timeout = job.schedule.timeout_seconds or self.policy.run_timeout_seconds
        try:
            context = await self._context(job)
            if self.on_context is not None:
                self.on_context(job, context)
            with anyio.fail_after(timeout):
                backend, answer = await self._call_backends(job, context)
                verdict = answer.verdict or await self._text_verdict(backend, job, answer.output)
        except TimeoutError:
            return self._ended(run, RunOutcome.FAILED, error=f"timed out after {timeout:g}s"), Outcome(False)
        except AgentError as exc:
            failed = Outcome(False, permanent=exc.permanent, retry=exc.retry, retry_after=exc.retry_after)
            return self._ended(run, RunOutcome.FAILED, error=str(exc)), failed
        except Exception as exc:  # a backend bug must fail the run, not the scheduler
            log.exception("job %s: run %s failed unexpectedly", job.id, run.id)
            return self._ended(run, RunOutcome.FAILED, error=f"{type(exc).__name__}: {exc}"), Outcome(False)
        succeeded = verdict.outcome == "success"
        ended = self._ended(
            run,
            RunOutcome.SUCCEEDED if succeeded else RunOutcome.FAILED,
            backend=backend.name,
            output=answer.output,
            summary=verdict.summary,
            verdict=verdict.model_dump(),
            usage=answer.usage,
            error=None if succeeded else f"the agent reported failure: {verdict.summary}",
        )
        return ended, Outcome(succeeded=succeeded, goal_met=bool(verdict.goal_met))

    async def _call_backends(self, job: Job, context: str) -> tuple[Backend, AgentResult]:
        reasons = []
        for backend in self.backends:
            reason = backend.unavailable()
            if reason is None:
                try:
                    return backend, await backend.run(job, context)
                except BackendUnavailable as exc:
                    reason = str(exc)
            reasons.append(f"{backend.name}: {reason}")
        raise AgentError("no agent backend could take the run: " + "; ".join(reasons))

    async def _text_verdict(self, backend: Backend, job: Job, output: str) -> Verdict:
        """The verdict at the end of a text backend's output, asking once for it alone if it is malformed."""
        try:
            return parse_verdict(output)
        except VerdictError as first:
            previous = f"--- your previous answer ---\n{output[-8_000:]}\n--- end of it ---"
            prompt = f"{VERDICT_ONLY.format(problem=first)}\n\n{previous}\n\n{VERDICT_INSTRUCTIONS}"
            retry = await backend.run(job, prompt)
            try:
                return retry.verdict or parse_verdict(retry.output)
            except VerdictError as second:
                raise AgentError(f"no valid verdict after one retry: {second}") from second

    async def _context(self, job: Job) -> str:
        dependencies, outputs, previous = [], {}, []
        if job.depends_on:
            dependencies = await self.store.get_jobs(job.user_id, job.depends_on)
            outputs = await self.store.latest_outputs(job.depends_on)
        # A first attempt at a one-off has no history worth a query.
        if job.job_type is not JobType.ONE_OFF or job.attempt > 1:
            previous = await self.store.list_runs(job.id, MAX_PREVIOUS_RUNS + 1)
        text = build_context(job, self.clock.now(), dependencies, outputs, previous)
        return text + "\n\n" + VERDICT_INSTRUCTIONS

    def _ended(self, run: Run, outcome: RunOutcome, **fields: object) -> Run:
        return run.model_copy(update={"outcome": outcome, "finished_at": self.clock.now(), **fields})

    async def _settle_dependents(self, job: Job, now: datetime) -> None:
        if affects_dependents(JobStatus.IN_PROGRESS, job.status):
            await settle_dependents(self.store, job, now)
