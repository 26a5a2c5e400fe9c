"""The scheduling rules of design §4 and §5.6 on a real database, with the clock moved by hand.

`Scheduler.run_once()` claims and runs what is due at the fake clock's time, so no test sleeps.
The backend is a script standing in for the LLM agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.errors import AgentError
from mcp_server_jobs.models import Job, JobChanges, JobStatus, RunOutcome
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.scheduler.backends.base import AgentResult
from mcp_server_jobs.scheduler.backends.factory import NotConfigured
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.scheduler.verdict import Verdict
from mcp_server_jobs.server.requests import JobUpdateRequest
from tests.conftest import START, World, open_world, wait_for

pytestmark = pytest.mark.anyio
USER = "local"
HOUR = timedelta(hours=1)


@dataclass
class ScriptedAgent:
    """Stands in for an LLM agent: answers from a script, records what it was asked."""

    name: str = "scripted"
    failures: list[AgentError | None] = field(default_factory=list)
    goal_met_on_call: int | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    gate: anyio.Event | None = None

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        self.calls.append((job.id, context))
        if self.gate is not None:
            await self.gate.wait()
        if self.failures and (failure := self.failures.pop(0)) is not None:
            raise failure
        goal_met = self.goal_met_on_call == len(self.calls)
        verdict = Verdict(outcome="success", summary=f"did {job.title}", goal_met=goal_met)
        return AgentResult(output=f"output of {job.title} #{len(self.calls)}", verdict=verdict)

    def count(self, job_id: str) -> int:
        return sum(1 for called, _ in self.calls if called == job_id)


@pytest.fixture
async def world(any_db: Path | str, clock: FakeClock) -> AsyncIterator[World]:
    """A world on each kind of database."""
    agent = ScriptedAgent()
    async with open_world(any_db, clock, [agent]) as opened:
        opened.agent = agent
        yield opened


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- on time, no drift -----------------------------------------------------------------------


async def test_one_off_runs_once_and_completes(world: World) -> None:
    job = await world.create(title="Report", job_type="ONE_OFF", schedule={"delay": "1h"})
    assert await world.at(START + timedelta(minutes=59)) == []
    runs = await world.at(START + HOUR)
    assert [r.outcome for r in runs] == [RunOutcome.SUCCEEDED]
    done = await world.job(job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.run_count == 1
    assert await world.at(START + 2 * HOUR) == []
    assert world.agent.count(job.id) == 1


async def test_interval_counts_from_the_scheduled_time(world: World) -> None:
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    await world.at(START + timedelta(minutes=7))  # ran 7 minutes late (within grace)
    ran = await world.job(job.id)
    assert ran.next_run_at == START + HOUR  # not 11:07
    [run] = await world.runs(job.id)
    assert run.scheduled_for == START
    assert run.started_at == START + timedelta(minutes=7)


async def test_cron_job_moves_to_its_next_occurrence(world: World) -> None:
    job = await world.create(title="Invoices", job_type="SCHEDULED", schedule={"cron": "0 9 * * 1"})
    assert job.next_run_at == utc(2026, 11, 23, 8, 0)
    await world.at(utc(2026, 11, 23, 8, 0))
    assert (await world.job(job.id)).next_run_at == utc(2026, 11, 30, 8, 0)
    await world.at(utc(2026, 11, 30, 8, 0, 1))
    assert world.agent.count(job.id) == 2


async def test_fall_back_day_runs_a_daily_job_once(world: World) -> None:
    world.clock.set(utc(2026, 10, 31, 12, 0))
    job = await world.create(
        title="Nightly", job_type="SCHEDULED", schedule={"cron": "30 1 * * *", "timezone": "America/New_York"}
    )
    for hour in range(36):  # walk through 1 November hour by hour, past both 01:30s
        await world.at(utc(2026, 11, 1, 0, 0) + hour * HOUR + timedelta(minutes=31))
    runs = await world.runs(job.id)
    assert [r.scheduled_for for r in runs] == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


# --- missed while down -----------------------------------------------------------------------


async def test_one_off_due_during_downtime_runs_late_with_lateness(world: World) -> None:
    job = await world.create(title="Report", job_type="ONE_OFF", schedule={"delay": "1h"})
    await world.at(START + timedelta(days=3))
    [run] = await world.runs(job.id)
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.scheduled_for == START + HOUR
    assert run.started_at is not None
    assert run.started_at - run.scheduled_for == timedelta(days=3) - HOUR
    assert (await world.job(job.id)).status is JobStatus.COMPLETED


async def test_catch_up_within_grace_is_one_coalesced_run(world: World) -> None:
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    await world.at(START)
    # Down from just after 10:00 until 13:10: 11:00, 12:00, 13:00 were missed; 13:00 is 10 min old (< 30).
    await world.at(START + 3 * HOUR + timedelta(minutes=10))
    runs = await world.runs(job.id)
    assert [r.scheduled_for for r in runs] == [START, START + 3 * HOUR]
    assert all(r.outcome is RunOutcome.SUCCEEDED for r in runs)
    assert (await world.job(job.id)).next_run_at == START + 4 * HOUR


async def test_missed_beyond_grace_is_recorded_and_skipped(world: World) -> None:
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    await world.at(START)
    await world.at(START + 3 * HOUR + timedelta(minutes=40))  # 13:00 is 40 min old: past half the period
    runs = await world.runs(job.id)
    assert [r.outcome for r in runs] == [RunOutcome.SUCCEEDED, RunOutcome.MISSED]
    assert runs[1].scheduled_for == START + 3 * HOUR
    assert runs[1].error is not None
    assert "missed 3 occurrence(s)" in runs[1].error
    after = await world.job(job.id)
    assert after.status is JobStatus.ACTIVE
    assert after.next_run_at == START + 4 * HOUR
    assert world.agent.count(job.id) == 1


async def test_daily_cron_grace_is_capped_at_an_hour(world: World) -> None:
    job = await world.create(title="Digest", job_type="SCHEDULED", schedule={"cron": "0 7 * * *"})
    await world.at(utc(2026, 11, 25, 6, 50))  # 07:50 Paris: 50 minutes late, within the 1 h cap
    await world.at(utc(2026, 11, 28, 8, 30))  # 09:30 Paris: 2.5 h late, beyond it
    outcomes = [(r.outcome, r.scheduled_for) for r in await world.runs(job.id)]
    assert outcomes == [
        (RunOutcome.SUCCEEDED, utc(2026, 11, 25, 6, 0)),
        (RunOutcome.MISSED, utc(2026, 11, 28, 6, 0)),
    ]


async def test_ongoing_checks_once_after_downtime(world: World) -> None:
    job = await world.create(
        title="Watch", job_type="ONGOING", schedule={"every": "1h"}, end_condition="The price changed"
    )
    await world.at(START + 10 * HOUR + timedelta(minutes=50))
    runs = await world.runs(job.id)
    assert [r.outcome for r in runs] == [RunOutcome.SUCCEEDED]
    assert runs[0].scheduled_for == START + 10 * HOUR


# --- ends --------------------------------------------------------------------------------------


async def test_max_runs_completes_a_recurring_job(world: World) -> None:
    job = await world.create(title="Thrice", job_type="RECURRING", schedule={"every": "1h", "max_runs": 3})
    for hour in range(5):
        await world.at(START + hour * HOUR)
    done = await world.job(job.id)
    assert world.agent.count(job.id) == 3
    assert done.status is JobStatus.COMPLETED
    assert done.next_run_at is None


async def test_end_at_completes_a_scheduled_job(world: World) -> None:
    job = await world.create(
        title="Until Tuesday",
        job_type="SCHEDULED",
        schedule={"cron": "0 12 * * *", "end_at": "2026-11-24T13:00:00"},
    )
    for day in range(5):
        await world.at(utc(2026, 11, 22, 11, 0) + day * timedelta(days=1))
    assert world.agent.count(job.id) == 3  # 22, 23, 24 November
    assert (await world.job(job.id)).status is JobStatus.COMPLETED


async def test_ongoing_goal_met_completes(world: World) -> None:
    world.agent.goal_met_on_call = 3
    job = await world.create(title="Watch", job_type="ONGOING", schedule={"every": "1h"}, end_condition="It changed")
    for hour in range(5):
        await world.at(START + hour * HOUR)
    done = await world.job(job.id)
    assert world.agent.count(job.id) == 3
    assert done.status is JobStatus.COMPLETED
    assert done.status_reason == "its end condition was met"


async def test_ongoing_that_runs_out_of_checks_fails_with_a_reason(world: World) -> None:
    job = await world.create(
        title="Watch", job_type="ONGOING", schedule={"every": "1h", "max_runs": 2}, end_condition="It changed"
    )
    for hour in range(4):
        await world.at(START + hour * HOUR)
    failed = await world.job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.status_reason is not None
    assert "before its end condition was met" in failed.status_reason


# --- failures ----------------------------------------------------------------------------------


async def test_failed_attempts_back_off_then_fail_a_one_off(world: World) -> None:
    world.agent.failures = [AgentError("429 rate limited")] * 3
    job = await world.create(title="Flaky", job_type="ONE_OFF")
    await world.at(START)
    first = await world.job(job.id)
    assert first.status is JobStatus.ACTIVE
    assert first.next_run_at == START + timedelta(seconds=30)
    assert first.status_reason is not None
    assert "attempt 1 of 3 failed" in first.status_reason
    await world.at(START + timedelta(seconds=30))
    assert (await world.job(job.id)).next_run_at == START + timedelta(seconds=90)
    await world.at(START + timedelta(seconds=90))
    failed = await world.job(job.id)
    runs = await world.runs(job.id)
    assert [r.attempt for r in runs] == [1, 2, 3]
    assert {r.scheduled_for for r in runs} == {START}
    assert failed.status is JobStatus.FAILED
    assert failed.status_reason is not None
    assert "429 rate limited" in failed.status_reason


async def test_retry_that_succeeds_keeps_the_schedule(world: World) -> None:
    world.agent.failures = [AgentError("timeout"), None]
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    await world.at(START)
    await world.at(START + timedelta(seconds=30))
    ok = await world.job(job.id)
    assert ok.status is JobStatus.ACTIVE
    assert ok.next_run_at == START + HOUR
    assert ok.consecutive_failures == 0
    assert ok.run_count == 1


async def test_a_run_over_its_time_limit_fails_and_is_retried(world: World) -> None:
    world.agent.gate = anyio.Event()  # never set: the agent hangs
    job = await world.create(title="Hangs", job_type="ONE_OFF", schedule={"timeout": "1s"})
    [run] = await world.at(START)
    assert run.outcome is RunOutcome.FAILED
    assert run.error == "timed out after 1s"
    retrying = await world.job(job.id)
    assert retrying.status is JobStatus.ACTIVE
    assert retrying.next_run_at == START + timedelta(seconds=30)


async def test_permanent_error_fails_fast(world: World) -> None:
    world.agent.failures = [AgentError("401 invalid API key", permanent=True)]
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    await world.at(START)
    failed = await world.job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.status_reason is not None
    assert "permanent error" in failed.status_reason
    assert world.agent.count(job.id) == 1


async def test_a_one_off_stopped_without_retry_says_so(world: World) -> None:
    world.agent.failures = [AgentError("budget exceeded, run stopped: tool_calls_limit", retry=False)]
    job = await world.create(title="Crawl", job_type="ONE_OFF")
    await world.at(START)
    failed = await world.job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.status_reason is not None
    assert failed.status_reason.startswith("failed at attempt 1, not retried; last error: budget exceeded")
    assert world.agent.count(job.id) == 1


async def test_a_provider_retry_after_sets_the_backoff_within_the_cap(world: World) -> None:
    world.agent.failures = [AgentError("HTTP 429", retry_after=90), AgentError("HTTP 429", retry_after=86_400)]
    job = await world.create(title="Report", job_type="ONE_OFF")
    await world.at(START)
    assert (await world.job(job.id)).next_run_at == START + timedelta(seconds=90)
    await world.at(START + timedelta(seconds=90))
    # A day asked for is capped at the longest backoff (1 h by default): the job is not parked for a day.
    assert (await world.job(job.id)).next_run_at == START + timedelta(seconds=90) + HOUR


async def test_consecutive_failed_occurrences_fail_the_job(world: World) -> None:
    world.scheduler.policy = Policy(max_attempts=1, max_consecutive_failures=3)
    world.agent.failures = [AgentError("boom")] * 10
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    for hour in range(3):
        await world.at(START + hour * HOUR)
        status = (await world.job(job.id)).status
        assert status is (JobStatus.FAILED if hour == 2 else JobStatus.ACTIVE)


async def test_no_usable_backend_waits_without_failing(world: World) -> None:
    world.scheduler.backends = [NotConfigured("model", "no --model set")]
    job = await world.create(title="Report", job_type="ONE_OFF")
    assert await world.at(START) == []
    waiting = await world.job(job.id)
    assert waiting.status is JobStatus.ACTIVE
    assert waiting.next_run_at == START + timedelta(seconds=30)
    assert waiting.status_reason is not None
    assert "no --model set" in waiting.status_reason
    assert await world.at(START + timedelta(hours=2)) == []
    assert (await world.job(job.id)).next_run_at == START + timedelta(hours=2, minutes=5)  # capped at 5 min
    world.scheduler.backends = [world.agent]
    [run] = await world.at(START + timedelta(hours=2, minutes=5))
    assert run.scheduled_for == START  # lateness counts from when it first fell due
    assert (await world.job(job.id)).status is JobStatus.COMPLETED


# --- dependencies ------------------------------------------------------------------------------


async def test_chain_runs_in_order_and_passes_outputs(world: World) -> None:
    a = await world.create(title="Send the proposal", job_type="ONE_OFF")
    b = await world.create(title="Follow up", job_type="ONE_OFF", depends_on=[a.id])
    c = await world.create(title="Escalate", job_type="ONE_OFF", depends_on=[b.id])
    await world.at(START)
    statuses = [(await world.job(j.id)).status for j in (a, b, c)]
    assert statuses == [JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.COMPLETED]
    assert [job_id for job_id, _ in world.agent.calls] == [a.id, b.id, c.id]
    b_context = dict(world.agent.calls)[b.id]
    assert "output of Send the proposal #1" in b_context
    assert "output of Follow up #2" in dict(world.agent.calls)[c.id]


async def test_dependent_waits_for_its_own_start_time(world: World) -> None:
    a = await world.create(title="Send", job_type="ONE_OFF")
    b = await world.create(title="Follow up", job_type="ONE_OFF", schedule={"delay": "3d"}, depends_on=[a.id])
    await world.at(START)
    freed = await world.job(b.id)
    assert freed.status is JobStatus.ACTIVE
    assert freed.next_run_at == START + timedelta(days=3)


async def test_a_dependents_delay_counts_from_when_its_dependencies_completed(world: World) -> None:
    a = await world.create(title="Send", job_type="ONE_OFF", schedule={"delay": "5s"})
    b = await world.create(title="Follow up", job_type="ONE_OFF", schedule={"delay": "10s"}, depends_on=[a.id])
    waiting = await world.job(b.id)
    assert waiting.schedule.describe() == "once, 10 seconds after its dependencies complete"
    await world.at(START + timedelta(seconds=5))  # A runs and completes
    freed = await world.job(b.id)
    assert freed.next_run_at == START + timedelta(seconds=15)  # not 10 s after B was created
    assert await world.at(START + timedelta(seconds=14)) == []
    [run] = await world.at(START + timedelta(seconds=15))
    assert run.job_id == b.id


async def test_failed_dependency_blocks_the_chain(world: World) -> None:
    world.agent.failures = [AgentError("403 forbidden", permanent=True)]
    a = await world.create(title="Send", job_type="ONE_OFF")
    b = await world.create(title="Follow up", job_type="ONE_OFF", depends_on=[a.id])
    c = await world.create(title="Escalate", job_type="ONE_OFF", depends_on=[b.id])
    await world.at(START)
    blocked_b, blocked_c = await world.job(b.id), await world.job(c.id)
    assert (await world.job(a.id)).status is JobStatus.FAILED
    assert blocked_b.status is JobStatus.BLOCKED
    assert blocked_b.status_reason is not None
    assert f"{a.id} ('Send') is FAILED" in blocked_b.status_reason
    assert blocked_c.status is JobStatus.BLOCKED
    assert blocked_c.status_reason is not None
    assert f"{b.id} ('Follow up') is BLOCKED" in blocked_c.status_reason
    assert world.agent.count(b.id) == world.agent.count(c.id) == 0

    # Retrying A from the chat puts the chain back to waiting, and then it runs.
    await world.service.update(USER, JobUpdateRequest(job_id=a.id, status="ACTIVE"))
    assert [(await world.job(j.id)).status for j in (b, c)] == [JobStatus.PENDING, JobStatus.PENDING]
    await world.at(START + timedelta(minutes=1))
    assert [(await world.job(j.id)).status for j in (a, b, c)] == [JobStatus.COMPLETED] * 3


async def test_dependency_finished_by_another_process_is_noticed(world: World) -> None:
    a = await world.create(title="Watch", job_type="ONGOING", schedule={"every": "1h"}, end_condition="done")
    b = await world.create(title="Report", job_type="ONE_OFF", depends_on=[a.id])
    # Another process completes A and stops there (it died before freeing B).
    await world.store.update_job(USER, a.id, JobChanges(status=JobStatus.COMPLETED), expected_version=a.version)
    await world.at(START + timedelta(minutes=1))
    assert (await world.job(b.id)).status is JobStatus.COMPLETED


# --- schedule edits --------------------------------------------------------------------------


async def test_a_new_period_counts_from_the_last_run_not_from_the_edit(world: World) -> None:
    job = await world.create(title="Build", job_type="RECURRING", schedule={"every": "6h"})
    await world.at(START)
    await world.at(START + 6 * HOUR)
    world.clock.set(START + 6 * HOUR + timedelta(minutes=1))
    edited = await world.service.update(USER, JobUpdateRequest(job_id=job.id, schedule={"every": "12h"}))
    assert edited.next_run_at == START + 18 * HOUR  # the last run + 12 h
    assert await world.at(START + 6 * HOUR + timedelta(minutes=1)) == []  # not again at once
    # Another field changed leaves the grid alone too.
    edited = await world.service.update(USER, JobUpdateRequest(job_id=job.id, schedule={"timeout": "5m"}))
    assert edited.next_run_at == START + 18 * HOUR


# --- leases, cancel, pause, run now ------------------------------------------------------------


async def test_expired_lease_is_taken_back_and_the_job_runs_again(world: World) -> None:
    job = await world.create(title="Report", job_type="ONE_OFF")
    # A process claims the job and dies without a word.
    dead = Scheduler(world.store, world.clock, [world.agent], Policy(), owner="dead")
    [(_, orphan)] = await dead._claim(5)
    assert (await world.job(job.id)).status is JobStatus.IN_PROGRESS
    assert await world.at(START + timedelta(seconds=10)) == []  # lease still valid: nobody touches it
    runs = await world.at(START + timedelta(seconds=31))
    assert [r.outcome for r in await world.runs(job.id)] == [RunOutcome.INTERRUPTED, RunOutcome.SUCCEEDED]
    assert runs[0].attempt == 2
    assert (await world.job(job.id)).status is JobStatus.COMPLETED
    assert orphan.id == (await world.runs(job.id))[0].id


async def test_cancel_stops_a_running_run(world: World) -> None:
    world.agent.gate = anyio.Event()
    job = await world.create(title="Long", job_type="ONE_OFF")
    async with anyio.create_task_group() as group:
        group.start_soon(world.scheduler.run_once)
        await wait_for(lambda: world.agent.count(job.id) == 1)
        world.service.stop_run = world.scheduler.cancel_job_run
        await world.service.cancel(USER, job.id, "changed my mind")
    [run] = await world.runs(job.id)
    assert run.outcome is RunOutcome.INTERRUPTED
    assert (await world.job(job.id)).status is JobStatus.CANCELLED


async def test_pause_during_a_run_takes_effect_after_it(world: World) -> None:
    world.agent.gate = anyio.Event()
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    async with anyio.create_task_group() as group:
        group.start_soon(world.scheduler.run_once)
        await wait_for(lambda: world.agent.count(job.id) == 1)
        asked = await world.service.pause(USER, job.id, None)
        assert asked.status is JobStatus.IN_PROGRESS
        world.agent.gate.set()
    paused = await world.job(job.id)
    assert paused.status is JobStatus.PAUSED
    assert paused.next_run_at is None
    assert [r.outcome for r in await world.runs(job.id)] == [RunOutcome.SUCCEEDED]


async def test_run_now_leaves_the_schedule_alone(world: World) -> None:
    job = await world.create(title="Invoices", job_type="SCHEDULED", schedule={"cron": "0 9 * * 1"})
    await world.scheduler.run_here(USER, job.id)
    after = await world.job(job.id)
    [run] = await world.runs(job.id)
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.trigger == "manual"
    assert after.status is JobStatus.ACTIVE
    assert after.next_run_at == job.next_run_at
    assert after.run_count == 0


async def test_run_now_on_a_paused_job_keeps_it_paused(world: World) -> None:
    job = await world.create(title="Invoices", job_type="SCHEDULED", schedule={"cron": "0 9 * * 1"})
    await world.service.pause(USER, job.id, None)
    await world.scheduler.run_here(USER, job.id)
    assert (await world.job(job.id)).status is JobStatus.PAUSED
    assert world.agent.count(job.id) == 1
