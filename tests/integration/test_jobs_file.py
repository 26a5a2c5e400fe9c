"""Predefined jobs (`serve --jobs-file`): created, changed and removed across restarts of the real server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.errors import JobsError
from mcp_server_jobs.server.jobs_file import sync_jobs_file
from mcp_server_jobs.server.service import JobService
from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import dump
from tests.integration.test_processes import COMMAND

INVOICES = """\
[jobs.invoices]
title = "Pending invoices nudge"
description = "List the invoices unpaid for over 30 days and remind each client politely."
job_type = "SCHEDULED"
schedule = { cron = "0 9 * * 1", timezone = "Europe/Paris" }
notify = "always"
"""

BUILD = """\
[jobs.build]
title = "Build health"
description = "Check the main branch build and say what broke."
job_type = "RECURRING"
metadata = { team = "platform" }

[jobs.build.schedule]
every = "6h"
max_runs = 20
"""

WATCH = """\
[jobs.watch]
title = "Pricing page watch"
description = "Look at https://example.com/pricing and note the Pro plan's price."
job_type = "ONGOING"
end_condition = "the Pro plan costs less than $29 a month"
schedule = { every = "1h" }
"""


def serve(db: Path, jobs_file: Path) -> subprocess.CompletedProcess[str]:
    """Start the real stdio server with the jobs file; with stdin closed it stops right after starting."""
    env = {**os.environ, "MCP_JOBS_TIMEZONE": "UTC"}
    command = [COMMAND, "serve", "--db", str(db), "--jobs-file", str(jobs_file), "--embeddings", "off"]
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=60)


def jobs(db: Path) -> dict[str, dict[str, Any]]:
    """The jobs the file made, by their name in it, plus every job by id."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM jobs")}
        names = {r["name"]: rows[r["job_id"]] for r in conn.execute("SELECT name, job_id FROM defined_jobs")}
    return {**names, **rows}


def doctor(db: Path, jobs_file: Path) -> subprocess.CompletedProcess[str]:
    command = [COMMAND, "doctor", "--db", str(db), "--jobs-file", str(jobs_file), "--embeddings", "off",
               "--backends", "dry-run"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *args, "--db", str(db)], capture_output=True, text=True, timeout=60)


