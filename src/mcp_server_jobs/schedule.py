"""Schedule arithmetic: durations, datetimes, cron, intervals and their plain-English sentences.

Everything here is a pure function of its arguments; the current time is always passed in.
Instants are timezone-aware UTC; a schedule's timezone only decides how cron fields and naive
datetimes are read and how times are shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError
from pydantic import BaseModel, ConfigDict, Field

_UNIT_SECONDS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_SHORT_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_SHORT = re.compile(r"^(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_DURATION_HELP = "write e.g. '90s', '30m', '2h', '3d', '1w', '1h30m', ISO 8601 'PT30M' / 'P3D', or a number of seconds"
# Longer than any schedule field takes (each has its own, smaller bound), short enough that adding it to
# any accepted datetime stays inside the calendar.
MAX_DURATION = timedelta(days=36_600)
# The datetimes accepted: far enough from datetime's limits that a timezone shift, a default end
# (+30 days) or a few intervals of up to 366 days never overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_duration(value: str | float, *, field: str = "duration") -> timedelta:
    """Read a duration: '90s', '30m', '2h', '3d', '1w', '1h30m', ISO 'PT30M' / 'P3D', or seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: {_shown(value)} is not a duration; {_DURATION_HELP}")
    if isinstance(value, int | float):
        # float() of an int past 1e308 raises OverflowError; anything that large is too long anyway.
        too_big = isinstance(value, int) and abs(value) > 10**15
        seconds = (math.inf if value > 0 else -math.inf) if too_big else float(value)
    else:
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _SHORT.fullmatch(text):
            seconds = 0.0
            for number, unit in _SHORT_PART.findall(text):
                if unit not in _UNIT_SECONDS:
                    raise ValueError(f"{field}: unknown unit {unit!r} in {_shown(value)}; {_DURATION_HELP}")
                seconds += float(number) * _UNIT_SECONDS[unit]
        elif text.startswith("p"):
            seconds = _iso_seconds(text.upper(), value, field)
        else:
            raise ValueError(f"{field}: {_shown(value)} is not a duration; {_DURATION_HELP}")
    if math.isnan(seconds):
        raise ValueError(f"{field}: {_shown(value)} is not a number of seconds; {_DURATION_HELP}")
    if seconds < 0:
        raise ValueError(f"{field}: {_shown(value)} is negative; durations count forward, e.g. '30m'")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"{field}: {_shown(value)} is too long; the longest duration accepted is "
            f"'{MAX_DURATION.days}d' (about 100 years)"
        )
    return timedelta(seconds=seconds)


def _shown(value: object) -> str:
    """`value` as written, cut short: an overlong number is echoed as its first digits."""
    text = repr(value)
    return text if len(text) <= 40 else text[:30] + f"... ({len(text)} characters)"


def _iso_seconds(text: str, value: str, field: str) -> float:
    match = _ISO.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        if any(unit in text[1:].split("T", 1)[0] for unit in "YM"):
            raise ValueError(
                f"{field}: {_shown(value)} uses years or months, whose length varies; use days ('P30D') "
                "or a cron schedule instead"
            )
        raise ValueError(f"{field}: {_shown(value)} is not a duration; {_DURATION_HELP}")
    return sum(float(v) * _UNIT_SECONDS[k] for k, v in match.groupdict().items() if v)


