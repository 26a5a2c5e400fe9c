"""What every backend is to the scheduler: the `Backend` contract, its `AgentResult`, and what a run in
progress lets a backend report (its usage so far, an agent process's pid)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.verdict import Verdict

# Here, not in the model backend: the factory says it without loading pydantic-ai.
NO_MODEL = "no model set (--model, e.g. openai:gpt-5-mini or anthropic:claude-sonnet-4-5)"


@dataclass
class AgentResult:
    """What a backend produced for one run.

    `verdict` is None for text backends: the scheduler then reads it from the end of `output`.
    """

    output: str
    verdict: Verdict | None = None
    usage: dict[str, Any] | None = field(default=None)


class Backend(Protocol):
    """Carries out one run of a job from its context.

    A backend whose class sets `text_verdict = True` answers in text: its prompt asks for the JSON verdict.
    """

    name: str

    def unavailable(self) -> str | None:
        """Why this backend cannot take runs now, or None when it can."""
        ...

    async def run(self, job: Job, context: str) -> AgentResult:
        """Do the job; raise AgentError (permanent or not) or BackendUnavailable on failure."""
        ...


class UsageMeter:
    """Where a backend shows what its run has used so far, read when the run is stopped from outside."""

    def __init__(self) -> None:
        self._read: Callable[[], dict[str, Any]] | None = None

    def follow(self, read: Callable[[], dict[str, Any]]) -> None:
        """Read the usage from `read` from now on."""
        self._read = read

    def reading(self) -> dict[str, Any] | None:
        return self._read() if self._read is not None else None


PidSink = Callable[[int], Awaitable[None]]
_meter: ContextVar[UsageMeter | None] = ContextVar("usage_meter", default=None)
_agent_started: ContextVar[PidSink | None] = ContextVar("agent_started", default=None)


@contextlib.contextmanager
def metering() -> Iterator[UsageMeter]:
    """Within this block, a backend that counts its usage as it goes shows it on the meter yielded."""
    meter = UsageMeter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def current_meter() -> UsageMeter | None:
    """The meter of the run in progress, if one is being metered."""
    return _meter.get()


@contextlib.contextmanager
def reporting_agent_pids(sink: PidSink) -> Iterator[None]:
    """Within this block (and the tasks it starts), a backend that starts an agent process reports its pid to `sink`."""
    token = _agent_started.set(sink)
    try:
        yield
    finally:
        _agent_started.reset(token)


def agent_pid_sink() -> PidSink | None:
    """Where the run in progress wants an agent process's pid, if anywhere."""
    return _agent_started.get()
