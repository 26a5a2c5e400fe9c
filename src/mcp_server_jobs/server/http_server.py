"""Serving the MCP app over HTTP: the port bound first, then uvicorn on that socket."""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

log = logging.getLogger("mcp_server_jobs")


class PortUnavailable(Exception):
    """The address cannot be bound; the message says why in one line."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` and listening, before anything else starts; raises PortUnavailable."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"cannot listen on {host}:{port}: unknown address ({exc.strerror})") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn does: a port in TIME_WAIT after a restart is free to bind; one in use still is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = "another process is using it; stop it or choose another --port" if exc.errno == errno.EADDRINUSE else ""
        problem = f"cannot listen on {host}:{port}: {exc.strerror or exc}" + (f"; {hint}" if hint else "")
        raise PortUnavailable(problem) from exc
    return sock


async def serve(app: Any, sock: socket.socket) -> None:
    """Run `app` on the bound socket until the process is told to stop (SIGINT/SIGTERM)."""
    import uvicorn

    # log_config=None: uvicorn's lines go through this process's logging, to stderr in its format.
    config = uvicorn.Config(app, log_config=None, log_level="info")
    await uvicorn.Server(config).serve(sockets=[sock])
