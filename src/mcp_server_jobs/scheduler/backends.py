"""Agent backends behind one interface; the scheduler tries them in the configured order (design §6)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mcp_server_jobs.errors import BackendUnavailable
from mcp_server_jobs.models import Job

log = logging.getLogger(__name__)


@dataclass
class AgentResult:
    """What a backend produced for one run."""

    output: str
    summary: str | None = None
    verdict: dict[str, Any] | None = None
    goal_met: bool = False
    usage: dict[str, Any] | None = field(default=None)


class Backend(Protocol):
    """Carries out one run of a job from its context."""

    name: str

    def unavailable(self) -> str | None:
        """Why this backend cannot take runs now, or None when it can."""
        ...

    async def run(self, job: Job, context: str) -> AgentResult:
        """Do the job; raise AgentError (permanent or not) or BackendUnavailable on failure."""
        ...


class DryRunBackend:
    """Runs nothing: the run's output is the exact context an agent would have received."""

    name = "dry-run"

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        log.info("dry-run: job %s", job.id)
        return AgentResult(output=context, summary="dry run: recorded the context an agent would receive")


class NotConfigured:
    """A backend named in the settings that this server cannot use."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    def unavailable(self) -> str | None:
        return self._reason

    async def run(self, job: Job, context: str) -> AgentResult:
        raise BackendUnavailable(f"{self.name}: {self._reason}")


def build_backends(names: Sequence[str]) -> list[Backend]:
    """The backends for the configured names, in order."""
    backends: list[Backend] = []
    for name in names:
        if name == "dry-run":
            backends.append(DryRunBackend())
        else:
            backends.append(NotConfigured(name, "not available in this version of the server"))
    return backends


def first_problem(backends: Sequence[Backend]) -> str | None:
    """None if some backend can take runs; otherwise why none can."""
    reasons = []
    for backend in backends:
        reason = backend.unavailable()
        if reason is None:
            return None
        reasons.append(f"{backend.name}: {reason}")
    return "; ".join(reasons) or "no backend is configured (--backends)"
