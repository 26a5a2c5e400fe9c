"""Schedule arithmetic with the time passed in: durations, datetimes, cron, intervals, DST."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from mcp_server_jobs.cron import describe_cron, next_cron, normalize_cron
from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.models import ONGOING_DEFAULT_MAX_RUNS, ONGOING_DEFAULT_SPAN, JobType
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.server.schedule_input import ScheduleInput, build_schedule
from mcp_server_jobs.times import parse_datetime, parse_duration, short_duration

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


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (1e308, "longest duration accepted is '36600d'"),
        (float("inf"), "longest duration accepted is '36600d'"),
        (float("nan"), "not a number of seconds"),
        (2**63, "longest duration accepted is '36600d'"),
        (10**400, "longest duration accepted is '36600d'"),
        ("99999999999999999999s", "longest duration accepted is '36600d'"),
        ("1" * 400 + "s", r"\(403 characters\) is too long"),
        ("P99999999999999D", "longest duration accepted"),
        ("Infinity", "not a duration"),
        ("36601d", "longest duration accepted"),
    ],
)
def test_extreme_durations_are_refused_in_our_words(value: str | float, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        parse_duration(value)


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59", "1899-12-31T23:59:59Z"]
)
def test_datetimes_at_the_edges_of_the_calendar_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="outside the dates accepted, 1900-01-01 to 8999-12-31"):
        parse_datetime(text, PARIS)


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
    ("expr", "message"),
    [
        (
            "*/61 * * * *",
            "the step 61 in the minute field is larger than its 60 values, so it fires only at minute 0 of "
            "every hour (once an hour); write '0' if that is what you mean, or for every 61 minutes use "
            "job_type RECURRING with every='61m'",
        ),
        ("0 */25 * * *", "fires only at hour 0 of every day (once a day); write '0' if that is what you mean, or "
         "for every 25 hours use job_type RECURRING with every='25h'"),
        ("0 0 */32 * *", "fires only on day 1 of each month (once a month)"),
        ("0 0 1 */13 *", "fires only in January (once a year); write '1' if that is what you mean"),
        ("0 0 * * */8", "fires only on Sundays (once a week)"),
        ("*/61 0 9 * * *", "step 61 in the second field"),
        ("50/20 * * * *", "larger than the range 50-59, so it fires only at minute 50"),
        ("1-0 * * * *", "the minute range 1-0 runs backwards; write it from low to high ('0-1'), or as two parts "
         "to wrap around ('1-59,0-0')"),
        ("0 5-1 * * *", "the hour range 5-1 runs backwards"),
        ("0 9 * * fri-mon", "from low to high ('mon-fri'), or as two parts to wrap around ('fri-sat,sun-mon')"),
        ("0 9 * * 5-0", "to wrap around ('5-7')"),
    ],
)  # fmt: skip
def test_cron_that_would_not_fire_as_it_reads_is_refused(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        normalize_cron(expr)


@pytest.mark.parametrize("expr", ["*/60 * * * *", "0 */24 * * *", "0 9 * * 1-7", "0 9 * * 5-6,0", "0-30/30 * * * *"])
def test_steps_and_ranges_that_fire_as_they_read_are_kept(expr: str) -> None:
    assert normalize_cron(expr) == expr


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("0 9 * * 1", "every Monday at 09:00"),
        ("30 8 * * 1-5", "every weekday (Monday to Friday) at 08:30"),
        ("0 9 * * mon,thu", "every Monday and Thursday at 09:00"),
        ("@daily", "every day at 00:00"),
        ("0 8 1 * *", "on day 1 of every month at 08:00"),
        ("*/15 * * * *", "every 15 minutes"),
        ("*/7 * * * *", "at minutes 0, 7, …, 56 of every hour"),
        ("5/20 * * * *", "at minutes 5, 25 and 45 of every hour"),
        ("*/60 * * * *", "every hour at minute 0"),
        ("0 */2 * * *", "every 2 hours at minute 0"),
        ("0 */5 * * *", "every day at 00:00, 05:00, …, 20:00"),
        ("30 */7 * * *", "every day at 00:30, 07:30, 14:30 and 21:30"),
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


@pytest.mark.parametrize(
    "fields",
    [
        {"run_at": "9999-12-31T23:59:59-14:00"},
        {"delay": 1e308},
        {"delay": "99999999999999999999s"},
        {"delay": 2**63},
        {"end_at": "9999-12-31T23:59:59-14:00", "every": "1h"},
        {"every": float("inf")},
        {"timeout": float("nan")},
    ],
)
def test_extreme_schedule_values_are_refused_not_overflowed(fields: dict[str, object]) -> None:
    job_type = JobType.RECURRING if "every" in fields else JobType.ONE_OFF
    with pytest.raises(InvalidInput, match=r"schedule: .*(outside the dates accepted|too long|not a number)"):
        build(job_type, **fields)


def test_a_schedule_at_the_far_end_of_the_accepted_dates_shows_its_runs() -> None:
    far = build(JobType.RECURRING, run_at="8999-12-31T23:59:59+14:00", every="366d", timezone="Pacific/Kiritimati")
    runs = far.upcoming(far.first_run(NOW), 3)
    assert [r.year for r in runs] == [8999, 9001, 9002]  # 9000 is not a leap year
    assert far.describe() == "every 366 days from 8999-12-31 23:59 (Pacific/Kiritimati)"
    ongoing = build(JobType.ONGOING, run_at="8999-12-31T23:59:59", cron="0 9 * * 1")
    assert ongoing.end_at == utc(8999, 12, 31, 22, 59, 59) + ONGOING_DEFAULT_SPAN
    assert ongoing.upcoming(ongoing.first_run(NOW), 3)[0] == utc(9000, 1, 6, 8, 0)  # a Monday
    assert ongoing.describe().endswith("starting 8999-12-31 23:59, until 9000-01-30 23:59, at most 100 runs")


def test_a_delay_after_dependencies_starts_when_they_let_the_job_go() -> None:
    spec = ScheduleInput(delay="2h", every="1d")
    held = build_schedule(JobType.RECURRING, spec, "Europe/Paris", NOW, after_dependencies=True)
    assert (held.run_at, held.delay_seconds) == (None, 7200)
    assert held.describe() == "every 1 day from 2 hours after its dependencies complete (Europe/Paris)"
    later = NOW + timedelta(days=4)
    assert held.released(later).first_run(later) == later + timedelta(hours=2)
    # Without dependencies a delay counts from now, as before.
    assert build_schedule(JobType.RECURRING, spec, "Europe/Paris", NOW).run_at == NOW + timedelta(hours=2)
