"""What happens to the jobs waiting on a job when its status changes (design §5.6)."""

from __future__ import annotations

from datetime import datetime

from mcp_server_jobs import lifecycle
from mcp_server_jobs.conflicts import retried_on_conflict
from mcp_server_jobs.lifecycle import dependency_status
from mcp_server_jobs.models import Job, JobChanges, JobStatus
from mcp_server_jobs.store import JobStore


async def settle_dependents(store: JobStore, changed: Job, now: datetime) -> list[Job]:
    """Re-decide every PENDING or BLOCKED job waiting on `changed`, down the chain; return those that changed.

    All dependencies COMPLETED → ACTIVE, due at the later of now and its own start (a delay counts
    from now). One FAILED, CANCELLED or BLOCKED → BLOCKED, with a reason naming it. Otherwise → PENDING.
    """
    updated = []
    for dependent in await store.dependents(changed.id):
        settled = await settle(store, dependent, now)
        if settled is not None:
            updated.append(settled)
            updated += await settle_dependents(store, settled, now)
    return updated


async def settle(store: JobStore, job: Job, now: datetime) -> Job | None:
    """Re-decide one PENDING or BLOCKED job from its dependencies; the updated job, or None if unchanged."""

    async def write(current: Job) -> Job | None:
        if current.status not in lifecycle.WAITING:
            return None
        status, reason = dependency_status(await store.get_jobs(current.user_id, current.depends_on))
        if status is current.status and reason == current.status_reason:
            return None
        changes = JobChanges(status=status, status_reason=reason)
        if status is JobStatus.ACTIVE:
            # "Follow up 3 days after": a dependent's delay counts from now, when its dependencies let it go.
            schedule = current.schedule.released(now)
            if schedule != current.schedule:
                changes.schedule = schedule
            changes.next_run_at = schedule.first_run(now)
        return await store.update_job(current.user_id, current.id, changes, expected_version=current.version)

    return await retried_on_conflict(lambda: store.get_job(job.user_id, job.id), write, first=job)
