"""What happens to the jobs waiting on a job when it ends (design §5.6)."""

from __future__ import annotations

from datetime import datetime

from mcp_server_jobs.errors import Conflict
from mcp_server_jobs.lifecycle import dependency_status
from mcp_server_jobs.models import Job, JobChanges, JobStatus
from mcp_server_jobs.store import JobStore

_RETRIES = 5


async def settle_dependents(store: JobStore, finished: Job, now: datetime) -> list[Job]:
    """Re-decide every PENDING job that waits on `finished`; return the ones that changed.

    All dependencies COMPLETED → ACTIVE, due at the later of now and its own start.
    A dependency FAILED or CANCELLED → BLOCKED, with a reason naming it.
    """
    changed = []
    for dependent in await store.dependents(finished.id):
        updated = await settle(store, dependent, now)
        if updated is not None:
            changed.append(updated)
    return changed


async def settle(store: JobStore, job: Job, now: datetime) -> Job | None:
    """Re-decide one PENDING job from its dependencies' statuses; the updated job, or None if unchanged."""
    for _ in range(_RETRIES):
        if job.status is not JobStatus.PENDING:
            return None
        dependencies = await store.get_jobs(job.user_id, job.depends_on)
        status, reason = dependency_status(dependencies)
        if status is JobStatus.PENDING:
            return None
        changes = JobChanges(status=status, status_reason=reason)
        if status is JobStatus.ACTIVE:
            changes.next_run_at = job.schedule.first_run(now)
        try:
            return await store.update_job(job.user_id, job.id, changes, expected_version=job.version)
        except Conflict:
            job = await store.get_job(job.user_id, job.id)
    raise Conflict()
