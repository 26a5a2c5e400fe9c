"""Which runs reach the user's inbox, and with what words (design §5.7)."""

from __future__ import annotations

from datetime import datetime

from mcp_server_jobs.models import InboxMessage, Job, JobStatus, Notify, Run, new_id
from mcp_server_jobs.scheduler.verdict import Verdict

MAX_BODY = 50_000


def inbox_message(job: Job, run: Run, now: datetime) -> InboxMessage | None:
    """The message a finished run sends by the job's `notify` policy, or None.

    `job` is the job after the run. auto: when the verdict says it is worth reporting; always: every
    run; on_completion: when the job ends. A job that ended FAILED is reported unless notify is never.
    """
    ended = job.status in (JobStatus.COMPLETED, JobStatus.FAILED)
    failed = job.status is JobStatus.FAILED
    verdict = Verdict.model_validate(run.verdict) if run.verdict else None
    wanted = {
        Notify.NEVER: False,
        Notify.ALWAYS: True,
        Notify.ON_COMPLETION: ended,
        Notify.AUTO: failed or (verdict is not None and verdict.worth_reporting),
    }[job.notify]
    if not wanted:
        return None
    if failed:
        title = f"Job failed: {job.title}"
        body = f"{job.status_reason or run.error or 'The job failed.'}\n\nLast run: {run.outcome}, {run.error or ''}"
    else:
        title = (verdict.report_title if verdict else None) or f"{job.title}: {run.outcome}"
        body = (verdict.report or verdict.summary if verdict else None) or run.error or (run.output or "")[:4_000]
    return InboxMessage(
        id=new_id("msg"),
        user_id=job.user_id,
        job_id=job.id,
        run_id=run.id,
        title=title[:200],
        body=body.strip()[:MAX_BODY],
        created_at=now,
    )
