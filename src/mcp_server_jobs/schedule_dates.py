"""The days and times of day in a schedule text: '9am', 'noon', 'tomorrow', 'next friday', '15 january 2027'.

Read in the job's timezone at a given moment; a time the clocks skip or repeat, a date with slashes or
an hour without am/pm is refused with the form to write instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mcp_server_jobs.times import EARLIEST, LATEST, format_local

_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_SHORT_DAYS = {"tues": 2, "wednes": 3, "thur": 4, "thurs": 4}
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")  # fmt: skip
WEEKDAY = r"(?:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?s?)"
DAY_LIST = rf"(?:{WEEKDAY}(?:\s+(?:and\s+|&\s+)?{WEEKDAY})*)"
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
CLOCK = r"(?:noon|midnight|\d{1,2}(?::\d{2})?\s?(?:am|pm)|\d{1,2}:\d{2}|\d{1,2})"
_DATE_THEN_TIME = re.compile(rf"^(?:on\s+)?(?P<date>.+?)\s+(?:at\s+)?(?P<time>{CLOCK})$")
_TIME_THEN_DATE = re.compile(rf"^(?:at\s+)?(?P<time>{CLOCK})\s+(?:on\s+)?(?P<date>.+)$")
_TIME_ONLY = re.compile(rf"^(?:at\s+|today\s+at\s+)?(?P<time>{CLOCK})$")
_SLASHED = re.compile(r"\b\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?\b")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}")


class DateReader:
    """One reading of a schedule text: the text, the job type it is for, the moment it is read; its dates."""

    def __init__(self, text: str, job_type: str, tz: ZoneInfo, now: datetime) -> None:
        self.text = text
        self.job_type = job_type
        self.tz = tz
        self.now = now.astimezone(tz)
        cleaned = text.strip().lower().replace("a.m.", "am").replace("p.m.", "pm").replace(",", " ")
        self.words = " ".join(cleaned.split()).rstrip(".").strip()

    def clock(self, text: str) -> time:
        """A time of day: '9am', '9:30 pm', '17:00', 'noon'; a bare hour is refused as ambiguous."""
        if text in ("noon", "midnight"):
            return time(12 if text == "noon" else 0)
        match = re.fullmatch(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s?(?P<half>am|pm)?", text)
        assert match is not None  # the patterns only hand over what CLOCK matched
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
                    if when <= self.now and re.fullmatch(rf"(?:on\s+|this\s+)?{WEEKDAY}", match.group("date")):
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
        weekday = re.fullmatch(rf"(?P<next>next\s+|this\s+)?(?P<name>{WEEKDAY})", words)
        if weekday and not weekday.group("name").endswith("days"):
            target = day_number(weekday.group("name"))
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


def day_number(name: str) -> int:
    """0 for Sunday … 6 for Saturday, from a full, short or plural day name."""
    stem = name.removesuffix("s").removesuffix("day")
    if stem in _SHORT_DAYS:
        return _SHORT_DAYS[stem]
    return next(i for i, full in enumerate(_NAMES) if full.startswith(stem[:3]))


def _month_number(name: str) -> int:
    return next(i + 1 for i, full in enumerate(_MONTH_NAMES) if full.startswith(name[:3]))