def test_new_changed_and_removed_definitions_across_restarts(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(INVOICES + "\n" + BUILD)
    first = serve(db_path, path)
    assert first.returncode == 0, first.stderr
    assert "created invoices" in first.stderr
    one = jobs(db_path)
    assert one["invoices"]["status"] == one["build"]["status"] == "ACTIVE"
    assert json.loads(one["invoices"]["schedule"])["cron"] == "0 9 * * 1"
    assert cli(db_path, "jobs", "pause", one["build"]["id"]).returncode == 0
    paused_version = jobs(db_path)["build"]["version"]

    # invoices changed, build the same (and paused by a person meanwhile), watch new.
    path.write_text(INVOICES.replace("0 9 * * 1", "0 8 * * 1").replace("nudge", "reminder") + BUILD + WATCH)
    second = serve(db_path, path)
    assert second.returncode == 0, second.stderr
    two = jobs(db_path)
    assert two["invoices"]["id"] == one["invoices"]["id"]  # updated in place: same id, same history
    assert two["invoices"]["title"] == "Pending invoices reminder"
    assert json.loads(two["invoices"]["schedule"])["cron"] == "0 8 * * 1"
    assert two["build"]["status"] == "PAUSED"  # an unchanged definition leaves its job alone
    assert two["build"]["version"] == paused_version
    assert two["watch"]["job_type"] == "ONGOING"
    assert two["watch"]["status"] == "ACTIVE"

    # build removed; watch changes type, which no update can do: it is replaced.
    path.write_text(INVOICES + WATCH.replace('"ONGOING"', '"RECURRING"').replace("end_condition", "# end_condition"))
    third = serve(db_path, path)
    assert third.returncode == 0, third.stderr
    three = jobs(db_path)
    assert "build" not in three
    assert three[one["build"]["id"]]["status"] == "CANCELLED"
    assert "removed from the jobs file" in three[one["build"]["id"]]["status_reason"]
    assert three[two["watch"]["id"]]["status"] == "CANCELLED"
    assert three["watch"]["id"] != two["watch"]["id"]
    assert three["watch"]["job_type"] == "RECURRING"
    # Changed back, invoices is updated once more; the schedule is the file's whole (no old field left).
    assert json.loads(three["invoices"]["schedule"])["cron"] == "0 9 * * 1"
    assert three["invoices"]["title"] == "Pending invoices nudge"


def test_a_bad_file_stops_the_server_naming_the_line_and_changes_nothing(db_path: Path, tmp_path: Path) -> None:
    good = tmp_path / "jobs.toml"
    good.write_text(INVOICES + BUILD)
    assert serve(db_path, good).returncode == 0
    before = dump(db_path)
    bad = tmp_path / "bad.toml"
    # The first definition changed (it would be updated); the second's cron (line 14) is bad.
    bad.write_text(INVOICES.replace("nudge", "reminder") + BUILD.replace('every = "6h"', 'cron = "61 * * * *"'))
    started = serve(db_path, bad)
    checked = doctor(db_path, bad)
    bad.write_text(INVOICES + "titel = 'typo'\n")
    misspelt = doctor(db_path, bad)
    assert started.returncode == 2
    assert f"jobs file {bad}, line 14: jobs.build: schedule: cron" in started.stderr
    assert "Nothing was changed." in started.stderr
    assert dump(db_path) == before
    # doctor refuses what serve refuses, with the same line, and exits as serve did.
    assert checked.returncode == misspelt.returncode == 2
    assert f"jobs file: {bad}, line 14: jobs.build: schedule: cron" in checked.stdout
    assert "NOT READY: serve would stop at the jobs file" in checked.stdout
    assert f"jobs file: {bad}, line 7: jobs.invoices has no field 'titel'" in misspelt.stdout
    assert doctor(db_path, good).returncode == 0
    assert dump(db_path) == before
    assert "jobs file: none" in cli(db_path, "doctor", "--embeddings", "off").stdout


BAD_FILES = [
    pytest.param('[jobs.a]\ntitle = "A"\ndescription = "x"\njob_type = \n', 4, "not valid TOML", id="syntax"),
    pytest.param(
        INVOICES + "titel = 'typo'\n", 7, "jobs.invoices has no field 'titel'; it takes: ", id="unknown-field"
    ),
    pytest.param(INVOICES + BUILD.replace('"6h"', '"soon"'), 14, "jobs.build: schedule: every", id="bad-duration"),
    pytest.param(INVOICES.replace('"0 9 * * 1"', '"0 9 * *"'), 5, "jobs.invoices: schedule", id="bad-cron"),
    pytest.param(WATCH.replace("end_condition", "# end_condition"), 1, "need end_condition", id="no-end-condition"),
    pytest.param(INVOICES + 'depends_on = ["x"]\n', 7, "depends_on is not allowed", id="depends-on"),
    pytest.param('[jobs."two words"]\ntitle = "A"\n', 1, "use 1 to 64 letters", id="bad-name"),
    pytest.param('owner = "me"\n' + INVOICES, 1, "unknown key 'owner'", id="top-level-key"),
    pytest.param(INVOICES.replace("notify", "user = 3\nnotify"), 6, "must be a user name", id="bad-user"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("text", "line", "problem"), BAD_FILES)
async def test_each_kind_of_bad_definition_names_its_line(
    db_path: Path, tmp_path: Path, clock: FakeClock, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "jobs.toml"
    async with SQLiteStore(db_path) as store:
        service = JobService(store, clock, default_timezone="UTC")
        path.write_text(BUILD)
        await sync_jobs_file(service, path, "local")
        before = dump(db_path)
        path.write_text(text)
        with pytest.raises(JobsError) as refused:
            await sync_jobs_file(service, path, "local")
    assert f"line {line}" in str(refused.value)
    assert problem in str(refused.value)
    assert dump(db_path) == before


@pytest.mark.anyio
async def test_toml_datetimes_are_read_in_the_schedules_zone(db_path: Path, tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(
        '[jobs.report]\ntitle = "Morning report"\ndescription = "Sum up the night."\njob_type = "ONE_OFF"\n'
        'schedule = { run_at = 2026-11-23T07:00:00, timezone = "Europe/Paris" }\n'  # a TOML local datetime
    )
    async with SQLiteStore(db_path) as store:
        service = JobService(store, clock, default_timezone="UTC")
        (change,) = await sync_jobs_file(service, path, "local")
        job = await store.get_job("local", change.job_id)
    assert change.action == "created"
    assert job.next_run_at is not None
    assert job.next_run_at.isoformat() == "2026-11-23T06:00:00+00:00"  # 07:00 in Paris
