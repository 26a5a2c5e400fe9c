"""A schedule written as a short English phrase or a cron line, read into the structured fields.

'every monday at 9am', 'weekdays at 8:30', 'every 2h', 'in 30 minutes', 'tomorrow at 9am',
'2027-01-15 09:00' or '0 9 * * 1' become the fields a client would have written ({"cron": ...},
{"every": ...}, {"run_at": ...}, {"delay": ...}). Anything that could mean two things is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mcp_server_jobs.cron import normalize_cron
from mcp_server_jobs.times import EARLIEST, LATEST, format_local, parse_duration, short_duration

MAX_TEXT = 200
_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_SHORT_DAYS = {"tues": 2, "wednes": 3, "thur": 4, "thurs": 4}
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")  # fmt: skip
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?s?)"
_DAY_LIST = rf"(?:{_WEEKDAY}(?:\s+(?:and\s+|&\s+)?{_WEEKDAY})*)"
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY_OF_MONTH = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:\s+(?P<year>\d{4}))?"
_NAMED_DATES = [
    re.compile(rf"^(?:the\s+)?{_DAY_OF_MONTH}\s+(?:of\s+)?{_MONTH}{_YEAR}$"),
    re.compile(rf"^{_MONTH}\s+(?:the\s+)?{_DAY_OF_MONTH}{_YEAR}$"),
]
_CLOCK = r"(?:noon|midnight|\d{1,2}(?::\d{2})?\s?(?:am|pm)|\d{1,2}:\d{2}|\d{1,2})"
_ORDINAL = r"(?P<dom>\d{1,2})(?:st|nd|rd|th)?"
_START = re.compile(r"^(?P<repeat>.+?)\s+(?:starting|from|beginning)\s+(?P<start>.+)$")
_WEEKLY = [
    re.compile(rf"^(?P<every>every|each)\s+(?P<days>day|weekdays?|weekends?|{_DAY_LIST})\s+(?:at\s+)?(?P<time>{_CLOCK})$"),
    re.compile(rf"^(?:on\s+)?(?P<days>daily|weekdays?|weekends?|{_DAY_LIST})\s+(?:at\s+)?(?P<time>{_CLOCK})$"),
    re.compile(rf"^(?:at\s+)?(?P<time>{_CLOCK})\s+(?:(?P<every>every\s+|each\s+)|on\s+)?(?P<days>daily|day|weekdays?|"
               rf"weekends?|{_DAY_LIST})$"),
]  # fmt: skip
_MONTHLY = [
    re.compile(rf"^(?:every|each)\s+month\s+on\s+(?:the\s+)?{_ORDINAL}\s+(?:at\s+)?(?P<time>{_CLOCK})$"),
    re.compile(rf"^monthly\s+on\s+(?:the\s+)?{_ORDINAL}\s+(?:at\s+)?(?P<time>{_CLOCK})$"),
    re.compile(
        rf"^(?:on\s+)?(?:the\s+|day\s+)?{_ORDINAL}\s+of\s+(?:every|each)\s+month\s+(?:at\s+)?(?P<time>{_CLOCK})$"
    ),
]
_DATE_THEN_TIME = re.compile(rf"^(?:on\s+)?(?P<date>.+?)\s+(?:at\s+)?(?P<time>{_CLOCK})$")
_TIME_THEN_DATE = re.compile(rf"^(?:at\s+)?(?P<time>{_CLOCK})\s+(?:on\s+)?(?P<date>.+)$")
_TIME_ONLY = re.compile(rf"^(?:at\s+|today\s+at\s+)?(?P<time>{_CLOCK})$")
_SLASHED = re.compile(r"\b\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?\b")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}")
_CRON_TOKEN = re.compile(r"^[0-9*?/,\-#lw]+$|^[a-z]{3}(?:[-,][a-z]{3})*$")
_PLURAL_DAYS = re.compile(rf"^(?:on\s+)?(?:{_DAY_LIST}|weekdays?|weekends?)$")
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


class _Reader:
    """One reading of a schedule text: the text, the job type it is for and the moment it is read."""

    def __init__(self, text: str, job_type: str, tz: ZoneInfo, now: datetime) -> None:
        self.text = text
        self.job_type = job_type
        self.tz = tz
        self.now = now.astimezone(tz)
        cleaned = text.strip().lower().replace("a.m.", "am").replace("p.m.", "pm").replace(",", " ")
        self.words = " ".join(cleaned.split()).rstrip(".").strip()

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

    # --- the pieces of a text ---------------------------------------------------------------------

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
        if every and not re.fullmatch(rf"(?:{_DAY_LIST}|weekdays?|weekends?)", every.group("length")):
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

    def clock(self, text: str) -> time:
        """A time of day: '9am', '9:30 pm', '17:00', 'noon'; a bare hour is refused as ambiguous."""
        if text in ("noon", "midnight"):
            return time(12 if text == "noon" else 0)
        match = re.fullmatch(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<half>am|pm)?", text)
        assert match is not None  # the patterns only hand over what _CLOCK matched
        hour, minute, half = int(match.group("h")), int(match.group("m") or 0), match.group("half")
        if half is None and match.group("m") is None and not 13 <= hour <= 23:
            raise self.refuse(
                f"gives the hour {hour} without minutes or am/pm, which could mean {hour:02d}:00 or "
                f"{(hour + 12) % 24:02d}:00; write e.g. '{hour}am', '{hour}pm' or '{hour:02d}:00'"
                if hour <= 12
                else f"gives the hour {hour}, which is not a time of day (00:00 to 23:59)"
            )
        if half and not 1 <= hour <= 12:
            raise self.refuse(f"has the time {text!r}: with am/pm the hour is 1 to 12; write e.g. '{hour}:00'")
        if half:
            hour = hour % 12 + (12 if half == "pm" else 0)
        if hour > 23 or minute > 59:
            raise self.refuse(f"has the time {text!r}, which is not a time of day (00:00 to 23:59)")
        return time(hour, minute)

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

    def moment(self, words: str) -> datetime | None:
        """The one date and time `words` name, in the job's timezone; None when they name none."""
        if re.fullmatch(r"\d+(?:\.\d+)?", words):
            raise self.unreadable()
        if _ISO_DATETIME.match(words):
            return self.iso(words.upper())
        whole = self.day(words)
        if whole is not None:
            raise self.refuse("gives a day but no time", example=f"{words} at 9am")
        match = _TIME_ONLY.fullmatch(words)
        if match:
            return self.next_local(self.clock(match.group("time")), lambda d: True)
        for pattern in (_DATE_THEN_TIME, _TIME_THEN_DATE):
            match = pattern.fullmatch(words)
            if match:
                day = self.day(match.group("date"))
                if day is not None:
                    when = self.local(datetime.combine(day, self.clock(match.group("time"))))
                    # 'sunday at 10:30' said on a Sunday at 11:00 means next week's.
                    if when <= self.now and re.fullmatch(rf"(?:on\s+|this\s+)?{_WEEKDAY}", match.group("date")):
                        when = self.local(datetime.combine(day + timedelta(weeks=1), when.time()))
                    return when
        return None

    def day(self, words: str) -> date | None:
        """The calendar day `words` name ('tomorrow', 'next friday', '15 january 2027'), or None."""
        today = self.now.date()
        words = words.removeprefix("on ").strip()
        if words in ("today", "tonight", "tomorrow"):
            return today + timedelta(days=words == "tomorrow")
        if words == "the day after tomorrow":
            return today + timedelta(days=2)
        if _SLASHED.search(words):
            raise self.refuse(
                "writes a date with slashes or dots, where day and month swap places from one country to the "
                "next; write it as YYYY-MM-DD, e.g. '2027-02-01 09:00'"
            )
        if _ISO_DATE.fullmatch(words):
            try:
                return date.fromisoformat(words)
            except ValueError as exc:
                raise self.refuse(f"has the date {words!r}, which is not a real date") from exc
        weekday = re.fullmatch(rf"(?P<next>next\s+|this\s+)?(?P<name>{_WEEKDAY})", words)
        if weekday and not weekday.group("name").endswith("days"):
            target = _day_number(weekday.group("name"))
            ahead = ((target - (today.weekday() + 1)) % 7) or (7 if weekday.group("next") else 0)
            return today + timedelta(days=ahead)
        return self.named_date(words)

    def named_date(self, words: str) -> date | None:
        """'15 january 2027', 'january 15th', 'jan 15 2027'; without a year, the next such day."""
        match = next((m for m in (p.fullmatch(words) for p in _NAMED_DATES) if m), None)
        if match is None:
            return None
        month, dom = _month_number(match.group("month")), int(match.group("day"))
        years = [int(match.group("year"))] if match.group("year") else [self.now.year, self.now.year + 1]
        for year in years:
            try:
                candidate = date(year, month, dom)
            except ValueError:
                continue
            if match.group("year") or candidate >= self.now.date():
                return candidate
        raise self.refuse(f"has the date {words!r}, which is not a real date")

    def iso(self, text: str) -> datetime:
        """An ISO 8601 date and time; one without an offset is read in the job's timezone."""
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            self.day(text[:10])  # refuses a day that does not exist, such as 2027-02-30
            raise self.refuse("is not a date and time; write it as YYYY-MM-DD HH:MM, e.g. '2027-01-15 09:00'") from exc
        if parsed.tzinfo is not None:
            self.check_range(parsed)
            return parsed
        return self.local(parsed)

    def check_range(self, when: datetime) -> None:
        try:
            instant = when.astimezone(UTC)
        except OverflowError:
            instant = None
        if instant is None or not EARLIEST <= instant < LATEST:
            last = LATEST - timedelta(days=1)
            raise self.refuse(f"is outside the dates accepted, {EARLIEST:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)")

    def local(self, naive: datetime) -> datetime:
        """`naive` read in the job's timezone; a time the clocks skip or repeat is refused."""
        aware = naive.replace(tzinfo=self.tz)
        self.check_range(aware)
        if aware.astimezone(UTC).astimezone(self.tz).replace(tzinfo=None) != naive:
            raise self.refuse(
                f"names {naive:%Y-%m-%d %H:%M}, which does not exist in {self.tz.key}: the clocks skip that hour; "
                "pick a time outside it"
            )
        second = aware.replace(fold=1)
        if second.utcoffset() != aware.utcoffset():
            first_text, second_text = format_local(aware, self.tz), second.isoformat(timespec="seconds")
            raise self.refuse(
                f"names {naive:%Y-%m-%d %H:%M}, which happens twice in {self.tz.key} as the clocks go back; "
                f'write the offset you mean: {{"run_at": "{first_text}"}} (the first) or '
                f'{{"run_at": "{second_text}"}} (the second)'
            )
        return aware

    def next_local(self, at: time, wanted: Callable[[date], bool]) -> datetime:
        """The next time of day `at`, strictly after now, on a day `wanted(day)` accepts."""
        day = self.now.date()
        for _ in range(9):
            if wanted(day):
                candidate = self.local(datetime.combine(day, at))
                if candidate > self.now:
                    return candidate
            day += timedelta(days=1)
        raise AssertionError("a weekday comes back within 8 days")

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

    # --- refusals ---------------------------------------------------------------------------------

    def refuse(self, reason: str, *, example: str | None = None, quoted: bool = True) -> ValueError:
        """The refusal of the text, for `reason`, with the forms that job type takes."""
        shown = json.dumps(self.text if len(self.text) <= 60 else self.text[:57] + "...")
        tip = f' (did you mean "{example}"?)' if example else ""
        text = f"{shown} {reason}{tip}" if quoted else reason.rstrip(".")
        return ValueError(f"{text}. For {self.job_type} write e.g. {self.examples()}")

    def unreadable(self) -> ValueError:
        if re.fullmatch(r"\d+(?:\.\d+)?", self.words):
            return self.refuse(
                "is a bare number, which could be an hour, a day or a number of minutes; say which, e.g. "
                f'"at {self.words}am", "in {self.words} minutes"'
            )
        return self.refuse("is not a schedule this server can read")

    def examples(self) -> str:
        tomorrow = (self.now + timedelta(days=1)).date().isoformat()
        forms = {
            "ONE_OFF": f'"tomorrow at 9am" or {{"run_at": "{tomorrow}T09:00:00"}}, "in 30 minutes" or '
            '{"delay": "30m"}',
            "SCHEDULED": '"every monday at 9am" or {"cron": "0 9 * * 1"}, "weekdays at 8:30" or '
            '{"cron": "30 8 * * 1-5"}',
            "RECURRING": '"every 2h" or {"every": "2h"}, "every 30 minutes starting tomorrow at 9am" or '
            f'{{"every": "30m", "run_at": "{tomorrow}T09:00:00"}}',
            "ONGOING": '"every 2h" or {"every": "2h"}, "every day at 9am" or {"cron": "0 9 * * *"}',
        }
        return forms.get(self.job_type, forms["SCHEDULED"]) + "."


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


def _day_number(name: str) -> int:
    """0 for Sunday … 6 for Saturday, from a full, short or plural day name."""
    stem = name.removesuffix("s").removesuffix("day")
    if stem in _SHORT_DAYS:
        return _SHORT_DAYS[stem]
    return next(i for i, full in enumerate(_NAMES) if full.startswith(stem[:3]))


def _month_number(name: str) -> int:
    return next(i + 1 for i, full in enumerate(_MONTH_NAMES) if full.startswith(name[:3]))


def _days(text: str) -> str:
    """The cron day-of-week field for 'day', 'weekdays', 'weekends' or a list of day names."""
    if text in ("day", "daily"):
        return "*"
    if text.startswith("weekday"):
        return "1-5"
    if text.startswith("weekend"):
        return "0,6"
    names = [w for w in re.split(r"\s+|&", text) if w and w != "and"]
    return ",".join(str(n) for n in sorted({_day_number(w) for w in names}))


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
