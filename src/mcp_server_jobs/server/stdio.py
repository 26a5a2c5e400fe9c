"""Serving over stdio so that a signal stops the server at once, its runs recorded on the way out.

The SDK reads stdin in a worker thread, which cancellation cannot interrupt: after SIGTERM the server
would wait for the client's next line. Here stdin is read by the event loop itself (a pipe, a socket or
a terminal); anything else, such as a regular file, falls back to the SDK's reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

log = logging.getLogger("mcp_server_jobs")
# The longest message line accepted from the client (a job's context or output can be large).
_MAX_LINE = 64 * 1024 * 1024


class _Lines:
    """The client's messages, one line each, read from a pipe by the event loop."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def __aiter__(self) -> AsyncIterator[str]:
        while line := await self._reader.readline():
            yield line.decode("utf-8", errors="replace")


async def _stdin_lines() -> _Lines | None:
    """Take fd 0 over for the loop (leaving /dev/null in its place, so children read EOF), or None."""
    if not stat.S_ISFIFO(os.fstat(0).st_mode) and not stat.S_ISSOCK(os.fstat(0).st_mode):
        return None
    fd = os.dup(0)
    reader = asyncio.StreamReader(limit=_MAX_LINE)
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return _Lines(reader)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve until the client closes stdin or SIGTERM/SIGINT arrives; either way the runs in progress are
    stopped and recorded as interrupted by the shutdown before the process exits."""
    lines = await _stdin_lines()
    async with anyio.create_task_group() as group:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for received in signals:
                    log.info("%s: stopping", signal.Signals(received).name)
                    group.cancel_scope.cancel()
                    return

        group.start_soon(stop_on_signal)
        # What MCPServer.run_stdio_async does, with stdin read by the loop.
        async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
            lowlevel = server._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
        group.cancel_scope.cancel()
