"""Schedule arithmetic with the time passed in: durations, datetimes, cron, intervals, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.models import (
    ONGOING_DEFAULT_MAX_RUNS,
    ONGOING_DEFAULT_SPAN,
    JobType,
    ScheduleInput,
    build_schedule,
)
from mcp_server_jobs.schedule import (
    Schedule,
    describe_cron,
    next_cron,
    normalize_cron,
    parse_datetime,
    parse_duration,
    short_duration,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a Sunday
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("3d", 259200),
        ("1w", 604800),
        ("1h30m", 5400),
        ("2 hours", 7200),
        ("PT30M", 1800),
        ("P3D", 259200),
        ("PT1H30M", 5400),
        ("P1W", 604800),
        ("3600", 3600),
        (3600, 3600),
        (1.5, 1.5),
    ],
)
def test_durations_short_iso_and_seconds(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "hint"),
    [("P1M", "months"), ("P1Y", "years"), ("soon", "'90s'"), ("5 parsecs", "unknown unit"), ("PT", "'90s'")],
)
def test_bad_durations_say_what_to_write(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        parse_duration(text)


def test_short_duration_reads_back() -> None:
    for seconds in (1, 90, 3600, 5400, 86400 + 7200, 604800):
        assert parse_duration(short_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


def test_naive_datetime_is_read_in_the_zone_and_aware_keeps_its_offset() -> None:
    assert parse_datetime("2026-11-23T09:00:00", PARIS) == utc(2026, 11, 23, 8, 0)
    assert parse_datetime("2026-11-23T09:00:00-05:00", PARIS) == utc(2026, 11, 23, 14, 0)
    assert parse_datetime("2026-11-23T09:00:00Z", PARIS) == utc(2026, 11, 23, 9, 0)


def test_cron_in_the_job_timezone() -> None:
    assert next_cron("0 9 * * 1", PARIS, NOW) == utc(2026, 11, 23, 8, 0)
    assert next_cron("0 9 * * 1", NEW_YORK, NOW) == utc(2026, 11, 23, 14, 0)


def test_next_is_strictly_after() -> None:
    first = next_cron("0 9 * * *", PARIS, NOW)
    assert next_cron("0 9 * * *", PARIS, first) == first + timedelta(days=1)


def test_spring_forward_fires_at_the_next_valid_instant() -> None:
    # 2026-03-08 02:30 does not exist in New York: the clock jumps from 02:00 EST to 03:00 EDT.
    gap_day = next_cron("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 12, 0))
    assert gap_day == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert next_cron("30 2 * * *", NEW_YORK, gap_day) == utc(2026, 3, 9, 6, 30)  # 02:30 EDT


def test_fall_back_daily_job_fires_once() -> None:
    # 2026-11-01 01:30 happens twice in New York (EDT, then EST); a daily job runs at the first.
    schedule = Schedule(cron="30 1 * * *", timezone="America/New_York")
    fires = list(islice(schedule.occurrences(utc(2026, 10, 31, 12, 0)), 3))
    assert fires == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]


def test_fall_back_wildcard_hour_keeps_firing_through_the_repeated_hour() -> None:
    schedule = Schedule(cron="0 * * * *", timezone="America/New_York")
    fires = list(islice(schedule.occurrences(utc(2026, 11, 1, 4, 30)), 3))
    assert fires == [utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 7, 0)]


def test_aliases_and_seconds_field() -> None:
    assert normalize_cron("@DAILY") == "@daily"
    assert next_cron("@daily", PARIS, NOW) == utc(2026, 11, 22, 23, 0)
    assert next_cron("30 0 9 * * *", PARIS, NOW) == utc(2026, 11, 23, 8, 0, 30)
    assert normalize_cron("  0   9 * * 1 ") == "0 9 * * 1"


@pytest.mark.parametrize(
    ("expr", "hint"),
    [
        ("0 9 * *", "has 4 fields"),
        ("61 * * * *", "not valid"),
        ("0 0 31 2 *", "never matches a real date"),
        ("@reboot", "not supported"),
        ("0 0 1 1 * 2030 1", "has 7 fields"),
    ],
)
def test_bad_cron_says_how_to_write_one(expr: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint) as caught:
        normalize_cron(expr)
    assert "'0 9 * * 1'" in str(caught.value)


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("0 9 * * 1", "every Monday at 09:00"),
        ("30 8 * * 1-5", "every weekday (Monday to Friday) at 08:30"),
        ("0 9 * * mon,thu", "every Monday and Thursday at 09:00"),
        ("@daily", "every day at 00:00"),
        ("0 8 1 * *", "on day 1 of every month at 08:00"),
        ("*/15 * * * *", "every 15 minutes"),
        ("15 * * * *", "every hour at minute 15"),
        ("30 0 9 * * *", "every day at 09:00:30"),
        ("0 9 1-7 * 1", "on the cron schedule '0 9 1-7 * 1'"),
    ],
)
def test_cron_sentences(expr: str, text: str) -> None:
    assert describe_cron(expr) == text


def test_interval_counts_from_the_scheduled_time_not_completion() -> None:
    schedule = Schedule(every_seconds=3600, run_at=NOW, timezone="UTC")
    assert schedule.next_after(NOW) == NOW + timedelta(hours=1)
    # A run that finished 17 minutes late does not shift the grid.
    assert schedule.next_after(NOW + timedelta(hours=1, minutes=17)) == NOW + timedelta(hours=2)


def test_upcoming_respects_max_runs_and_end_at() -> None:
    capped = Schedule(every_seconds=60, run_at=NOW, timezone="UTC", max_runs=5)
    assert len(capped.upcoming(NOW, 3, runs_done=3)) == 2
    ending = Schedule(every_seconds=60, run_at=NOW, timezone="UTC", end_at=NOW + timedelta(seconds=90))
    assert ending.upcoming(NOW, 3) == [NOW, NOW + timedelta(seconds=60)]


# --- schedules as a client writes them ---------------------------------------------------------


def build(job_type: JobType, **fields: object) -> Schedule:
    return build_schedule(job_type, ScheduleInput.model_validate(fields), "Europe/Paris", NOW)


def test_one_off_now_delay_and_run_at() -> None:
    assert build(JobType.ONE_OFF).first_run(NOW) == NOW
    assert build(JobType.ONE_OFF, delay="3d").run_at == NOW + timedelta(days=3)
    assert build(JobType.ONE_OFF, run_at="2026-11-23T09:00:00").run_at == utc(2026, 11, 23, 8, 0)
    assert build(JobType.ONE_OFF, run_at="2026-11-23T09:00:00Z").run_at == utc(2026, 11, 23, 9, 0)


def test_one_off_in_the_past_is_refused_but_clock_skew_is_not() -> None:
    with pytest.raises(InvalidInput, match="in the past"):
        build(JobType.ONE_OFF, run_at="2026-11-21T09:00:00")
    assert build(JobType.ONE_OFF, run_at="2026-11-22T10:59:30+01:00").run_at == NOW


def test_scheduled_recurring_and_ongoing_shapes() -> None:
    scheduled = build(JobType.SCHEDULED, cron="0 9 * * 1", timezone="America/New_York")
    assert scheduled.timezone == "America/New_York"
    assert scheduled.first_run(NOW) == utc(2026, 11, 23, 14, 0)
    recurring = build(JobType.RECURRING, every="6h")
    assert recurring.first_run(NOW) == NOW
    assert recurring.next_after(NOW) == NOW + timedelta(hours=6)
    ongoing = build(JobType.ONGOING, every="1h")
    assert ongoing.end_at == NOW + ONGOING_DEFAULT_SPAN
    assert ongoing.max_runs == ONGOING_DEFAULT_MAX_RUNS
    assert build(JobType.ONGOING, cron="0 9 * * *", max_runs=5).max_runs == 5


@pytest.mark.parametrize(
    ("job_type", "fields", "hint"),
    [
        (JobType.ONE_OFF, {"cron": "0 9 * * 1"}, "ONE_OFF runs once"),
        (JobType.ONE_OFF, {"max_runs": 3}, "do not apply to ONE_OFF"),
        (JobType.SCHEDULED, {"every": "1h"}, "SCHEDULED needs cron"),
        (JobType.RECURRING, {}, "RECURRING needs every"),
        (JobType.RECURRING, {"every": "0.5s"}, "between 1s and 366d"),
        (JobType.ONGOING, {"every": "1h", "cron": "0 9 * * *"}, "exactly one"),
        (JobType.ONE_OFF, {"run_at": "2026-11-23T09:00", "delay": "1h"}, "not both"),
        (JobType.SCHEDULED, {"cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, "unknown timezone"),
        (JobType.RECURRING, {"every": "1h", "end_at": "2026-11-22T09:00:00Z"}, "not after the first run"),
        (JobType.ONE_OFF, {"run_at": "tomorrow"}, "ISO 8601"),
    ],
)
def test_schedule_mistakes_are_explained(job_type: JobType, fields: dict[str, object], hint: str) -> None:
    with pytest.raises(InvalidInput, match=hint):
        build(job_type, **fields)


def test_sentences_name_the_zone_and_limits() -> None:
    assert build(JobType.SCHEDULED, cron="0 9 * * 1").describe() == "every Monday at 09:00 (Europe/Paris)"
    assert (
        build(JobType.RECURRING, every="2h", max_runs=3).describe()
        == "every 2 hours from 2026-11-22 11:00 (Europe/Paris), at most 3 runs"
    )
    assert build(JobType.ONE_OFF, delay="1d").describe() == "once at 2026-11-23 11:00 (Europe/Paris)"


def test_a_delay_after_dependencies_starts_when_they_let_the_job_go() -> None:
    spec = ScheduleInput(delay="2h", every="1d")
    held = build_schedule(JobType.RECURRING, spec, "Europe/Paris", NOW, after_dependencies=True)
    assert (held.run_at, held.delay_seconds) == (None, 7200)
    assert held.describe() == "every 1 day from 2 hours after its dependencies complete (Europe/Paris)"
    later = NOW + timedelta(days=4)
    assert held.released(later).first_run(later) == later + timedelta(hours=2)
    # Without dependencies a delay counts from now, as before.
    assert build_schedule(JobType.RECURRING, spec, "Europe/Paris", NOW).run_at == NOW + timedelta(hours=2)
