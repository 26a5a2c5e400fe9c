"""Serving the MCP app over HTTP: the port bound first, then uvicorn on that socket."""

from __future__ import annotations

import errno
import logging
import socket
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server_jobs.config import Settings, shown_database

log = logging.getLogger("mcp_server_jobs")

LOOPBACK = ("127.0.0.1", "localhost", "::1")


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


async def serve_on(app: ASGIApp, sock: socket.socket) -> None:
    """Run `app` on the bound socket until the process is told to stop (SIGINT/SIGTERM)."""
    import uvicorn

    # log_config=None: uvicorn's lines go through this process's logging, to stderr in its format.
    config = uvicorn.Config(app, log_config=None, log_level="info")
    await uvicorn.Server(config).serve(sockets=[sock])


def http_app(settings: Settings, users: list[str]) -> ASGIApp:
    """The streamable-HTTP app of the server; logs how callers sign in."""
    # Imported here: the port is bound (and a bad jobs file told) before the server's modules load.
    from mcp.server.transport_security import TransportSecuritySettings

    from mcp_server_jobs.server.app import build_server
    from mcp_server_jobs.server.tokens import token_book

    server = build_server(settings)
    log.info("database %s, timezone %s", shown_database(settings.db), settings.timezone)
    where = token_book(settings).where
    if users:
        log.info("bearer tokens required (%s); users: %s", where, ", ".join(users))
    else:
        log.info("no tokens (%s): loopback only, every caller is user %r", where, settings.user)
    # The SDK turns DNS-rebinding protection on by itself only for loopback hosts. A wildcard bind is
    # reached under names the server cannot know; there the required bearer token is the protection
    # (a rebinding page cannot send it).
    security = None
    if settings.host not in (*LOOPBACK, "0.0.0.0", "::"):
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"{settings.host}:*"],
            allowed_origins=[f"http://{settings.host}:*", f"https://{settings.host}:*"],
        )
    app = server.streamable_http_app(
        transport_security=security, host=settings.host, session_idle_timeout=settings.session_idle_seconds
    )
    return QuietDisconnects(app)


class QuietDisconnects:
    """ASGI middleware: a client that goes away before its request body arrived is one INFO line.

    The SDK reads the body inside its handlers, where the disconnect surfaced as an ERROR with a traceback
    (from the SDK on legacy sessions, from uvicorn on 2026-07-28 ones). The body is read here first instead,
    up to `limit` bytes (the SDK's own cap, which it enforces on what follows), and replayed to the app.
    """

    def __init__(self, app: ASGIApp, limit: int = 4 * 1024 * 1024) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages: deque[Message] = deque()
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                client = ":".join(map(str, scope.get("client") or ("a client",)))
                log.info("HTTP client %s went away before its request arrived; nothing was done", client)
                return
            messages.append(message)
            size += len(message.get("body", b""))
            if not message.get("more_body", False) or size > self.limit:
                break

        async def replay() -> Message:
            return messages.popleft() if messages else await receive()

        await self.app(scope, replay, send)
