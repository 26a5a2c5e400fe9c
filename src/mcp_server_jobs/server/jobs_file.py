"""Predefined jobs: a TOML file of named jobs, brought into the database when the server starts.

Each `[jobs.NAME]` table holds the fields of a `job_create` call (plus an optional `user`). At start a
new name creates its job, a changed definition updates its job (or replaces it when the job has ended
or its type or user changed), and a name gone from the file cancels its job. An unchanged definition
leaves its job alone, whatever happened to it since: a paused or finished job stays so.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mcp_server_jobs.errors import InvalidInput, JobNotFound
from mcp_server_jobs.explain import problem
from mcp_server_jobs.lifecycle import LIVE
from mcp_server_jobs.models import Job, RunLimits
from mcp_server_jobs.server.requests import JobCreateRequest, JobUpdateRequest
from mcp_server_jobs.server.schedule_input import ScheduleInput
from mcp_server_jobs.server.schemas import input_schema
from mcp_server_jobs.server.service import JobService, check_request
from mcp_server_jobs.store import DefinedJob

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Fields a definition may not set: the name is its identity, and chains belong to the tools.
_NOT_IN_FILE = {
    "dedup_key": "the job's name in the file identifies it",
    "depends_on": "jobs of the file cannot depend on other jobs; create chains with job_create",
}
# Everything job_update can replace; an update sets them all, so a field dropped from the file is reset.
_REPLACED = ("title", "description", "end_condition", "related_entities", "notify", "metadata")


class JobsFileError(InvalidInput):
    """The jobs file cannot be used as it is; the message names the file and the line."""


@dataclass(frozen=True)
class Definition:
    """One job of the file, validated: its name, user, request, digest, and the lines of its parts."""

    name: str
    user: str
    request: JobCreateRequest
    digest: str
    line: int
    # The lines of `schedule` ("") and of each of its fields, for errors found when it is built.
    schedule_lines: dict[str, int]


def read_jobs_file(path: Path, default_user: str) -> list[Definition]:
    """Parse and validate every definition of the file; JobsFileError names the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobsFileError(f"jobs file {path}: cannot be read: {exc}. Nothing was changed.") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message names the line: "Invalid value (at line 4, column 12)".
        raise JobsFileError(f"jobs file {path}: not valid TOML: {exc}. Nothing was changed.") from exc
    places = _Places(text)
    for key in data:
        if key != "jobs":
            raise _error(path, places.line(key), f"unknown key {key!r}; define each job as a [jobs.NAME] table")
    jobs = data.get("jobs", {})
    if not isinstance(jobs, dict):
        raise _error(path, places.line("jobs"), "'jobs' must be a table of [jobs.NAME] tables")
    return [_definition(path, places, name, entry, default_user) for name, entry in jobs.items()]


def _definition(path: Path, places: _Places, name: str, entry: Any, default_user: str) -> Definition:
    line = places.line("jobs", name)
    if not NAME.fullmatch(name):
        raise _error(path, line, f"job name {name!r}: use 1 to 64 letters, digits, '-' or '_'")
    if not isinstance(entry, dict):
        raise _error(path, line, f"jobs.{name} must be a table of job fields, e.g. [jobs.{name}]")
    fields = _plain(entry)
    user = fields.pop("user", default_user)
    if not isinstance(user, str) or not user:
        raise _error(path, places.line("jobs", name, "user"), f"jobs.{name}.user must be a user name")
    for key, why in _NOT_IN_FILE.items():
        if key in fields:
            raise _error(path, places.line("jobs", name, key), f"jobs.{name}.{key} is not allowed: {why}")
    try:
        request = JobCreateRequest.model_validate({**fields, "dedup_key": f"jobs-file:{name}"})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        where = places.line("jobs", name, *loc[:2]) if loc else line
        raise _error(path, where, problem(first, input_schema(JobCreateRequest), root=f"jobs.{name}")) from exc
    digest = hashlib.sha256(json.dumps([user, fields], sort_keys=True).encode()).hexdigest()
    schedule_lines = {key: places.line("jobs", name, "schedule", key) for key in ("", *ScheduleInput.model_fields)}
    return Definition(name=name, user=user, request=request, digest=digest, line=line, schedule_lines=schedule_lines)