def human_duration(delta: timedelta) -> str:
    """'2 hours', '1 day 6 hours', '90 seconds' → reads naturally after 'every'."""
    seconds = int(delta.total_seconds())
    if seconds and seconds % 604800 == 0:
        return _plural(seconds // 604800, "week")
    parts = []
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(_plural(count, name))
    return " ".join(parts) or "0 seconds"


def short_duration(delta: timedelta) -> str:
    """The compact form that `parse_duration` reads back: '2h', '1d6h', '90s' → '1m30s'."""
    seconds = int(delta.total_seconds())
    out = ""
    for size, unit in ((604800, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            out += f"{count}{unit}"
    return out or "0s"


def seconds_text(seconds: int | None) -> str | None:
    """`short_duration` of a number of seconds; None when there is none."""
    return short_duration(timedelta(seconds=seconds)) if seconds else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def zone(name: str) -> ZoneInfo:
    """The IANA timezone called `name`, or a ValueError saying how to name one."""
    try:
        if not name or name != name.strip() or ".." in name or name.startswith("/"):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {name!r}: use an IANA name such as 'Europe/Paris', "
            "'America/New_York', 'Asia/Tokyo' or 'UTC'"
        ) from exc


def parse_datetime(value: str, tz: ZoneInfo, *, field: str = "datetime") -> datetime:
    """Read an ISO 8601 datetime; a naive one is taken in `tz`. Returns UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(
            f"{field}: {value!r} is not an ISO 8601 datetime; write e.g. '2026-11-23T09:00:00' "
            f"(read in the job's timezone, {tz.key}) or '2026-11-23T09:00:00+01:00'"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not EARLIEST <= instant < LATEST:
        raise ValueError(
            f"{field}: {value!r} is outside the dates accepted, {EARLIEST:%Y-%m-%d} to "
            f"{LATEST - timedelta(days=1):%Y-%m-%d} (UTC)"
        )
    return instant


def format_local(when: datetime, tz: ZoneInfo) -> str:
    """ISO 8601 with the offset of `tz` at that instant, to the second."""
    return when.astimezone(tz).isoformat(timespec="seconds")


# --- cron -------------------------------------------------------------------------------------

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
            return f"every {_plural(step, 'minute')}" if step < 60 else "every hour at minute 0"
        return f"at minutes {_listed([str(m) for m in minutes])} of every hour"
    if minute == "*" and hour == "*" and second == "0":
        return "every minute"
    if minute.isdigit() and hours:
        step = hours[1] - hours[0] if len(hours) > 1 else 24
        if hours[0] == 0 and len(hours) * step == 24:
            return (
                f"every {_plural(step, 'hour')} at minute {int(minute)}"
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


# --- schedules --------------------------------------------------------------------------------


class Schedule(BaseModel):
    """A normalised schedule: absolute instants in UTC, a checked cron, an interval in seconds.

    Exactly one way to fire: `cron` (SCHEDULED, or ONGOING checked on a calendar), `every_seconds`
    (RECURRING / ONGOING, counted from `run_at`), or neither (ONE_OFF, once at `run_at`).
    """

    model_config = ConfigDict(frozen=True)

    run_at: datetime | None = Field(
        default=None, description="ONE_OFF: when it runs. Interval: the first run. Cron: not before this."
    )
    cron: str | None = Field(default=None, description="Cron expression, read in `timezone`.")
    every_seconds: int | None = Field(default=None, description="Interval between runs, in seconds.")
    timezone: str = Field(description="IANA timezone for cron fields, naive datetimes and display.")
    end_at: datetime | None = Field(default=None, description="No run starts after this instant.")
    max_runs: int | None = Field(default=None, description="The job ends after this many runs.")
    timeout_seconds: int | None = Field(default=None, description="A run's time limit; None: the server's.")
    delay_seconds: int | None = Field(
        default=None, description="A dependent job's start: this long after its dependencies complete."
    )

    @property
    def tz(self) -> ZoneInfo:
        """The schedule's timezone."""
        return ZoneInfo(self.timezone)

    def first_run(self, now: datetime) -> datetime | None:
        """When the job first runs if it becomes due at `now`: never before `run_at`, never in the past."""
        start = max(now, self.run_at) if self.run_at else now
        if self.cron:
            return self._within_end(next_cron(self.cron, self.tz, start - timedelta(microseconds=1)))
        if self.every_seconds and self.run_at and now > self.run_at:
            return self.next_after(now - timedelta(microseconds=1))
        return self._within_end(start)

    def released(self, now: datetime) -> Schedule:
        """The schedule once the job's dependencies let it go at `now`: its delay counts from then."""
        if self.delay_seconds is None:
            return self
        return self.model_copy(update={"run_at": now + timedelta(seconds=self.delay_seconds)})

    def next_after(self, after: datetime) -> datetime | None:
        """The first occurrence strictly after `after`, or None when the schedule has ended."""
        if self.cron:
            return self._within_end(next_cron(self.cron, self.tz, after))
        if self.every_seconds:
            anchor = self.run_at or after
            step = timedelta(seconds=self.every_seconds)
            if after < anchor:
                return self._within_end(anchor)
            return self._within_end(anchor + ((after - anchor) // step + 1) * step)
        return None

    def upcoming(self, start: datetime | None, count: int, runs_done: int = 0) -> list[datetime]:
        """Up to `count` occurrences from `start` on (inclusive), within `end_at` and `max_runs`."""
        remaining = count if self.max_runs is None else min(count, max(self.max_runs - runs_done, 0))
        times: list[datetime] = []
        when = start
        while when is not None and len(times) < remaining:
            times.append(when)
            when = self.next_after(when)
        return times

    def period(self, around: datetime) -> timedelta | None:
        """The time between the occurrence at or before `around` and the next one; None for a one-off."""
        if self.every_seconds:
            return timedelta(seconds=self.every_seconds)
        if self.cron:
            following = next_cron(self.cron, self.tz, around)
            return next_cron(self.cron, self.tz, following) - following
        return None

    def _within_end(self, when: datetime) -> datetime | None:
        return None if self.end_at is not None and when > self.end_at else when

    def occurrences(self, after: datetime) -> Iterator[datetime]:
        """Every occurrence strictly after `after`, in order, until the schedule ends."""
        when = self.next_after(after)
        while when is not None:
            yield when
            when = self.next_after(when)

    def describe(self) -> str:
        """One sentence a person can confirm: 'every Monday at 09:00 (Europe/Paris), at most 10 runs'."""
        tz = self.tz

        def show(when: datetime) -> str:
            return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")

        waits = self.delay_seconds is not None and self.run_at is None
        after = f"{human_duration(timedelta(seconds=self.delay_seconds or 0))} after its dependencies complete"
        if self.cron:
            text = describe_cron(self.cron) + f" ({self.timezone})"
            if self.run_at or waits:
                text += f", starting {show(self.run_at) if self.run_at else after}"
        elif self.every_seconds:
            text = f"every {human_duration(timedelta(seconds=self.every_seconds))}"
            if self.run_at or waits:
                text += f" from {show(self.run_at) if self.run_at else after}"
            text += f" ({self.timezone})"
        elif self.run_at:
            text = f"once at {show(self.run_at)} ({self.timezone})"
        else:
            text = f"once, {after}" if waits else "once, as soon as possible"
        if self.end_at:
            text += f", until {show(self.end_at)}"
        if self.max_runs:
            text += f", at most {_plural(self.max_runs, 'run')}"
        return text
