"""Time as people write it: durations ('2h', 'PT30M'), ISO 8601 datetimes, IANA timezones, and back.

Pure functions of their arguments. Instants are timezone-aware UTC; a timezone only decides how a
naive datetime is read and how an instant is shown.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
        return plural(seconds // 604800, "week")
    parts = []
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(plural(count, name))
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


def plural(count: int, word: str) -> str:
    """'1 run', '3 runs'."""
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
