"""One error hierarchy for the whole server.

Every error a client can cause is a `JobsError`; its message says what was wrong and how to
fix it, and the MCP layer hands it to the model as a tool error. Anything else is a bug.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Suggestion:
    """A call that does what a refused one could not, or what the user most likely wants instead."""

    purpose: str  # "To run it again as a new job"
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The suggestion as a sentence a model can follow, arguments as JSON."""
        return f"{self.purpose}, call {self.tool} {json.dumps(self.arguments, ensure_ascii=False)}."

    def as_dict(self) -> dict[str, Any]:
        """The suggestion as structured content of the tool error."""
        return {"purpose": self.purpose, "tool": self.tool, "arguments": self.arguments}


class JobsError(Exception):
    """Something went wrong with a jobs request."""

    def __init__(self, message: str | None = None, *, suggestion: Suggestion | None = None) -> None:
        text = message or (self.__doc__ or "").strip()
        if suggestion is not None:
            text = text.rstrip()
            text = f"{text}{'' if text.endswith('.') else '.'} {suggestion.text()}"
        super().__init__(text)
        # Every suggested call must be one that is accepted (tests/integration/test_refusals.py).
        self.suggestion = suggestion


class InvalidInput(JobsError):
    """The request's arguments are not valid."""


class JobNotFound(JobsError):
    """No such job."""

    def __init__(self, job_id: str) -> None:
        # The same text for a missing id and another user's id: existence must not leak.
        super().__init__(
            f"No job with id {job_id!r}. Check the id: job_retrieval_by_keywords or "
            "job_retrieval_semantic list your jobs with their ids."
        )
        self.job_id = job_id


class MessageNotFound(JobsError):
    """No such inbox message."""

    def __init__(self, message_ids: list[str]) -> None:
        ids = ", ".join(repr(i) for i in message_ids)
        listing = Suggestion("To see your messages with their ids", "inbox_list")
        super().__init__(f"No inbox message with id {ids}.", suggestion=listing)


class ForbiddenTransition(JobsError):
    """That status change is not allowed."""


class DependencyError(JobsError):
    """The job's dependencies are not valid."""


class LimitReached(JobsError):
    """The user is at one of the server's per-user limits."""


class Conflict(JobsError):
    """The job changed while this request was being handled; read it again and retry."""


class StoreError(JobsError):
    """The job database could not be used."""


class AgentError(JobsError):
    """The agent backend could not carry out the run."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry: bool = True,
        retry_after: float | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        # Permanent: retrying cannot help (bad key, 401/403, unknown model); the job fails at once.
        self.permanent = permanent
        # retry=False: this occurrence is not tried again (e.g. its budget ran out), but the job goes on.
        self.retry = retry and not permanent
        # Seconds the provider asked to wait (Retry-After) before the next attempt, if it said.
        self.retry_after = retry_after
        # What the run used before it failed (requests, tool calls, tokens), when the backend knows it.
        self.usage = usage


class BackendUnavailable(AgentError):
    """This backend cannot take runs now; the next backend in the chain is tried."""
