"""The `command` backend: a CLI agent reads the context on stdin; its stdout ends with the verdict."""

from __future__ import annotations

import hashlib
import random
import string
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import JobStatus, Run, RunOutcome
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.scheduler.backends.command import SUPERVISOR, CommandBackend
from mcp_server_jobs.scheduler.backends.supervisor import CANNOT_START
from tests.conftest import START, open_world, process_alive, wait_for

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
    "tells_its_pid": f"import os, sys; sys.stdin.read(); print(f'pid {{os.getpid()}}'); print('{VERDICT}')",
    "digests": (
        "import hashlib, sys; data = sys.stdin.buffer.read()\n"
        f"print(len(data), hashlib.sha256(data).hexdigest()); print('{VERDICT}')"
    ),
    # Starts a helper that would run on after the agent, then exits.
    "leaves_a_helper": (
        "import subprocess, sys; sys.stdin.read()\n"
        "helper = subprocess.Popen(['sleep', '60'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        f"print(f'helper {{helper.pid}}'); print('{VERDICT}')"
    ),
    # Starts a helper, says both pids (in a file beside the script), and works for a long time.
    "works_long": (
        "import os, pathlib, subprocess, sys, time; sys.stdin.read()\n"
        "helper = subprocess.Popen(['sleep', '60'])\n"
        "pids, tmp = (pathlib.Path(sys.argv[0]).with_suffix(s) for s in ('.pids', '.tmp'))\n"
        "tmp.write_text(f'{os.getpid()} {helper.pid}'); tmp.rename(pids); time.sleep(60)"
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


async def test_the_agent_pid_is_recorded_on_the_run(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    _, [run] = await run_one(db_path, clock, agent("tells_its_pid"))
    assert run.output is not None
    assert run.agent_pid is not None
    assert run.output.startswith(f"pid {run.agent_pid}\n")


async def test_a_large_context_reaches_the_agent_whole(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    context = "".join(random.Random(7).choices(string.printable + "éß€", k=3_000_000))
    data = context.encode()
    async with open_world(db_path, clock, []) as world:
        job = await world.create(title="Read it all", job_type="ONE_OFF")
        result = await agent("digests").run(job, context)
    assert result.output.splitlines()[0] == f"{len(data)} {hashlib.sha256(data).hexdigest()}"


async def test_nothing_the_agent_started_outlives_its_run(
    db_path: Path, clock: FakeClock, agent: Callable[[str], CommandBackend]
) -> None:
    _, [run] = await run_one(db_path, clock, agent("leaves_a_helper"))
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.output is not None
    helper = int(run.output.split()[1])
    await wait_for(lambda: not process_alive(helper))


async def test_a_timeout_stops_the_agent_and_what_it_started(
    db_path: Path, clock: FakeClock, tmp_path: Path, agent: Callable[[str], CommandBackend]
) -> None:
    async with open_world(db_path, clock, [agent("works_long")], Policy(run_timeout=1)) as world:
        job = await world.create(title="Work long", job_type="ONE_OFF")
        await world.at(START)
        [run] = await world.runs(job.id)
    assert run.error == "timed out after 1s"
    pids = [int(pid) for pid in (tmp_path / "works_long.pids").read_text().split()]
    assert run.agent_pid == pids[0]
    await wait_for(lambda: not any(process_alive(pid) for pid in pids))


def test_no_agent_starts_before_the_whole_context_arrived(tmp_path: Path) -> None:
    started = tmp_path / "started"
    touch = [sys.executable, "-c", f"import pathlib; pathlib.Path({str(started)!r}).touch()"]
    # The server died after sending 10 of the 100 bytes it announced.
    supervisor = subprocess.run([*SUPERVISOR, *touch], input=b"100\n0123456789", capture_output=True, timeout=10)
    assert supervisor.returncode == CANNOT_START
    assert not started.exists()


WATCHER = """\
import pathlib, sys
prompt = sys.stdin.read()
log = pathlib.Path(sys.argv[0]).with_suffix(".prompts")
log.write_text((log.read_text() if log.exists() else "") + prompt + "\\n=====\\n")
if 'goal_met is required' in prompt:
    print('{"outcome": "success", "summary": "the price is $19", "goal_met": true}')
else:
    print('The price is $19 now.\\n{"outcome": "success", "summary": "the price is $19"}')
"""


async def test_an_ongoing_verdict_without_goal_met_is_asked_for_it_by_name(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    # A small model leaves out the one judgement that ends the job; the retry names it, then it completes.
    script = tmp_path / "watcher.py"
    script.write_text(WATCHER)
    async with open_world(db_path, clock, [CommandBackend(f"{sys.executable} {script}")]) as world:
        job = await world.create(title="Watch the price", job_type="ONGOING", schedule={"every": "1h"},
                                 end_condition="The price is below $20", notify="never")  # fmt: skip
        [run] = await world.at(START)
        status = (await world.job(job.id)).status
    first, retry = script.with_suffix(".prompts").read_text().split("\n=====\n")[:2]
    assert '"goal_met": true or false (required: does the end condition hold now?)' in first
    assert "end your answer with this JSON object" in first
    assert "worth_reporting" not in first  # notify=never: whether to tell the user is not asked
    assert "goal_met is required" in retry
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.output is not None
    assert run.output.startswith("The price is $19 now.")  # the work, not the verdict-only retry
    assert run.verdict is not None
    assert run.verdict["goal_met"] is True
    assert status is JobStatus.COMPLETED
