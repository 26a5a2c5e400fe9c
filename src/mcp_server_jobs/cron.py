"""Cron expressions: checked with a reason a person can act on, stepped through a timezone, read aloud.

Pure functions of their arguments; instants are timezone-aware UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterError

from mcp_server_jobs.times import plural

CRON_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_CRON_HELP = (
    "use 5 fields 'minute hour day-of-month month day-of-week' (e.g. '0 9 * * 1' = Mondays at 09:00), "
    "6 fields with seconds first ('30 0 9 * * *'), or @hourly/@daily/@weekly/@monthly/@yearly"
)
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(_DAYS)}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]  # fmt: skip
_CRON_CHECK_FROM = datetime(2000, 1, 1, tzinfo=UTC)  # a leap year, so Feb 29 schedules are valid


def _cron_fields(expr: str) -> list[str]:
    """The expression's fields, aliases expanded; 5 or 6 (seconds first)."""
    return CRON_ALIASES.get(expr, expr).split()


def normalize_cron(expr: str) -> str:
    """Check a cron expression and return it with single spaces, or a ValueError saying how to fix it."""
    text = " ".join(expr.split())
    if text.lower() in CRON_ALIASES:
        text = text.lower()
    elif text.startswith("@"):
        raise ValueError(f"cron {expr!r} is not supported; {_CRON_HELP}")
    fields = _cron_fields(text)
    if len(fields) not in (5, 6):
        raise ValueError(f"cron {expr!r} has {len(fields)} fields; {_CRON_HELP}")
    try:
        croniter(" ".join(fields), _CRON_CHECK_FROM, second_at_beginning=len(fields) == 6).get_next(datetime)
    except (CroniterError, ValueError, KeyError) as exc:
        reason = "it never matches a real date" if "find next date" in str(exc) else str(exc)
        raise ValueError(f"cron {expr!r} is not valid ({reason}); {_CRON_HELP}") from exc
    for field, spec in zip(_CRON_FIELDS[-len(fields) :], fields, strict=True):
        for part in spec.lower().split(","):
            problem = _cron_part_problem(part, field)
            if problem:
                raise ValueError(f"cron {expr!r}: {problem}")
    return text


class _CronField(NamedTuple):
    name: str
    low: int
    high: int  # the highest value that fires; day-of-week also takes 7 for Sunday
    unit: str  # the `every` unit for the same spacing, '' where none is exact
    names: dict[str, int]


_CRON_FIELDS = (
    _CronField("second", 0, 59, "s", {}),
    _CronField("minute", 0, 59, "m", {}),
    _CronField("hour", 0, 23, "h", {}),
    _CronField("day-of-month", 1, 31, "d", {}),
    _CronField("month", 1, 12, "", {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)}),
    _CronField("day-of-week", 0, 6, "d", {d[:3].lower(): i for i, d in enumerate(_DAYS)}),
)
_CRON_PART = re.compile(r"^(?P<start>\*|[0-9a-z]+)(?:-(?P<end>[0-9a-z]+))?(?:/(?P<step>\d+))?$")


def _cron_value(token: str, field: _CronField) -> int | None:
    if token.isdigit():
        return int(token)
    return field.names.get(token)


def _cron_part_problem(part: str, field: _CronField) -> str | None:
    """Why one comma-separated part of a cron field would not fire as it reads; None when it would."""
    match = _CRON_PART.fullmatch(part)
    if match is None:
        return None  # L, W, # and ? forms: croniter has checked them
    start_text, end_text, step_text = match.group("start", "end", "step")
    start = field.low if start_text == "*" else _cron_value(start_text, field)
    end = _cron_value(end_text, field) if end_text else field.high if start_text == "*" or step_text else start
    if start is None or end is None:
        return None
    if start > end:
        named = {v: k for k, v in field.names.items()} if start_text.isalpha() else {}
        high, low = named.get(field.high, str(field.high)), named.get(field.low, str(field.low))
        wrap = f"{start_text}-{high},{low}-{end_text}"
        if field.name == "day-of-week" and end == 0:
            wrap = f"{start_text}-7"
        return (
            f"the {field.name} range {start_text}-{end_text} runs backwards; write it from low to high "
            f"('{end_text}-{start_text}'), or as two parts to wrap around ('{wrap}')"
        )
    step = int(step_text) if step_text else 1
    if step > end - start + 1:
        span = f"its {end - start + 1} values" if start_text == "*" else f"the range {start}-{end}"
        instead = f"write '{start}' if that is what you mean"
        if field.unit:
            noun = field.name.split("-")[0]
            instead += f", or for every {step} {noun}s use job_type RECURRING with every='{step}{field.unit}'"
        return (
            f"the step {step} in the {field.name} field is larger than {span}, so it fires only "
            f"{_only_at(field, start)}; {instead}"
        )
    return None


def _only_at(field: _CronField, value: int) -> str:
    """Where a field that matches a single value fires, as a person would say it."""
    if field.name == "day-of-week":
        return f"on {_DAYS[value % 7]}s (once a week)"
    if field.name == "month":
        return f"in {_MONTHS[value - 1]} (once a year)"
    if field.name == "day-of-month":
        return f"on day {value} of each month (once a month)"
    parent = {"second": "minute", "minute": "hour", "hour": "day"}[field.name]
    return f"at {field.name} {value} of every {parent} (once a{'n' if parent == 'hour' else ''} {parent})"


