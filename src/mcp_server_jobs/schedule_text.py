"""A schedule written as a short English phrase or a cron line, read into the structured fields.

'every monday at 9am', 'weekdays at 8:30', 'every 2h', 'in 30 minutes', 'tomorrow at 9am',
'2027-01-15 09:00' or '0 9 * * 1' become the fields a client would have written ({"cron": ...},
{"every": ...}, {"run_at": ...}, {"delay": ...}). Anything that could mean two things is refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from mcp_server_jobs.cron import normalize_cron
from mcp_server_jobs.schedule_dates import CLOCK, DAY_LIST, DateReader, day_number
from mcp_server_jobs.times import format_local, parse_duration, short_duration

MAX_TEXT = 200
_ORDINAL = r"(?P<dom>\d{1,2})(?:st|nd|rd|th)?"
_START = re.compile(r"^(?P<repeat>.+?)\s+(?:starting|from|beginning)\s+(?P<start>.+)$")
_WEEKLY = [
    re.compile(rf"^(?P<every>every|each)\s+(?P<days>day|weekdays?|weekends?|{DAY_LIST})\s+(?:at\s+)?(?P<time>{CLOCK})$"),
    re.compile(rf"^(?:on\s+)?(?P<days>daily|weekdays?|weekends?|{DAY_LIST})\s+(?:at\s+)?(?P<time>{CLOCK})$"),
    re.compile(rf"^(?:at\s+)?(?P<time>{CLOCK})\s+(?:(?P<every>every\s+|each\s+)|on\s+)?(?P<days>daily|day|weekdays?|"
               rf"weekends?|{DAY_LIST})$"),
]  # fmt: skip
_MONTHLY = [
    re.compile(rf"^(?:every|each)\s+month\s+on\s+(?:the\s+)?{_ORDINAL}\s+(?:at\s+)?(?P<time>{CLOCK})$"),
    re.compile(rf"^monthly\s+on\s+(?:the\s+)?{_ORDINAL}\s+(?:at\s+)?(?P<time>{CLOCK})$"),
    re.compile(
        rf"^(?:on\s+)?(?:the\s+|day\s+)?{_ORDINAL}\s+of\s+(?:every|each)\s+month\s+(?:at\s+)?(?P<time>{CLOCK})$"
    ),
]
_CRON_TOKEN = re.compile(r"^[0-9*?/,\-#lw]+$|^[a-z]{3}(?:[-,][a-z]{3})*$")
_PLURAL_DAYS = re.compile(rf"^(?:on\s+)?(?:{DAY_LIST}|weekdays?|weekends?)$")
_NOW = frozenset({"now", "right now", "asap", "immediately", "right away"})


@dataclass(frozen=True)
class _Interval:
    """Runs a fixed length of time apart."""

    every: timedelta


@dataclass(frozen=True)
class _Calendar:
    """Runs at times on the calendar, as a cron expression."""

    cron: str
    # The same schedule as an interval from a first run, when it is one (one weekday, or daily).
    period: timedelta | None = None
    first: datetime | None = None
    # Why it is not one, when `period` is None.
    why_not_interval: str = "it falls on several days of the week"


def read_schedule_text(text: str, job_type: str, tz: ZoneInfo, now: datetime) -> dict[str, str]:
    """The structured schedule fields `text` stands for in a `job_type` job; a ValueError when unclear.

    Times are read in `tz`; `now` decides what 'tomorrow' or 'in 30 minutes' mean. A date/time in
    the past is returned as it is (the caller refuses it).
    """
    reader = _Reader(text, job_type, tz, now)
    return reader.read()


class _Reader(DateReader):
    """The schedule a text names, repeating or once, fitted to the job type it is for."""

    def read(self) -> dict[str, str]:
        if len(self.text) > MAX_TEXT:
            raise self.refuse(f"is longer than {MAX_TEXT} characters")
        if not self.words:
            raise self.refuse("is empty")
        if _is_cron(" ".join(self.text.lower().split())):
            try:
                cron = normalize_cron(" ".join(self.text.split()))
            except ValueError as exc:
                raise self.refuse(str(exc), quoted=False) from exc
            return self.fit_cron(cron)
        if self.words in _NOW:
            return self.fit_once({})
        start = _START.fullmatch(self.words)
        if start:
            repeat = self.repeat(start.group("repeat"))
            if repeat is not None:
                return self.fit_repeat(repeat, self.start_fields(start.group("start")))
        repeat = self.repeat(self.words)
        if repeat is not None:
            return self.fit_repeat(repeat, {})
        if self.words.startswith("in "):
            return self.fit_once({"delay": short_duration(self.duration(self.words[3:]))})
        moment = self.moment(self.words)
        if moment is not None:
            return self.fit_once({"run_at": format_local(moment, self.tz)})
        raise self.unreadable()

    # --- repeats, lengths of time and starts -------------------------------------------------------

    def repeat(self, words: str) -> _Interval | _Calendar | None:
        """The repeating schedule `words` describe, or None when they describe none."""
        for pattern in _WEEKLY:
            match = pattern.fullmatch(words)
            if match and (match.groupdict().get("every") or _repeats(match.group("days"))):
                return self.weekly(match.group("days"), self.clock(match.group("time")))
        for pattern in _MONTHLY:
            match = pattern.fullmatch(words)
            if match:
                return self.monthly(int(match.group("dom")), self.clock(match.group("time")))
        every = re.fullmatch(r"(?:every|each)\s+(?P<length>.+)", words)
        if every and not re.fullmatch(rf"(?:{DAY_LIST}|weekdays?|weekends?)", every.group("length")):
            return _Interval(self.duration(every.group("length")))
        if words in ("hourly", "daily", "weekly"):
            return _Interval(timedelta(hours={"hourly": 1, "daily": 24, "weekly": 168}[words]))
        if every or (_PLURAL_DAYS.fullmatch(words) and _repeats(words.removeprefix("on "))):
            raise self.refuse("repeats but does not say at what time", example=f"{words} at 9am")
        return None

    def weekly(self, days_text: str, at: time) -> _Calendar:
        """A schedule on some days of the week (or every day) at one time of day."""
        days = _days(days_text)
        cron = f"{at.minute} {at.hour} * * {days}"
        if days == "*":
            return _Calendar(cron, timedelta(days=1), self.next_local(at, lambda d: True))
        if days.isdigit():
            weekday = int(days)
            first = self.next_local(at, lambda d: (d.weekday() + 1) % 7 == weekday)
            return _Calendar(cron, timedelta(weeks=1), first)
        return _Calendar(cron)

    def monthly(self, dom: int, at: time) -> _Calendar:
        if not 1 <= dom <= 31:
            raise self.refuse(f"names day {dom} of the month, which no month has")
        if dom > 28:
            raise self.refuse(
                f"falls on day {dom}, which some months do not have, so it is unclear whether those months are "
                f'skipped or run on their last day; for the last day of every month write {{"cron": '
                f'"{at.minute} {at.hour} L * *"}}, to skip shorter months {{"cron": "{at.minute} {at.hour} {dom} * *"}}'
            )
        return _Calendar(f"{at.minute} {at.hour} {dom} * *", why_not_interval="months differ in length")

    def duration(self, text: str) -> timedelta:
        """'30 minutes', 'an hour', '1 hour and 30 minutes', '2h': a length of time."""
        words = re.sub(r"\b(?:an?|one)\s+", "1 ", text)
        words = re.sub(r"\bhalf\s+1\s+hour\b", "30 minutes", words)
        words = re.sub(r"\b(?:and|&)\b", " ", words)
        if re.fullmatch(r"[a-z]+", words.strip()):
            words = "1 " + words  # 'every hour'
        if re.search(r"\b(?:months?|years?)\b", words):
            raise self.refuse(
                "counts in months or years, whose length varies; use a calendar instead, e.g. "
                '"every month on the 1st at 9am" or {"cron": "0 9 1 * *"}'
            )
        try:
            return parse_duration(words)
        except ValueError as exc:
            if "too long" in str(exc):
                raise self.refuse("is " + str(exc).split(" is ", 1)[1]) from exc
            raise self.unreadable() from exc

    def start_fields(self, words: str) -> dict[str, str]:
        """The first run a '... starting <when>' clause names: run_at, delay, or nothing for 'now'."""
        if words in _NOW:
            return {}
        if words.startswith("in "):
            return {"delay": short_duration(self.duration(words[3:]))}
        moment = self.moment(words)
        if moment is None:
            raise self.refuse(
                f"starts {words!r}, which is not a date and time", example="every 2h starting tomorrow at 9am"
            )
        return {"run_at": format_local(moment, self.tz)}

    # --- fitting a reading to the job type --------------------------------------------------------

    def fit_cron(self, cron: str) -> dict[str, str]:
        if self.job_type in ("SCHEDULED", "ONGOING"):
            return {"cron": cron}
        if self.job_type == "RECURRING":
            raise self.refuse(
                "is a cron expression, which fires on the calendar: use job_type SCHEDULED for it, or give "
                "RECURRING an interval"
            )
        raise self.refuse("is a cron expression, which repeats: use job_type SCHEDULED for it")

    def fit_repeat(self, repeat: _Interval | _Calendar, start: dict[str, str]) -> dict[str, str]:
        if self.job_type == "ONE_OFF":
            kind = "RECURRING" if isinstance(repeat, _Interval) else "SCHEDULED"
            raise self.refuse(f"repeats: use job_type {kind} for it, or give ONE_OFF a single time")
        if isinstance(repeat, _Interval):
            if self.job_type == "SCHEDULED":
                raise self.refuse(self.interval_on_calendar(repeat.every))
            return {"every": short_duration(repeat.every), **start}
        if self.job_type != "RECURRING":
            return {"cron": repeat.cron, **start}
        if repeat.period is None or repeat.first is None:
            raise self.refuse(
                f"is a calendar schedule that no single interval gives ({repeat.why_not_interval}): use job_type "
                f'SCHEDULED with {{"cron": "{repeat.cron}"}}'
            )
        if not _fixed_offset(self.tz, self.now):
            raise self.refuse(
                f"is a time on the calendar, and an interval of {short_duration(repeat.period)} would move it by an "
                f"hour when {self.tz.key} changes its clocks: use job_type SCHEDULED with "
                f'{{"cron": "{repeat.cron}"}}'
            )
        if start:
            raise self.refuse("already says when it first runs; drop the 'starting ...' part")
        return {"every": short_duration(repeat.period), "run_at": format_local(repeat.first, self.tz)}

    def fit_once(self, fields: dict[str, str]) -> dict[str, str]:
        if self.job_type == "ONE_OFF":
            return fields
        what = "is a one-time start: use job_type ONE_OFF"
        if self.job_type == "SCHEDULED":
            raise self.refuse(f"{what}, or a cron for a calendar")
        first = "every 2h starting " + (" ".join(self.text.split()) if self.words not in _NOW else "now")
        raise self.refuse(f"{what}, or give {self.job_type} an interval with its start, e.g. {json.dumps(first)}")

    def interval_on_calendar(self, every: timedelta) -> str:
        """Why an interval is refused for SCHEDULED, with the cron that fires alike when there is one."""
        text = f'is an interval: use job_type RECURRING with {{"every": "{short_duration(every)}"}}'
        cron = _cron_for(every)
        return text + (f', or for SCHEDULED the cron {{"cron": "{cron}"}}, which keeps to the clock' if cron else "")


def _is_cron(words: str) -> bool:
    """Whether the text is a cron line (5 or 6 fields of cron characters, or an @alias)."""
    if words.startswith("@"):
        return True
    fields = words.split()
    return (
        3 <= len(fields) <= 7
        and all(_CRON_TOKEN.fullmatch(f) for f in fields)
        and any(c.isdigit() or c == "*" for c in words)
    )


def _repeats(days: str) -> bool:
    """Whether days named without 'every' repeat: 'daily', 'weekdays', 'mondays' do; 'monday' does not."""
    if days in ("daily", "day") or days.startswith(("weekday", "weekend")):
        return days != "day"
    names = [w for w in re.split(r"\s+|&", days) if w and w != "and"]
    return all(n.endswith("days") for n in names)


def _days(text: str) -> str:
    """The cron day-of-week field for 'day', 'weekdays', 'weekends' or a list of day names."""
    if text in ("day", "daily"):
        return "*"
    if text.startswith("weekday"):
        return "1-5"
    if text.startswith("weekend"):
        return "0,6"
    names = [w for w in re.split(r"\s+|&", text) if w and w != "and"]
    return ",".join(str(n) for n in sorted({day_number(w) for w in names}))


def _cron_for(every: timedelta) -> str | None:
    """A cron that fires as evenly as `every` and keeps to the clock, when there is one."""
    seconds = int(every.total_seconds())
    if seconds % 60 == 0 and 60 <= seconds < 3600 and 3600 % seconds == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds == 3600:
        return "0 * * * *"
    if seconds % 3600 == 0 and seconds < 86400 and 86400 % seconds == 0:
        return f"0 */{seconds // 3600} * * *"
    return {86400: "0 0 * * *", 604800: "0 0 * * 0"}.get(seconds)


def _fixed_offset(tz: ZoneInfo, now: datetime) -> bool:
    """Whether `tz` keeps one UTC offset over the coming year (no daylight-saving changes)."""
    offset = now.astimezone(tz).utcoffset()
    return all((now + timedelta(weeks=w)).astimezone(tz).utcoffset() == offset for w in range(54))
