"""Shared fixtures: a fake clock, a database file, MCP clients connected to real servers."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.config import Settings
from mcp_server_jobs.models import Job, JobStatus, JobType, NewJob, Notify, Run, new_id
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.scheduler.engine import Scheduler
from mcp_server_jobs.server.app import build_server
from mcp_server_jobs.server.requests import JobCreateRequest
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.store import JobStore
from mcp_server_jobs.store.factory import open_store
from tests import pg
from tests.fakes.openai_server import FakeOpenAI, fake_openai

# A Sunday; Europe/Paris is UTC+1 then.
# A command agent that succeeds at once (and notes the job in $AGENT_LOG when set).
QUICK_AGENT = f"sh {Path(__file__).parent / 'fakes' / 'quick_agent.sh'}"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


_REPORTS = pytest.StashKey[list[str]]()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Add lines to the summary printed at the end of the run (measurements a test makes)."""
    return reporter(request.config)


def reporter(config: pytest.Config) -> Callable[[str], None]:
    """What `report` gives, for fixtures of a wider scope."""
    return config.stash.setdefault(_REPORTS, []).append


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker hands its lines to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["reports"] = session.config.stash.get(_REPORTS, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller's side of the above (a pytest-xdist hook, called as each worker ends)."""
    reports = getattr(node, "workeroutput", {}).get("reports", [])
    node.config.stash.setdefault(_REPORTS, []).extend(reports)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_REPORTS, []):
        terminalreporter.write_line(line)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer]:
    """One PostgreSQL server for the session (the distribution's package); skips where it is not installed."""
    bin_dir = pg.binaries()
    if bin_dir is None:
        pytest.skip(pg.SKIP_REASON)
    server, process = pg.start(bin_dir)
    try:
        yield server
    finally:
        pg.stop(server, process)


@pytest.fixture
def pg_url(postgres_server: pg.PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the session's PostgreSQL server, dropped after the test."""
    name = postgres_server.database()
    yield postgres_server.url(name)
    postgres_server.drop(name)


@pytest.fixture(scope="session")
def pg_store_database(postgres_server: pg.PostgresServer) -> str:
    """The URL of a database of the session's server with the store's schema, made once."""
    url = postgres_server.url(postgres_server.database())

    async def migrate() -> None:
        async with open_store(url):
            pass

    anyio.run(migrate)
    return url


@pytest.fixture
def pg_store_url(pg_store_database: str) -> str:
    """The session's store database, emptied for this test (a fresh one costs a hundred times as much)."""
    pg.empty(pg_store_database)
    return pg_store_database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A database for a store contract test, once of each kind: a SQLite file's path or a PostgreSQL URL
    (`-k sqlite` or `-k postgresql` picks one)."""
    if request.param == "sqlite":
        return tmp_path / "jobs.db"
    url: str = request.getfixturevalue("pg_store_url")
    return url


@pytest.fixture
async def provider(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAI]:
    """A fake OpenAI-compatible provider on 127.0.0.1 that the openai SDK is pointed at."""
    async with fake_openai() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        yield fake


ConnectFn = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(db_path: Path, clock: FakeClock) -> ConnectFn:
    """Open an in-process MCP client on a server over `db_path`, as `user` (default 'local').

    The server runs no jobs: these tests drive the fake clock, which a live scheduler would not follow.
    """

    @asynccontextmanager
    async def _connect(user: str = "local", timezone: str = "Europe/Paris", **overrides: Any) -> AsyncIterator[Client]:
        settings = Settings(db=db_path, user=user, timezone=timezone, run_jobs=False, **overrides)
        async with Client(build_server(settings, clock=clock)) as client:
            yield client

    return _connect


def dump(db: Path | str) -> list[str]:
    """Every row of the database as text, to compare before and after a call (but the serving
    processes' heartbeats, which change on their own)."""
    if isinstance(db, str):
        return pg.dump(db, leave_out={"workers"})
    with sqlite3.connect(db) as conn:
        return [line for line in conn.iterdump() if not line.startswith('INSERT INTO "workers"')]


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured answer of a successful call (fails the test on a tool error)."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """The message of a tool error (fails the test if the call succeeded)."""
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def wait_for(condition: Callable[[], bool], seconds: float = 10.0, every: float = 0.005) -> None:
    """Wait until `condition()` holds, checking as time passes; fail the test after `seconds`."""
    with anyio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110 -- the condition lives outside this process or task
            await anyio.sleep(every)


def process_alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (killed, waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        # The state follows the parenthesised command name, which may itself hold spaces.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except ProcessLookupError:
        return False  # it went between the two looks
    except (FileNotFoundError, IndexError):
        return not sys.platform.startswith("linux")


def new_job(
    at: datetime, *, title: str = "Job", user_id: str = "local", status: JobStatus = JobStatus.ACTIVE
) -> NewJob:
    """A ONE_OFF job due at `at`, ready for `store.create_job` (bypassing the tools)."""
    return NewJob(
        id=new_id("job"),
        user_id=user_id,
        title=title,
        description=f"Do {title}.",
        job_type=JobType.ONE_OFF,
        schedule=Schedule(run_at=at, timezone="UTC"),
        end_condition=None,
        depends_on=[],
        related_entities=[],
        notify=Notify.AUTO,
        metadata={},
        dedup_key=None,
        status=status,
        status_reason=None,
        next_run_at=at,
        created_at=at,
    )


@dataclass
class World:
    """A store, the job service and a scheduler on one database, driven by a fake clock."""

    store: JobStore
    service: JobService
    scheduler: Scheduler
    clock: FakeClock
    agent: Any = None

    async def create(self, **fields: Any) -> Job:
        fields.setdefault("description", f"Do {fields['title']}.")
        created = await self.service.create("local", JobCreateRequest.model_validate(fields))
        return created.job

    async def job(self, job_id: str) -> Job:
        return await self.store.get_job("local", job_id)

    async def runs(self, job_id: str) -> list[Run]:
        """The job's runs, oldest first."""
        return list(reversed(await self.store.list_runs(job_id, 1000)))

    async def at(self, when: datetime) -> list[Run]:
        """Move the clock to `when` and run what is due then."""
        self.clock.set(when)
        return await self.scheduler.run_once()


@asynccontextmanager
async def open_world(
    db: Path | str, clock: FakeClock, backends: list[Any], policy: Policy | None = None
) -> AsyncIterator[World]:
    """A world on a SQLite file (a path) or a PostgreSQL database (a URL)."""
    async with open_store(db, clock=clock) as store:
        scheduler = Scheduler(store, clock, backends, policy or Policy(), owner="test")
        service = JobService(store, clock, default_timezone="Europe/Paris", wake=scheduler.wake)
        yield World(store, service, scheduler, clock)


async def poll_job(client: Client, job_id: str, until: Any, seconds: float = 20.0) -> dict[str, Any]:
    """Read the job through the tool until `until(job)` holds; fail after `seconds`."""
    with anyio.fail_after(seconds):
        while True:
            job = ok(await client.call_tool("job_retrieval_by_id", {"job_id": job_id, "runs": 10}))
            if until(job):
                return job
            await anyio.sleep(0.05)


@pytest.fixture
def agent_servers(tmp_path: Path) -> Path:
    """An mcpServers file with the page-fetching test server; its call count lives in tmp_path."""
    config = tmp_path / "agent-servers.json"
    env = {"PAGES_COUNTER": str(tmp_path / "pages-calls")}
    pages = str(Path(__file__).parent / "fakes" / "pages_server.py")
    config.write_text(json.dumps({"mcpServers": {"pages": {"command": sys.executable, "args": [pages], "env": env}}}))
    return config
