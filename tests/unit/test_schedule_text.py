"""A schedule written as text, read into the fields a client would write, or refused in our words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mcp_server_jobs.models import JobType
from mcp_server_jobs.schedule_text import read_schedule_text
from mcp_server_jobs.server.schedule_input import ScheduleInput, build_schedule

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # a Sunday, 11:00 in Paris
BEFORE_SPRING = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # the Saturday before Paris moves to +02:00
PARIS = ZoneInfo("Europe/Paris")

ACCEPTED = [
    # cron lines, as written
    ("0 9 * * 1", "SCHEDULED", {"cron": "0 9 * * 1"}),
    ("  0  9 * *   1-5 ", "ONGOING", {"cron": "0 9 * * 1-5"}),
    ("0 9,17 * * 1,3,5", "SCHEDULED", {"cron": "0 9,17 * * 1,3,5"}),
    ("@daily", "SCHEDULED", {"cron": "@daily"}),
    ("0 9 * * MON-FRI", "SCHEDULED", {"cron": "0 9 * * MON-FRI"}),
    # intervals
    ("every 2h", "RECURRING", {"every": "2h"}),
    ("every 2 hours", "ONGOING", {"every": "2h"}),
    ("Every 90 minutes.", "RECURRING", {"every": "1h30m"}),
    ("every hour", "RECURRING", {"every": "1h"}),
    ("hourly", "ONGOING", {"every": "1h"}),
    ("every 2h starting tomorrow at 9am", "RECURRING", {"every": "2h", "run_at": "2026-11-23T09:00:00+01:00"}),
    ("every 30 minutes starting in 1 hour", "ONGOING", {"every": "30m", "delay": "1h"}),
    # the calendar
    ("every monday at 9am", "SCHEDULED", {"cron": "0 9 * * 1"}),
    ("every monday at 9am", "ONGOING", {"cron": "0 9 * * 1"}),
    ("weekdays at 8:30", "SCHEDULED", {"cron": "30 8 * * 1-5"}),
    ("every weekday at 8:30 a.m.", "SCHEDULED", {"cron": "30 8 * * 1-5"}),
    ("every Monday and Thursday at 9:00", "SCHEDULED", {"cron": "0 9 * * 1,4"}),
    ("mondays at 5:30pm", "SCHEDULED", {"cron": "30 17 * * 1"}),
    ("weekends at 10am", "SCHEDULED", {"cron": "0 10 * * 0,6"}),
    ("every saturday at 10am", "SCHEDULED", {"cron": "0 10 * * 6"}),
    ("every wednesday and friday at 6pm", "ONGOING", {"cron": "0 18 * * 3,5"}),
    ("every day at noon", "SCHEDULED", {"cron": "0 12 * * *"}),
    ("daily at 7:15", "ONGOING", {"cron": "15 7 * * *"}),
    ("9am every day", "SCHEDULED", {"cron": "0 9 * * *"}),
    ("daily at 17", "SCHEDULED", {"cron": "0 17 * * *"}),
    ("every month on the 15th at 9am", "SCHEDULED", {"cron": "0 9 15 * *"}),
    ("on the 1st of every month at 08:00", "ONGOING", {"cron": "0 8 1 * *"}),
    (
        "every monday at 9am starting 2027-01-01 00:00",
        "SCHEDULED",
        {"cron": "0 9 * * 1", "run_at": "2027-01-01T00:00:00+01:00"},
    ),
    # one start
    ("in 30 minutes", "ONE_OFF", {"delay": "30m"}),
    ("in an hour", "ONE_OFF", {"delay": "1h"}),
    ("in 1 hour and 30 minutes", "ONE_OFF", {"delay": "1h30m"}),
    ("in half an hour", "ONE_OFF", {"delay": "30m"}),
    ("in 3 days", "ONE_OFF", {"delay": "3d"}),
    ("now", "ONE_OFF", {}),
    ("tomorrow at 9am", "ONE_OFF", {"run_at": "2026-11-23T09:00:00+01:00"}),
    ("2027-01-15 09:00", "ONE_OFF", {"run_at": "2027-01-15T09:00:00+01:00"}),
    ("2027-07-15T09:00", "ONE_OFF", {"run_at": "2027-07-15T09:00:00+02:00"}),
    ("2027-01-15T09:00:00Z", "ONE_OFF", {"run_at": "2027-01-15T10:00:00+01:00"}),
    ("next friday 17:00", "ONE_OFF", {"run_at": "2026-11-27T17:00:00+01:00"}),
    ("friday at 5pm", "ONE_OFF", {"run_at": "2026-11-27T17:00:00+01:00"}),
    ("saturday at 10am", "ONE_OFF", {"run_at": "2026-11-28T10:00:00+01:00"}),
    ("sunday at 10:30", "ONE_OFF", {"run_at": "2026-11-29T10:30:00+01:00"}),  # today's has passed
    ("at 5pm", "ONE_OFF", {"run_at": "2026-11-22T17:00:00+01:00"}),
    ("at 9am", "ONE_OFF", {"run_at": "2026-11-23T09:00:00+01:00"}),
    ("the day after tomorrow at noon", "ONE_OFF", {"run_at": "2026-11-24T12:00:00+01:00"}),
    ("15 January 2027 at 9am", "ONE_OFF", {"run_at": "2027-01-15T09:00:00+01:00"}),
    ("jan 15th at 9:30 pm", "ONE_OFF", {"run_at": "2027-01-15T21:30:00+01:00"}),
]


@pytest.mark.parametrize(("text", "job_type", "fields"), ACCEPTED)
def test_each_written_form_gives_the_fields_a_client_would_write(
    text: str, job_type: str, fields: dict[str, str]
) -> None:
    assert read_schedule_text(text, job_type, PARIS, NOW) == fields
    # ... and those fields make a valid schedule of that job type.
    build_schedule(JobType(job_type), ScheduleInput(timezone="Europe/Paris", **fields), "UTC", NOW).describe()


def test_times_are_read_in_the_zone_across_a_daylight_saving_change() -> None:
    # On 2027-03-28 Paris moves from +01:00 to +02:00 at 02:00; 'tomorrow at 9am' is 09:00 on the new offset.
    assert read_schedule_text("tomorrow at 9am", "ONE_OFF", PARIS, BEFORE_SPRING) == {
        "run_at": "2027-03-28T09:00:00+02:00"
    }
    assert read_schedule_text("at 9am", "ONE_OFF", PARIS, BEFORE_SPRING) == {"run_at": "2027-03-28T09:00:00+02:00"}
    assert read_schedule_text("2027-03-27 23:30", "ONE_OFF", PARIS, BEFORE_SPRING) == {
        "run_at": "2027-03-27T23:30:00+01:00"
    }


def test_a_time_of_day_becomes_an_interval_only_where_the_clocks_never_change() -> None:
    assert read_schedule_text("every monday at 9am", "RECURRING", ZoneInfo("UTC"), NOW) == {
        "every": "1w",
        "run_at": "2026-11-23T09:00:00+00:00",
    }
    assert read_schedule_text("every day at 9am", "RECURRING", ZoneInfo("Asia/Tokyo"), NOW) == {
        "every": "1d",
        "run_at": "2026-11-23T09:00:00+09:00",
    }
    with pytest.raises(ValueError, match=re.escape("would move it by an hour when Europe/Paris changes its clocks")):
        read_schedule_text("every day at 9am", "RECURRING", PARIS, NOW)


def test_a_past_date_is_returned_for_the_caller_to_refuse() -> None:
    assert read_schedule_text("2026-11-21 09:00", "ONE_OFF", PARIS, NOW) == {"run_at": "2026-11-21T09:00:00+01:00"}


REFUSED = [
    ("01/02/2027", "ONE_OFF", "where day and month swap places from one country to the next; write it as YYYY-MM-DD"),
    ("9", "ONE_OFF", '"9" is a bare number, which could be an hour, a day or a number of minutes'),
    ("soon", "RECURRING", '"soon" is not a schedule this server can read'),
    ("daily at 9", "SCHEDULED", "gives the hour 9 without minutes or am/pm, which could mean 09:00 or 21:00"),
    ("at 13pm", "ONE_OFF", "with am/pm the hour is 1 to 12"),
    ("at 25:00", "ONE_OFF", "is not a time of day (00:00 to 23:59)"),
    ("february 30 2027 at 9am", "ONE_OFF", "which is not a real date"),
    ("2027-02-30 09:00", "ONE_OFF", "has the date '2027-02-30', which is not a real date"),
    ("2027-01-15", "ONE_OFF", 'gives a day but no time (did you mean "2027-01-15 at 9am"?)'),
    ("every monday", "SCHEDULED", 'does not say at what time (did you mean "every monday at 9am"?)'),
    ("every month", "RECURRING", 'whose length varies; use a calendar instead, e.g. "every month on the 1st at 9am"'),
    (
        "every month on the 31st at 9am",
        "SCHEDULED",
        'for the last day of every month write {"cron": "0 9 L * *"}, to skip shorter months {"cron": "0 9 31 * *"}',
    ),
    ("in 30 minutes", "SCHEDULED", "is a one-time start: use job_type ONE_OFF, or a cron for a calendar"),
    (
        "tomorrow at 9am",
        "RECURRING",
        'use job_type ONE_OFF, or give RECURRING an interval with its start, e.g. "every 2h starting tomorrow at 9am"',
    ),
    (
        "every 2h",
        "SCHEDULED",
        'is an interval: use job_type RECURRING with {"every": "2h"}, or for SCHEDULED the cron '
        '{"cron": "0 */2 * * *"}',
    ),
    ("every 2h", "ONE_OFF", "repeats: use job_type RECURRING for it"),
    ("every monday at 9am", "ONE_OFF", "repeats: use job_type SCHEDULED for it"),
    (
        "every monday at 9am",
        "RECURRING",
        "an interval of 1w would move it by an hour when Europe/Paris changes its clocks: use job_type SCHEDULED with "
        '{"cron": "0 9 * * 1"}',
    ),
    ("weekdays at 8:30", "RECURRING", "no single interval gives (it falls on several days of the week)"),
    ("every month on the 15th at 9am", "RECURRING", "no single interval gives (months differ in length)"),
    ("0 9 * * 1", "RECURRING", "is a cron expression, which fires on the calendar: use job_type SCHEDULED"),
    ("0 9 * *", "SCHEDULED", "cron '0 9 * *' has 4 fields"),
    ("*/61 * * * *", "SCHEDULED", "so it fires only at minute 0 of every hour (once an hour)"),
    ("1-0 * * * *", "ONGOING", "the minute range 1-0 runs backwards"),
    ("2027-03-28 02:30", "ONE_OFF", "does not exist in Europe/Paris: the clocks skip that hour"),
    (
        "2027-10-31 02:30",
        "ONE_OFF",
        'write the offset you mean: {"run_at": "2027-10-31T02:30:00+02:00"} (the first) or '
        '{"run_at": "2027-10-31T02:30:00+01:00"} (the second)',
    ),
    ("9999-12-31T23:59:59-14:00", "ONE_OFF", "is outside the dates accepted, 1900-01-01 to 8999-12-31 (UTC)"),
    ("9999-12-31 23:59", "ONE_OFF", "is outside the dates accepted"),
    ("every 99999999999999999999s", "RECURRING", "is too long; the longest duration accepted is '36600d'"),
    ("in 1e308 seconds", "ONE_OFF", "is not a schedule this server can read"),
    ("every 2h starting whenever", "RECURRING", "starts 'whenever', which is not a date and time"),
    ("x" * 201, "ONE_OFF", "is longer than 200 characters"),
    ("  ", "ONE_OFF", "is empty"),
]


@pytest.mark.parametrize(("text", "job_type", "message"), REFUSED)
def test_what_is_unclear_or_does_not_fit_is_refused_with_both_forms(text: str, job_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        read_schedule_text(text, job_type, PARIS, NOW)
    said = str(caught.value)
    # Every refusal shows the string form and the structured form for that job type.
    assert re.search(rf'For {job_type} write e\.g\. "[^"]+" or \{{"', said), said


def test_the_examples_in_a_refusal_are_never_in_the_past() -> None:
    with pytest.raises(ValueError, match=re.escape('"tomorrow at 9am" or {"run_at": "2026-11-23T09:00:00"}')):
        read_schedule_text("soon", "ONE_OFF", PARIS, NOW)
