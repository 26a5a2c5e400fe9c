"""A job's schedule: when it fires, from a given time on, and the sentence a person confirms.

Everything here is a pure function of its arguments; the current time is always passed in.
Instants are timezone-aware UTC; a schedule's timezone only decides how cron fields are read and
how times are shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from mcp_server_jobs.cron import describe_cron, next_cron
from mcp_server_jobs.times import human_duration, plural

# The most runs a schedule may ask for.
MAX_RUNS = 100_000


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
            text += f", at most {plural(self.max_runs, 'run')}"
        return text
