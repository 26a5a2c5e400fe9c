"""Every status rule of design §3: which changes are allowed, and which statuses count as what.

The sets below are the only definitions of those words; the store builds its SQL from them.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp_server_jobs.errors import ForbiddenTransition
from mcp_server_jobs.models import Job
from mcp_server_jobs.models import JobStatus as S

# Every status change anywhere in the server is checked against this table.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.ACTIVE, S.BLOCKED, S.PAUSED, S.CANCELLED}),
    S.ACTIVE: frozenset({S.IN_PROGRESS, S.PAUSED, S.BLOCKED, S.PENDING, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ACTIVE, S.COMPLETED, S.FAILED, S.PAUSED, S.CANCELLED}),
    # PAUSED → IN_PROGRESS: job_run_now tries a paused job once; it returns to PAUSED after.
    S.PAUSED: frozenset({S.ACTIVE, S.PENDING, S.IN_PROGRESS, S.CANCELLED}),
    S.BLOCKED: frozenset({S.ACTIVE, S.PENDING, S.CANCELLED}),
    S.COMPLETED: frozenset({S.ARCHIVED}),
    # A failed job can be retried from the chat (job_update status=ACTIVE).
    S.FAILED: frozenset({S.ACTIVE, S.ARCHIVED}),
    S.CANCELLED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}

LIVE = frozenset({S.PENDING, S.ACTIVE, S.IN_PROGRESS, S.PAUSED, S.BLOCKED})
"""Jobs that may still run: listed by default, and checked for duplicates."""
TERMINAL = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED})
"""Jobs that will not run again by themselves; only a person's retry revives a FAILED one."""
FROZEN = frozenset({S.COMPLETED, S.CANCELLED, S.ARCHIVED})
"""Jobs whose fields can no longer change (a FAILED job can still be edited and retried)."""
IN_THE_WAY = frozenset({S.FAILED, S.CANCELLED, S.BLOCKED})
"""A dependency in one of these blocks the jobs waiting on it."""
WAITING = frozenset({S.PENDING, S.BLOCKED})
"""Statuses decided by dependencies alone."""
STUCK = frozenset({S.FAILED, S.BLOCKED})
"""Jobs that stay as they are until a person acts (`doctor` lists them)."""


def affects_dependents(before: S, after: S) -> bool:
    """Whether a job going from `before` to `after` can change the jobs waiting on it."""
    return before != after and (after in TERMINAL or S.BLOCKED in (before, after) or before is S.FAILED)


# What a client may ask for through job_update, and from where.
CLIENT_TARGETS: dict[S, frozenset[S]] = {
    S.ACTIVE: frozenset({S.PAUSED, S.BLOCKED, S.FAILED}),
    S.COMPLETED: frozenset({S.ACTIVE, S.PAUSED}),
    S.ARCHIVED: frozenset({S.COMPLETED, S.FAILED, S.CANCELLED}),
}

_MEANING = {
    S.ACTIVE: "ACTIVE resumes a PAUSED job, unblocks a BLOCKED one or retries a FAILED one",
    S.COMPLETED: "COMPLETED ends an ACTIVE or PAUSED ONGOING job whose goal was met",
    S.ARCHIVED: "ARCHIVED hides a COMPLETED, FAILED or CANCELLED job from default listings",
}


def allowed(current: S, target: S) -> bool:
    """Whether the table allows `current` → `target`."""
    return target in TRANSITIONS[current]


def check(current: S, target: S) -> None:
    """Raise ForbiddenTransition, naming the allowed targets, unless `current` → `target` is allowed."""
    if allowed(current, target):
        return
    options = ", ".join(sorted(TRANSITIONS[current])) or "none (it is final)"
    raise ForbiddenTransition(f"A {current} job cannot become {target}. From {current} it can become: {options}.")


def check_client(current: S, target: S) -> None:
    """Like `check`, for a status a client asked for in job_update; says what job_update can do."""
    sources = CLIENT_TARGETS.get(target)
    if sources is None:
        options = "; ".join(_MEANING.values())
        raise ForbiddenTransition(
            f"job_update cannot set status {target}. It can set: {options}. "
            "Use job_pause to pause and job_cancel to cancel."
        )
    if current not in sources:
        possible = ", ".join(t for t, froms in CLIENT_TARGETS.items() if current in froms) or "no status"
        raise ForbiddenTransition(
            f"This job is {current}, so it cannot be set to {target}: {_MEANING[target]}. "
            f"From {current}, job_update can set: {possible}."
        )
    check(current, target)


def dependency_status(dependencies: Sequence[Job]) -> tuple[S, str | None]:
    """The status a job waiting on `dependencies` should have, and why.

    A FAILED, CANCELLED or BLOCKED dependency blocks it; all COMPLETED frees it; otherwise it waits.
    """
    stopped = [d for d in dependencies if d.status in IN_THE_WAY]
    if stopped:
        names = ", ".join(f"{d.id} ({d.title!r}) is {d.status}" for d in stopped)
        return S.BLOCKED, f"dependency {names}; {_unblocking(stopped)}"
    waiting = [d for d in dependencies if d.status != S.COMPLETED]
    if waiting:
        return S.PENDING, "waiting for " + ", ".join(f"{d.id} ({d.title!r})" for d in waiting) + " to complete"
    return S.ACTIVE, None


def _unblocking(stopped: Sequence[Job]) -> str:
    """How a person can free a job waiting on `stopped` dependencies, as each can be fixed."""
    ways = {S.FAILED: "retry the failed one", S.BLOCKED: "unblock the blocked one"}
    fixes = [ways[status] for status in ways if any(d.status is status for d in stopped)]
    if any(d.status is S.CANCELLED for d in stopped):
        fixes.append("create anew the cancelled one (it never runs again) and wait on that")
    return ", ".join(fixes) + ", or drop it from depends_on"


NO_BACKEND_REASON = "not run yet: no agent backend is usable"
"""How an ACTIVE job waiting for a usable backend says so in its status_reason (doctor lists them)."""
