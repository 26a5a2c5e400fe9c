"""Trying the backends in order, and the verdict of a backend that answers in text (design §5.5, §6)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp_server_jobs.errors import AgentError, BackendUnavailable
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.base import AgentResult, Backend
from mcp_server_jobs.scheduler.verdict import (
    VERDICT_ONLY,
    Verdict,
    VerdictError,
    parse_verdict,
    preview,
    verdict_instructions,
)


def prompt_for(backend: Backend, job: Job, context: str) -> str:
    """The run's context as this backend gets it: a text backend is also asked for its JSON verdict."""
    if getattr(backend, "previews", False):
        return preview(job, context)
    if getattr(backend, "text_verdict", False):
        return f"{context}\n\n{verdict_instructions(job)}"
    return context


async def call_backends(
    backends: Sequence[Backend], job: Job, context: str, on_context: Callable[[Job, str], None] | None = None
) -> tuple[Backend, AgentResult]:
    """The first backend able to take the run, and its answer; `on_context` is shown each prompt sent."""
    reasons = []
    for backend in backends:
        reason = backend.unavailable()
        if reason is None:
            prompt = prompt_for(backend, job, context)
            if on_context is not None:
                on_context(job, prompt)
            try:
                return backend, await backend.run(job, prompt)
            except BackendUnavailable as exc:
                reason = str(exc)
        reasons.append(f"{backend.name}: {reason}")
    raise AgentError("no agent backend could take the run: " + "; ".join(reasons))


async def read_verdict(backend: Backend, job: Job, answer: AgentResult) -> tuple[Verdict, dict[str, Any] | None]:
    """The answer's verdict and the run's usage; a text backend's verdict is read from its output.

    Text without a valid verdict gets one retry that asks for the verdict alone.
    """
    if answer.verdict is not None:
        return answer.verdict, answer.usage
    try:
        return parse_verdict(answer.output, job), answer.usage
    except VerdictError as first:
        previous = f"--- your previous answer ---\n{answer.output[-8_000:]}\n--- end of it ---"
        prompt = f"{VERDICT_ONLY.format(problem=first)}\n\n{previous}\n\n{verdict_instructions(job)}"
        retry = await backend.run(job, prompt)
        usage = added_usage(answer.usage, retry.usage)
        try:
            return retry.verdict or parse_verdict(retry.output, job), usage
        except VerdictError as second:
            raise AgentError(f"no valid verdict after one retry: {second}", usage=usage) from second


def added_usage(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """Two calls' usage as one: counts summed, other entries (the model's name) from the latest."""
    if first is None or second is None:
        return first or second
    total = {**first, **second}
    for key, value in first.items():
        if isinstance(value, int) and isinstance(second.get(key), int):
            total[key] = value + second[key]
    return total
