"""Crash points for the crash tests: a test sets MCP_JOBS_CRASH_AT to kill the server at a named step."""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    """Die at once, as from kill -9, when the environment names this point (never set in real use)."""
    if os.environ.get("MCP_JOBS_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
