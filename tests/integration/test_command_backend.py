"""The `command` backend: a CLI agent reads the context on stdin; its stdout ends with the verdict."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import JobStatus, Run, RunOutcome
from mcp_server_jobs.scheduler.backends import CommandBackend
from tests.conftest import START, open_world

pytestmark = pytest.mark.anyio

VERDICT = '{"outcome": "success", "summary": "found 3 leads", "worth_reporting": true, "report_title": "Leads"}'
AGENTS = {
    # Does the work and ends with its verdict.
    "good": (
        f"import sys; prompt = sys.stdin.read()\nprint('Researched: ' + prompt.splitlines()[0]); print('{VERDICT}')"
    ),
    # Forgets the verdict, and gives it alone when asked again.
    "forgetful": (
        "import sys; prompt = sys.stdin.read()\n"
        f"print('{VERDICT}' if 'did not end with a valid verdict' in prompt else 'Researched, no verdict.')"
    ),
    "hopeless": "import sys; sys.stdin.read(); print('I never give verdicts {not json}')",
    "crashes": "import sys; sys.stdin.read(); sys.stderr.write('segfault in module x'); sys.exit(3)",
    "gives_up": (
        'import sys; sys.stdin.read(); print(\'{"outcome": "failure", "summary": "the site refused the request"}\')'
    ),
}


@pytest.fixture
def agent(tmp_path: Path) -> Callable[[str], CommandBackend]:
    def make(name: str) -> CommandBackend:
        script = tmp_path / f"{name}.py"
        script.write_text(AGENTS[name])
        return CommandBackend(f"{sys.executable} {script}")

    return make


async def run_one(db_path: Path, clock: FakeClock, backend: CommandBackend) -> tuple[JobStatus, list[Run]]:
    async with open_world(db_path, clock, [backend]) as world:
        job = await world.create(title="Find leads", job_type="ONE_OFF")
        await world.at(START)
        return (await world.job(job.id)).status, await world.runs(job.id)


async def test_output_and_verdict(db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]) -> None:
    status, [run] = await run_one(db_path, clock, agent("good"))
    assert status is JobStatus.COMPLETED
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.output is not None
    assert run.output.startswith("Researched: # Job: Find leads")
    assert run.summary == "found 3 leads"
    assert run.backend == "command"


async def test_a_missing_verdict_is_asked_for_once(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    status, [run] = await run_one(db_path, clock, agent("forgetful"))
    assert status is JobStatus.COMPLETED
    assert run.output == "Researched, no verdict.\n"  # the work's output, not the verdict-only retry
    assert run.verdict is not None
    assert run.verdict["summary"] == "found 3 leads"


async def test_no_verdict_after_one_retry_fails_the_run(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    status, [run] = await run_one(db_path, clock, agent("hopeless"))
    assert status is JobStatus.ACTIVE  # the occurrence will be tried again
    assert run.outcome is RunOutcome.FAILED
    assert run.error is not None
    assert run.error.startswith("no valid verdict after one retry")


async def test_a_non_zero_exit_is_a_failure_with_its_stderr(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    _, [run] = await run_one(db_path, clock, agent("crashes"))
    assert run.outcome is RunOutcome.FAILED
    assert run.error == "command exited with status 3: segfault in module x"


async def test_the_agent_can_report_failure(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    _, [run] = await run_one(db_path, clock, agent("gives_up"))
    assert run.outcome is RunOutcome.FAILED
    assert run.error == "the agent reported failure: the site refused the request"


def test_unavailable_reasons() -> None:
    assert CommandBackend(None).unavailable() == "no command set (--command or MCP_JOBS_COMMAND)"
    assert CommandBackend("no-such-agent-cli -p").unavailable() == "command 'no-such-agent-cli' not found on PATH"
