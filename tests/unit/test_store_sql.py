"""The stores' SQL says what lifecycle's status sets say: the sets written into it are those sets."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

from mcp_server_jobs.lifecycle import IN_THE_WAY, LIVE, STUCK, WAITING
from mcp_server_jobs.models import JobStatus
from mcp_server_jobs.store import queries as sqlite_queries
from mcp_server_jobs.store.migrations import migrations
from mcp_server_jobs.store.postgres import queries as postgres_queries

DIALECTS = {"sqlite": sqlite_queries, "postgresql": postgres_queries}
PACKAGES = {"sqlite": "mcp_server_jobs.store", "postgresql": "mcp_server_jobs.store.postgres"}


@pytest.fixture(params=list(DIALECTS))
def q(request: pytest.FixtureRequest) -> ModuleType:
    return DIALECTS[request.param]


def named_sql(q: ModuleType) -> dict[str, str]:
    return {name: value for name, value in vars(q).items() if name.isupper() and isinstance(value, str)}


def status_lists(sql: str) -> list[set[str]]:
    """The sets of every `status IN ('A', 'B')` written in `sql` (not those read from a parameter)."""
    return [set(re.findall(r"'([^']*)'", inside)) for inside in re.findall(r"status IN \(([^()]*)\)", sql)]


def compared_statuses(sql: str) -> set[str]:
    """The statuses a job's own status is compared with one by one (`jobs.status = 'A'`)."""
    return set(re.findall(r"\bjobs\.status = '([^']*)'", sql))


def test_every_status_list_in_the_sql_is_one_of_lifecycles_sets(q: ModuleType) -> None:
    found = [(name, statuses) for name, sql in named_sql(q).items() for statuses in status_lists(sql)]
    assert found, "no status list was found: the pattern no longer matches the SQL"
    for name, statuses in found:
        assert statuses in (set(LIVE), set(IN_THE_WAY), set(WAITING), set(STUCK)), name


def test_live_jobs_are_counted_and_deduplicated_with_the_live_set(q: ModuleType) -> None:
    assert status_lists(q.COUNT_LIVE_JOBS) == [set(LIVE)]
    assert status_lists(q.SELECT_LIVE_BY_DEDUP_KEY) == [set(LIVE)]


def test_settling_looks_at_waiting_jobs_and_at_dependencies_in_the_way(q: ModuleType) -> None:
    lists = status_lists(q.SELECT_WAITING_TO_SETTLE)
    assert lists == [set(WAITING), set(IN_THE_WAY), set(IN_THE_WAY)]
    assert compared_statuses(q.SELECT_WAITING_TO_SETTLE) == set(WAITING)


def test_every_status_written_in_the_sql_is_a_status(q: ModuleType) -> None:
    statuses = {status.value for status in JobStatus}
    for name, sql in named_sql(q).items():
        written = re.findall(r"status (?:=|!=) '([^']*)'", sql) + [s for found in status_lists(sql) for s in found]
        assert set(written) <= statuses, name


@pytest.mark.parametrize("dialect", list(PACKAGES))
def test_the_schemas_status_lists_are_every_status_and_the_live_set(dialect: str) -> None:
    # The migrations are written once and never rebuilt from Python: this keeps them in step.
    schema = "\n".join(script for _, script in migrations(PACKAGES[dialect]))
    assert status_lists(schema) == [{status.value for status in JobStatus}, set(LIVE)]
