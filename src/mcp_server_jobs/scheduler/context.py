"""The context a job's agent receives for one run (design §5.3), each part bounded in size."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from mcp_server_jobs.models import Job, Run, RunOutcome
from mcp_server_jobs.times import format_local

MAX_DEPENDENCY_OUTPUT = 4_000
MAX_PREVIOUS_RUNS = 5
MAX_SUMMARY = 500
MAX_METADATA = 2_000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[… {len(text) - limit} more characters cut]"


def build_context(
    job: Job,
    now: datetime,
    dependencies: Sequence[Job],
    outputs: Mapping[str, str],
    previous: Sequence[Run],
) -> str:
    """The prompt for one run: instructions, time, entities, dependency outputs, earlier runs, metadata."""
    tz = job.schedule.tz
    parts = [
        f"# Job: {job.title}",
        f"Job {job.id}, {job.job_type}: {job.schedule.describe()}.",
        f"Current time: {format_local(now, tz)} ({job.schedule.timezone}).",
        "",
        "## Instructions",
        job.description,
    ]
    if job.end_condition:
        parts += ["", "## End condition (judge after this run whether it now holds)", job.end_condition]
    if job.related_entities:
        parts += ["", "## Related entities"]
        parts += [
            f"- {e.name}" + (f" ({e.kind})" if e.kind else "") + (f": {e.details}" if e.details else "")
            for e in job.related_entities
        ]
    if dependencies:
        parts += ["", "## Results of the jobs this one depends on"]
        for dependency in dependencies:
            output = outputs.get(dependency.id, "(no output recorded)")
            parts += [f"### {dependency.title} ({dependency.id})", _clip(output, MAX_DEPENDENCY_OUTPUT)]
    earlier = [r for r in previous if r.outcome is not RunOutcome.RUNNING][:MAX_PREVIOUS_RUNS]
    if earlier:
        parts += ["", "## Previous runs (newest first)"]
        for run in earlier:
            when = format_local(run.scheduled_for, tz) if run.scheduled_for else "?"
            detail = run.summary or run.error or ""
            parts.append(f"- {when}: {run.outcome}" + (f": {_clip(detail, MAX_SUMMARY)}" if detail else ""))
    if job.metadata:
        parts += ["", "## Metadata", _clip(json.dumps(job.metadata, ensure_ascii=False), MAX_METADATA)]
    return "\n".join(parts)
