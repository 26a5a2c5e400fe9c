"""HTTP sessions do not pile up: an idle one expires; a client that goes away is one log line."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import wait_for
from tests.integration.test_processes import listening, server

pytestmark = pytest.mark.anyio

HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
}


async def post(http: httpx2.AsyncClient, url: str, body: dict[str, Any], session: str | None = None) -> Any:
    headers = {**HEADERS, **({"Mcp-Session-Id": session} if session else {})}
    return await http.post(url, json=body, headers=headers)


async def test_an_idle_session_expires_and_a_client_gone_mid_request_is_one_line(db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with server(db_path, log, backends="dry-run", embeddings="off", session_idle_seconds="0.5") as (_, port):
        await wait_for(lambda: listening(port), seconds=30)
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx2.AsyncClient(timeout=30) as http:
            opened = await post(http, url, INITIALIZE)
            session = opened.headers["mcp-session-id"]
            await post(http, url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            alive = await post(http, url, ping, session)
            await wait_for(lambda: f"Session {session} idle timeout" in log.read_text())
            expired = await post(http, url, ping, session)
        # A client that sends half a request and goes away.
        with socket.create_connection(("127.0.0.1", port)) as half:
            head = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            half.sendall(f"{head}Content-Length: 400\r\n\r\n".encode() + b'{"jsonrpc": "2.0", "id": 3, "met')
        await wait_for(lambda: "went away before its request arrived" in log.read_text())
    assert opened.status_code == alive.status_code == 200
    assert expired.status_code == 404  # the client is told to start a new session
    text = log.read_text()
    assert text.count("went away before its request arrived; nothing was done") == 1
    assert "Traceback" not in text
    assert " ERROR " not in text
