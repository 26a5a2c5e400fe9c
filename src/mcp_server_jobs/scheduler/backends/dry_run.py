"""The `dry-run` backend: runs nothing, and shows what an agent would have been given."""

from __future__ import annotations

import logging

from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.base import AgentResult

log = logging.getLogger(__name__)


class DryRunBackend:
    """Runs nothing: the run's output is the exact context an agent would have received.

    Its runs are previews: the scheduler never hands it a scheduled job, so a dry run consumes no work.
    """

    name = "dry-run"
    previews = True

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        log.info("dry-run: job %s", job.id)
        return AgentResult(output=context)
