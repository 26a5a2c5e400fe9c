"""Which finished runs reach the inbox, by the job's notify policy."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_server_jobs.models import Job, JobStatus, Notify, Run, RunOutcome
from mcp_server_jobs.scheduler.delivery import inbox_message
from mcp_server_jobs.scheduler.verdict import Verdict
from tests.conftest import START, new_job


def job(notify: Notify, status: JobStatus, reason: str | None = None) -> Job:
    base = new_job(START, title="Watch prices").model_dump() | {"id": "job_1"}
    return Job(**{**base, "notify": notify, "status": status, "status_reason": reason, "updated_at": START})


def run(worth: bool | None, outcome: RunOutcome = RunOutcome.SUCCEEDED, **extra: Any) -> Run:
    verdict = None
    if worth is not None:
        verdict = Verdict(
            outcome="success", summary="checked", worth_reporting=worth, report_title="Price drop", report="Now $19."
        ).model_dump()
    return Run(id="run_1", job_id="job_1", scheduled_for=START, started_at=START, finished_at=START, attempt=1,
               outcome=outcome, verdict=verdict, **extra)  # fmt: skip


@pytest.mark.parametrize(
    ("notify", "status", "worth", "expected"),
    [
        (Notify.AUTO, JobStatus.ACTIVE, True, "Price drop"),
        (Notify.AUTO, JobStatus.ACTIVE, False, None),
        (Notify.ALWAYS, JobStatus.ACTIVE, False, "Price drop"),
        (Notify.ON_COMPLETION, JobStatus.ACTIVE, True, None),
        (Notify.ON_COMPLETION, JobStatus.COMPLETED, False, "Price drop"),
        (Notify.NEVER, JobStatus.COMPLETED, True, None),
    ],
)
def test_policy(notify: Notify, status: JobStatus, worth: bool, expected: str | None) -> None:
    message = inbox_message(job(notify, status), run(worth), START)
    assert (message.title if message else None) == expected


def test_report_body_and_ids() -> None:
    message = inbox_message(job(Notify.AUTO, JobStatus.ACTIVE), run(True), START)
    assert message is not None
    assert (message.body, message.job_id, message.run_id, message.user_id) == ("Now $19.", "job_1", "run_1", "local")


@pytest.mark.parametrize("notify", [Notify.AUTO, Notify.ON_COMPLETION, Notify.ALWAYS])
def test_a_job_that_failed_is_always_reported(notify: Notify) -> None:
    failed = job(notify, JobStatus.FAILED, "stopped at a permanent error, not retried: 401")
    message = inbox_message(failed, run(None, RunOutcome.FAILED, error="401 Unauthorized"), START)
    assert message is not None
    assert message.title == "Job failed: Watch prices"
    assert "401" in message.body


def test_never_means_never() -> None:
    failed = job(Notify.NEVER, JobStatus.FAILED, "broken")
    assert inbox_message(failed, run(None, RunOutcome.FAILED, error="x"), START) is None
