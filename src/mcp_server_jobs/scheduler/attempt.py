"""One attempt at a run, outside the scheduler's loop: the context read from the store, the backends tried in
order within the run's time limit, and the run as it ended with what the rules need to know of it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import anyio

from mcp_server_jobs.clock import Clock
from mcp_server_jobs.errors import AgentError
from mcp_server_jobs.models import Job, JobType, Run, RunOutcome, RunTrigger, new_id
from mcp_server_jobs.redact import Redactor
from mcp_server_jobs.scheduler.backends.base import Backend, metering, reporting_agent_pids
from mcp_server_jobs.scheduler.backends.chain import call_backends, prompt_for, read_verdict
from mcp_server_jobs.scheduler.context import MAX_PREVIOUS_RUNS, build_context
from mcp_server_jobs.scheduler.decide import Ending
from mcp_server_jobs.store import JobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """What carrying out a run needs of the scheduler, taken from it at each use."""

    store: JobStore
    clock: Clock
    redactor: Redactor
    backends: Sequence[Backend]
    timeout_seconds: float  # unless the job sets its own
    on_context: Callable[[Job, str], None] | None = None

    async def carry_out(self, job: Job, run: Run) -> tuple[Run, Ending]:
        """One call into the backends with the run's time limit; never raises but for cancellation."""
        timeout = job.schedule.timeout_seconds or self.timeout_seconds
        with metering() as meter:
            try:
                context = await self.context(job)
                with anyio.fail_after(timeout), reporting_agent_pids(partial(self.store.record_agent_pid, run.id)):
                    backend, answer = await call_backends(self.backends, job, context, self.on_context)
                    verdict, usage = await read_verdict(backend, job, answer)
            except TimeoutError:
                error = f"timed out after {timeout:g}s"
                return self.ended(run, RunOutcome.FAILED, error=error, usage=meter.reading()), Ending(False)
            except AgentError as exc:
                failed = Ending(False, permanent=exc.permanent, retry=exc.retry, retry_after=exc.retry_after)
                return self.ended(run, RunOutcome.FAILED, error=str(exc), usage=exc.usage), failed
            except Exception as exc:  # a backend bug must fail the run, not the scheduler
                log.exception("job %s: run %s failed unexpectedly", job.id, run.id)
                error = f"{type(exc).__name__}: {exc}"
                return self.ended(run, RunOutcome.FAILED, error=error, usage=meter.reading()), Ending(False)
        succeeded = verdict.outcome == "success"
        ended = self.ended(
            run,
            RunOutcome.SUCCEEDED if succeeded else RunOutcome.FAILED,
            backend=backend.name,
            output=answer.output,
            summary=verdict.summary,
            verdict=verdict.model_dump(),
            usage=usage,
            error=None if succeeded else f"the agent reported failure: {verdict.summary}",
        )
        return ended, Ending(succeeded=succeeded, goal_met=bool(verdict.goal_met))

    async def preview(self, job: Job, now: datetime) -> Run:
        """Show the job to the first backend (a dry run) and record what it answered; the job is not touched."""
        backend = self.backends[0]
        context = prompt_for(backend, job, await self.context(job))
        if self.on_context is not None:
            self.on_context(job, context)
        answer = await backend.run(job, context)
        run = Run(
            id=new_id("run"), job_id=job.id, trigger=RunTrigger.MANUAL, scheduled_for=now, started_at=now,
            finished_at=self.clock.now(), attempt=0, outcome=RunOutcome.PREVIEW,
            output=self.redactor.text(answer.output),
            summary="preview: the context an agent would receive; nothing was run and the job is unchanged",
            backend=backend.name,
        )  # fmt: skip
        await self.store.record_preview(run)
        return run

    async def context(self, job: Job) -> str:
        """The run's context, with what it quotes of the dependencies and earlier runs read from the store."""
        dependencies, outputs, previous = [], {}, []
        if job.depends_on:
            dependencies = await self.store.get_jobs(job.user_id, job.depends_on)
            outputs = await self.store.latest_outputs(job.depends_on)
        # A first attempt at a one-off has no history worth a query.
        if job.job_type is not JobType.ONE_OFF or job.attempt > 1:
            previous = await self.store.list_runs(job.id, MAX_PREVIOUS_RUNS + 1)
        return build_context(job, self.clock.now(), dependencies, outputs, previous)

    def ended(self, run: Run, outcome: RunOutcome, **fields: object) -> Run:
        """The run as it ended now, with the configured secrets cut out of what it records."""
        clean = {name: self.redactor.data(value) for name, value in fields.items()}
        return run.model_copy(update={"outcome": outcome, "finished_at": self.clock.now(), **clean})
