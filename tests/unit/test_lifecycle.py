"""The named status sets of lifecycle.py agree with its transition table."""

from mcp_server_jobs import lifecycle
from mcp_server_jobs.models import JobStatus as S


def test_every_status_is_live_terminal_or_archived_and_only_one() -> None:
    assert lifecycle.LIVE.isdisjoint(lifecycle.TERMINAL)
    assert lifecycle.LIVE | lifecycle.TERMINAL | {S.ARCHIVED} == set(S)


def test_a_terminal_job_runs_again_only_when_a_person_retries_it() -> None:
    for status in lifecycle.TERMINAL:
        assert lifecycle.TRANSITIONS[status] <= {S.ARCHIVED, S.ACTIVE}
        assert (S.ACTIVE in lifecycle.TRANSITIONS[status]) == (status not in lifecycle.FROZEN)


def test_frozen_statuses_lead_nowhere_but_the_archive() -> None:
    for status in lifecycle.FROZEN:
        assert lifecycle.TRANSITIONS[status] <= {S.ARCHIVED}


def test_a_job_leaving_or_entering_blocked_or_ending_affects_its_dependents() -> None:
    assert lifecycle.affects_dependents(S.IN_PROGRESS, S.COMPLETED)
    assert lifecycle.affects_dependents(S.ACTIVE, S.BLOCKED)
    assert lifecycle.affects_dependents(S.FAILED, S.ACTIVE)
    assert not lifecycle.affects_dependents(S.ACTIVE, S.PAUSED)
    assert not lifecycle.affects_dependents(S.COMPLETED, S.COMPLETED)
