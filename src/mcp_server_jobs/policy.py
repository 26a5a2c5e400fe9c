"""The scheduler's limits and timings: each default written here once; `Settings` takes its own from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    """The scheduler's limits and timings."""

    max_concurrency: int = 5
    sweep_seconds: float = 30.0
    lease_seconds: float = 30.0
    run_timeout: float = 600.0  # seconds
    max_attempts: int = 3
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_consecutive_failures: int = 5
    grace_cap_seconds: float = 3600.0
    no_backend_max_seconds: float = 300.0
    max_inbox_messages: int = 10_000  # per user; older ones go, read ones first
    webhook_attempts: int = 12
    webhook_retry_seconds: float = 10.0
    # How often a serving process looks for runs asked of it and for webhook deliveries due.
    watch_seconds: float = 1.0

    def backoff(self, attempt: int, asked: float | None = None) -> timedelta:
        """The wait before retrying after failed attempt number `attempt` (1, 2, ...).

        At least what the provider `asked` for (Retry-After), but never more than the cap.
        """
        seconds = max(self.retry_base_seconds * 2 ** (attempt - 1), asked or 0.0)
        return timedelta(seconds=min(seconds, self.retry_max_seconds))

    def webhook_backoff(self, attempt: int) -> timedelta:
        """The wait before posting a message again after failed attempt number `attempt`."""
        return timedelta(seconds=min(self.webhook_retry_seconds * 2 ** (attempt - 1), self.retry_max_seconds))

    def grace(self, period: timedelta | None) -> timedelta:
        """How late an occurrence may still run: half its period, at most the cap."""
        cap = timedelta(seconds=self.grace_cap_seconds)
        return cap if period is None else min(period / 2, cap)