def _plain(value: Any) -> Any:
    """TOML dates and times as the ISO text the request models read."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Change:
    """What a sync did to one definition's job."""

    name: str
    action: str  # created, updated, replaced, cancelled
    job_id: str


def check_jobs_file(
    path: Path, default_user: str, default_timezone: str, now: datetime, known: Mapping[str, str]
) -> list[Definition]:
    """Everything `serve` refuses the file for, before any write; `known` maps names to the digests applied.

    An unchanged definition is not checked again, as serve leaves its job alone (its run_at may be past).
    """
    definitions = read_jobs_file(path, default_user)
    for definition in definitions:
        if known.get(definition.name) != definition.digest:
            _check(path, definition, default_timezone, now)
    return definitions


async def sync_jobs_file(service: JobService, path: Path, default_user: str) -> list[Change]:
    """Bring the database in line with the file; nothing is written if any definition is refused."""
    known = {defined.name: defined for defined in await service.store.defined_jobs()}
    digests = {name: defined.digest for name, defined in known.items()}
    definitions = check_jobs_file(path, default_user, service.default_timezone, service.clock.now(), digests)
    plans: list[tuple[Definition, Job | None]] = []
    for definition in definitions:
        prior = known.get(definition.name)
        if prior is None or prior.digest != definition.digest:
            plans.append((definition, await _live_job(service, prior)))
    changes: list[Change] = []
    for definition, job in plans:
        changes.append(await _apply(service, definition, job))
    names = {definition.name for definition in definitions}
    for name, prior in known.items():
        if name not in names:
            job = await _live_job(service, prior)
            if job is not None:
                await service.cancel(prior.user_id, job.id, f"removed from the jobs file {path}")
                changes.append(Change(name, "cancelled", job.id))
            await service.store.drop_defined_job(name)
    return changes


async def _live_job(service: JobService, defined: DefinedJob | None) -> Job | None:
    if defined is None:
        return None
    try:
        job = await service.store.get_job(defined.user_id, defined.job_id)
    except JobNotFound:
        return None
    return job if job.status in LIVE else None


def _check(path: Path, definition: Definition, default_timezone: str, now: datetime) -> None:
    """The checks job_create makes before writing, so that a bad schedule stops the sync before any write."""
    try:
        check_request(definition.request, default_timezone, now)
    except InvalidInput as exc:
        # Schedule messages start with the field at fault ("schedule: every must be ..."); others are the job's.
        named = re.match(r"schedule: (\w+)", str(exc))
        lines = definition.schedule_lines
        line = lines.get(named.group(1), lines[""]) if named else definition.line
        raise _error(path, line, f"jobs.{definition.name}: {exc}") from exc


async def _apply(service: JobService, definition: Definition, job: Job | None) -> Change:
    request = definition.request
    if job is not None and job.user_id == definition.user and job.job_type is request.job_type:
        fields = {name: getattr(request, name) for name in _REPLACED}
        # Every schedule field given, absent ones as None: the file's schedule replaces the old one whole.
        schedule = ScheduleInput(**request.schedule.model_dump())
        update = JobUpdateRequest(job_id=job.id, schedule=schedule, limits=request.limits or RunLimits(), **fields)
        updated = await service.update(definition.user, update)
        action = "updated"
    else:
        if job is not None:
            await service.cancel(job.user_id, job.id, f"replaced: jobs file definition {definition.name!r} changed")
        updated = (await service.create(definition.user, request)).job
        action = "created" if job is None else "replaced"
    await service.store.put_defined_job(DefinedJob(definition.name, definition.user, updated.id, definition.digest))
    return Change(definition.name, action, updated.id)


class _Places:
    """Where keys are in the TOML text, for errors that name a line (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, *path: str) -> int:
        """The line of `path`: its `key =` or its table header, else the nearest table header on the way."""
        found = 1
        table: tuple[str, ...] = ()
        for number, raw in enumerate(self.lines, 1):
            header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", raw)
            if header:
                table = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
                if table == path[: len(table)]:
                    if table == path:
                        return number
                    found = number
                continue
            key = re.match(r"\s*([\w\"'-]+)\s*=", raw)
            if key and (*table, key.group(1).strip("\"'")) == path[: len(table) + 1]:
                return number
        return found


def _error(path: Path, line: int, problem: str) -> JobsFileError:
    return JobsFileError(f"jobs file {path}, line {line}: {problem.rstrip('.')}. Nothing was changed.")
