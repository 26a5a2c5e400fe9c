"""One occurrence, one run; nothing after the end (issue 12, item 9), on a real database with a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mcp_server_jobs.models import JobChanges, JobStatus, RunOutcome
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.scheduler.decide import plan_claim
from mcp_server_jobs.scheduler.engine import Scheduler
from tests.conftest import START, World
from tests.integration.test_scheduler_rules import ScriptedAgent, world

pytestmark = pytest.mark.anyio
__all__ = ["world"]  # the fixture, shared with the scheduling rules
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


async def die_mid_run(world: World) -> None:
    """A process claims what is due now and dies without a word (kill -9)."""
    dead = Scheduler(world.store, world.clock, [ScriptedAgent()], Policy(), owner="dead")
    assert await dead._claim(5)


async def test_a_retry_overtaken_by_newer_occurrences_respects_the_grace_window(world: World) -> None:
    job = await world.create(title="Tick", job_type="SCHEDULED", schedule={"cron": "*/4 * * * * *"})
    world.clock.set(START)
    await die_mid_run(world)
    # Back 10.8 s after the run's lease ran out: the newest occurrence, 10:00:40, is 0.8 s old (grace 2 s).
    await world.at(START + 30 * SECOND)  # the sweep takes the dead run back
    runs = await world.at(START + 40.8 * SECOND)
    assert [(r.outcome, r.scheduled_for) for r in runs] == [(RunOutcome.SUCCEEDED, START + 40 * SECOND)]
    # Another death, and back 3 s after the newest occurrence: past the 2 s grace, so it is missed, not run late.
    world.clock.set(START + 44 * SECOND)
    await world.scheduler.run_once()
    world.clock.set(START + 48 * SECOND)
    await die_mid_run(world)
    await world.at(START + 79 * SECOND)
    history = [(r.outcome, r.scheduled_for, r.attempt) for r in await world.runs(job.id)]
    assert history[-2:] == [(RunOutcome.INTERRUPTED, START + 48 * SECOND, 1),
                            (RunOutcome.MISSED, START + 76 * SECOND, 0)]  # fmt: skip
    assert (await world.job(job.id)).next_run_at == START + 80 * SECOND


async def test_the_database_refuses_a_second_run_of_one_occurrence(world: World) -> None:
    job = await world.create(title="Tick", job_type="SCHEDULED", schedule={"cron": "*/4 * * * * *"})
    [first] = await world.at(START)
    # Whatever bug in the rules would run 10:00:00 again (here: the job put back onto it by hand)...
    ran = await world.job(job.id)
    await world.store.update_job("local", job.id, JobChanges(next_run_at=START), expected_version=ran.version)
    again = await world.store.claim_due(START + SECOND, 5, lambda j: plan_claim(j, START + SECOND, "x", Policy()))
    after = await world.job(job.id)
    assert again == []
    assert [r.id for r in await world.runs(job.id)] == [first.id]
    assert after.status is JobStatus.ACTIVE
    assert after.next_run_at == START + 4 * SECOND
    assert after.status_reason == "occurrence 2026-11-22T10:00:00+00:00 already has a run; skipped to the next"


async def test_no_check_starts_after_end_at(world: World) -> None:
    job = await world.create(title="Watch", job_type="ONGOING", end_condition="The price fell",
                             schedule={"every": "1h", "end_at": "2026-11-22T15:30:00"})  # fmt: skip
    await world.at(START)
    await world.at(START + 10 * HOUR)  # the server was down past end_at (15:30 Paris)
    after = await world.job(job.id)
    runs = await world.runs(job.id)
    assert world.agent.count(job.id) == 1
    assert after.status is JobStatus.FAILED
    assert [r.outcome for r in runs] == [RunOutcome.SUCCEEDED, RunOutcome.MISSED]
    assert runs[1].scheduled_for == START + 4 * HOUR  # 15:00 Paris, the last occurrence before end_at


async def test_an_ongoing_job_killed_mid_check_checks_once_after_the_restart(world: World) -> None:
    job = await world.create(title="Watch", job_type="ONGOING", end_condition="The price fell",
                             schedule={"every": "1h"})  # fmt: skip
    world.clock.set(START)
    await die_mid_run(world)
    await world.at(START + 5 * HOUR)  # down for five hours
    await world.at(START + 5 * HOUR + SECOND)
    runs = await world.runs(job.id)
    assert [r.outcome for r in runs] == [RunOutcome.INTERRUPTED, RunOutcome.SUCCEEDED]
    assert world.agent.count(job.id) == 1
    assert (await world.job(job.id)).next_run_at == START + 6 * HOUR


async def test_coalesced_occurrences_leave_a_note_on_the_run(world: World) -> None:
    job = await world.create(title="Poll", job_type="RECURRING", schedule={"every": "1h"})
    await world.at(START)
    await world.at(START + 3 * HOUR + timedelta(minutes=10))
    runs = await world.runs(job.id)
    assert runs[0].note is None
    assert runs[1].note == "2 earlier occurrence(s) since 2026-11-22T11:00:00+00:00 coalesced into this run"
    assert (await world.job(job.id)).status_reason is None
