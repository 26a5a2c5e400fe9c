"""Which runs reach the user's inbox, and with what words (design §5.7)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

import anyio

from mcp_server_jobs.models import Delivery, InboxMessage, Job, JobStatus, Notify, Run, new_id
from mcp_server_jobs.scheduler.verdict import Verdict
from mcp_server_jobs.store import Report

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


def webhook_payload(message: InboxMessage, job: Job, run: Run) -> dict[str, Any]:
    """What the webhook receives: the message, and enough of the job and run to act on it."""
    return {
        "message": message.model_dump(mode="json"),
        "job": {"id": job.id, "title": job.title, "status": job.status, "job_type": job.job_type},
        "run": {"id": run.id, "outcome": run.outcome, "summary": run.summary, "error": run.error},
    }


def _post(url: str, body: bytes, timeout: float) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


async def post_webhook(url: str, payload: dict[str, Any], *, per_try: float = 10.0) -> str | None:
    """POST `payload` as JSON once; None when delivered, else what went wrong."""
    body = json.dumps(payload).encode()
    try:
        status = await anyio.to_thread.run_sync(_post, url, body, per_try)
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, bad URL
        return str(exc)
    return None if 200 <= status < 300 else f"HTTP {status}"


def report_for(job: Job, run: Run, *, now: datetime, webhook: str | None, keep: int | None) -> Report | None:
    """What a finished run writes with its end: its inbox message, and that message's webhook delivery."""
    message = inbox_message(job, run, now)
    if message is None:
        return None
    delivery = None
    if webhook is not None:
        delivery = Delivery(
            message_id=message.id,
            user_id=job.user_id,
            job_id=job.id,
            run_id=run.id,
            url=webhook,
            payload=webhook_payload(message, job, run),
            created_at=now,
        )
    return Report(message, delivery, keep)
