"""HTTP sessions left open: the server's memory with 2,000 idle sessions, after they expire, and again.

A real `serve --transport http` process (dry-run backend, words-only search so the model's memory is not
counted) with a short `--session-idle-seconds`; 2,000 clients each initialize a 2025-11-25 session and
never close it. RSS is read from /proc before, with the sessions open, once every session has expired,
and the same for a second 2,000: CPython keeps freed memory for reuse rather than returning it, so what
shows that sessions no longer pile up is that the second round does not grow the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from bench.processes import free_port, wait_listening

SESSIONS = 2000
IDLE_SECONDS = 45.0
COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _open(url: str, count: int) -> list[str]:
    """Initialize `count` sessions (20 at a time) and leave them open; their ids."""
    ids: list[str] = []
    limiter = anyio.CapacityLimiter(20)
    async with httpx2.AsyncClient(timeout=60) as http:

        async def one() -> None:
            async with limiter:
                opened = await http.post(url, json=INITIALIZE, headers=HEADERS)
                session = opened.headers["mcp-session-id"]
                note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
                await http.post(url, json=note, headers={**HEADERS, "Mcp-Session-Id": session})
                ids.append(session)

        async with anyio.create_task_group() as group:
            for _ in range(count):
                group.start_soon(one)
    return ids


async def _status(url: str, session: str) -> int:
    async with httpx2.AsyncClient(timeout=60) as http:
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        answer = await http.post(url, json=ping, headers={**HEADERS, "Mcp-Session-Id": session})
        return answer.status_code


def run() -> dict[str, float]:
    """Start a server, open SESSIONS idle sessions, wait for them to expire; RSS at each step."""
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        env = {**os.environ, "MCP_JOBS_TOKENS": f"{folder}/tokens.json", "MCP_JOBS_BACKENDS": "dry-run"}
        command = [COMMAND, "serve", "--transport", "http", "--port", str(port), "--db", f"{folder}/jobs.db",
                   "--embeddings", "off", "--session-idle-seconds", str(IDLE_SECONDS)]  # fmt: skip
        log = Path(folder) / "server.log"
        with log.open("wb") as err:
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_listening(port)
            anyio.run(_open, url, 5)  # the first sessions load what every session uses
            _wait_expired(log, 5)
            rss = {"rss_before_mb": _rss_mb(server.pid)}
            for n, label in ((1, "first"), (2, "second")):
                started = time.perf_counter()
                ids: Any = anyio.run(_open, url, SESSIONS)
                rss[f"{label}_open_seconds"] = time.perf_counter() - started
                rss[f"rss_with_{label}_{SESSIONS}_mb"] = _rss_mb(server.pid)
                _wait_expired(log, 5 + n * SESSIONS)
                rss[f"rss_after_{label}_expired_mb"] = _rss_mb(server.pid)
            gone = anyio.run(_status, url, ids[0]) == 404
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "sessions": SESSIONS,
        "idle_timeout_s": IDLE_SECONDS,
        **rss,
        "kb_per_session": (rss[f"rss_with_first_{SESSIONS}_mb"] - rss["rss_before_mb"]) * 1024 / SESSIONS,
        "second_round_growth_mb": rss[f"rss_with_second_{SESSIONS}_mb"] - rss[f"rss_with_first_{SESSIONS}_mb"],
        "expired_session_answers_404": float(gone),
    }


def _wait_expired(log: Path, count: int) -> None:
    """Until the server has logged `count` session expiries (it logs one per session), then a second more."""
    deadline = time.monotonic() + IDLE_SECONDS + 120
    while log.read_text().count(" idle timeout") < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the sessions did not expire")
        time.sleep(0.5)
    time.sleep(1)


if __name__ == "__main__":
    print(run())