def _second_pass(when: datetime, tz: ZoneInfo) -> bool:
    """True when `when` is the second occurrence of a local time repeated by a fall-back."""
    local = when.astimezone(tz)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def next_cron(expr: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first time strictly after `after` that matches `expr` read in `tz` (UTC).

    A local time skipped by spring-forward fires at the next valid instant. A local time repeated
    by fall-back fires once when the hour is fixed (a daily 01:30 job runs once), as Vixie cron does;
    wildcard-hour expressions keep firing through the repeated hour.
    """
    fields = _cron_fields(expr)
    seconds_first = len(fields) == 6
    fixed_hour = fields[2 if seconds_first else 1] != "*"
    it = croniter(" ".join(fields), after.astimezone(tz), second_at_beginning=seconds_first)
    while True:
        candidate = it.get_next(datetime).astimezone(UTC)
        if candidate <= after or (fixed_hour and _second_pass(candidate, tz)):
            continue
        return candidate


def _day_list(field: str) -> str | None:
    """'1' → 'Monday', '1,4' → 'Monday and Thursday', '1-5' → 'weekday'; None if not simple."""
    if field in ("1-5", "mon-fri"):
        return "weekday (Monday to Friday)"
    if field in ("0,6", "6,0", "sat,sun", "sun,sat"):
        return "Saturday and Sunday"
    names = []
    for part in field.split(","):
        index = _DAY_NAMES.get(part) if not part.isdigit() else int(part) % 7
        if index is None:
            return None
        names.append(_DAYS[index])
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _stepped(part: str, field: _CronField) -> list[int] | None:
    """The values a stepped part such as '*/7' or '5-50/15' fires at; None for any other shape."""
    match = _CRON_PART.fullmatch(part)
    if match is None or not match.group("step") or not (match.group("start") == "*" or part[0].isdigit()):
        return None
    start = field.low if match.group("start") == "*" else int(match.group("start"))
    end = int(match.group("end")) if match.group("end") else field.high
    return list(range(start, end + 1, int(match.group("step"))))


def _listed(values: list[str]) -> str:
    """'0, 20 and 40'; a longer list keeps its first two and its last: '0, 7, …, 56'."""
    if len(values) > 4:
        return f"{values[0]}, {values[1]}, …, {values[-1]}"
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _describe_periodic(second: str, minute: str, hour: str) -> str | None:
    """Every-n-minutes and hourly shapes of a cron expression that fires every day, as they really fire.

    A step that does not divide its field restarts at the top of the hour (or day): '*/7' fires at
    :00, :07 … :56 and again at :00, which is not 'every 7 minutes'.
    """
    minutes = _stepped(minute, _CRON_FIELDS[1])
    hours = _stepped(hour, _CRON_FIELDS[2])
    if minute.isdigit() and hour == "*":
        return f"every hour at minute {int(minute)}"
    if minutes and hour == "*":
        step = minutes[1] - minutes[0] if len(minutes) > 1 else 60
        if minutes[0] == 0 and len(minutes) * step == 60:
            return f"every {plural(step, 'minute')}" if step < 60 else "every hour at minute 0"
        return f"at minutes {_listed([str(m) for m in minutes])} of every hour"
    if minute == "*" and hour == "*" and second == "0":
        return "every minute"
    if minute.isdigit() and hours:
        step = hours[1] - hours[0] if len(hours) > 1 else 24
        if hours[0] == 0 and len(hours) * step == 24:
            return (
                f"every {plural(step, 'hour')} at minute {int(minute)}"
                if step < 24
                else (f"every day at 00:{int(minute):02d}")
            )
        return f"every day at {_listed([f'{h:02d}:{int(minute):02d}' for h in hours])}"
    return None


def describe_cron(expr: str) -> str:
    """A plain-English reading of a cron expression ('every Monday at 09:00')."""
    fields = _cron_fields(expr)
    second = fields[0] if len(fields) == 6 else "0"
    minute, hour, dom, month, dow = (f.lower() for f in fields[-5:])
    at = ""
    if minute.isdigit() and hour.isdigit() and second.isdigit():
        at = f"{int(hour):02d}:{int(minute):02d}" + (f":{int(second):02d}" if int(second) else "")
    if at and dom == "*" and month == "*":
        if dow == "*":
            return f"every day at {at}"
        days = _day_list(dow)
        if days:
            return f"every {days} at {at}"
    if at and dom.isdigit() and dow == "*":
        if month == "*":
            return f"on day {int(dom)} of every month at {at}"
        if month.isdigit() and 1 <= int(month) <= 12:
            return f"every year on {int(dom)} {_MONTHS[int(month) - 1]} at {at}"
    if (dom, month, dow) == ("*", "*", "*") and second in ("0", "*"):
        periodic = _describe_periodic(second, minute, hour)
        if periodic:
            return periodic
    return f"on the cron schedule '{expr}'"
