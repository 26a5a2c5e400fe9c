"""The read-decide-write loop every writer of a job runs: on a Conflict, read again and decide again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from mcp_server_jobs.errors import Conflict

J = TypeVar("J")
T = TypeVar("T")

TRIES = 5
"""Attempts in all; more conflicts than this in a row means a writer is stuck, which the caller reports."""


async def retried_on_conflict(
    read: Callable[[], Awaitable[J]], write: Callable[[J], Awaitable[T]], first: J | None = None
) -> T:
    """`write(read())`, read again and retried while another writer changed the job in between (Conflict).

    `first`: what the caller already read, used for the first attempt instead of reading.
    """
    current = first if first is not None else await read()
    for _ in range(TRIES - 1):
        try:
            return await write(current)
        except Conflict:
            current = await read()
    return await write(current)
