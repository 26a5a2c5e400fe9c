"""Serve a small ASGI app on a free 127.0.0.1 port for the duration of a block."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def serve(app: ASGIApp, idle: Callable[[], bool] = lambda: True) -> AsyncIterator[str]:
    """Yield the app's base URL; on exit wait (up to 5 s) until `idle()` before stopping."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 -- uvicorn exposes a flag, not an event
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            # Let a reply still being delayed finish, so no connection is left open.
            with anyio.move_on_after(5):
                while not idle():  # noqa: ASYNC110 -- handlers run in uvicorn's tasks
                    await anyio.sleep(0.01)
            server.should_exit = True
