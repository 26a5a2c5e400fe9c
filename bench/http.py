"""HTTP load: 20 users' clients at once, 100 mixed tool calls each, against a real server process.

The server runs `serve --transport http` with a bearer token per user, the local embedding model
and the dry-run backend (which runs no jobs), on a fresh SQLite file. Latency is measured by each client around each
call (the real network path over 127.0.0.1, the Python MCP client's own result validation included).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.processes import free_port, wait_listening
from mcp_server_jobs.server.tokens import TokensFile

CLIENTS = 20
CALLS = 100
COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")
TOPICS = ["overdue invoices", "competitor pricing", "flight prices", "release notes", "support tickets",
          "server error logs", "apartment listings", "newsletter signups", "cloud spending", "board deck"]  # fmt: skip


async def _client(url: str, token: str, seed: int, samples: list[float], errors: list[str]) -> None:
    rng = random.Random(seed)
    job_ids: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        for n in range(CALLS):
            tool, arguments = _pick(rng, n, job_ids)
            started = time.perf_counter()
            try:
                result = await client.call_tool(tool, arguments)
            except Exception as exc:  # any failure of the call is an error to count, not to stop on
                errors.append(f"{tool}: {exc}")
                continue
            samples.append(time.perf_counter() - started)
            if result.is_error:
                errors.append(f"{tool}: {result.content}")
            elif tool == "job_create" and result.structured_content:
                job_ids.append(result.structured_content["id"])


def _pick(rng: random.Random, n: int, job_ids: list[str]) -> tuple[str, dict[str, Any]]:
    topic = rng.choice(TOPICS)
    roll = rng.random()
    if n < 3 or roll < 0.2:
        return "job_create", {
            "title": f"Watch {topic} #{n}",
            "description": f"Every day, check the {topic} and tell me what changed.",
            "job_type": "RECURRING",
            "schedule": {"every": "1d"},
        }
    if roll < 0.4:
        return "job_retrieval_by_keywords", {"keywords": topic}
    if roll < 0.6:
        return "job_retrieval_semantic", {"query": f"that thing about {topic}"}
    if roll < 0.8:
        return "job_retrieval_by_id", {"job_id": rng.choice(job_ids)}
    if roll < 0.9:
        return "inbox_list", {}
    return "job_update", {"job_id": rng.choice(job_ids), "description": f"Check the {topic} twice a day."}


async def _load(url: str, tokens: list[str]) -> tuple[list[float], list[str], float]:
    samples: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for seed, token in enumerate(tokens):
            group.start_soon(_client, url, token, seed, samples, errors)
    return samples, errors, time.perf_counter() - started


def run() -> dict[str, float]:
    """Start a server, drive it with CLIENTS clients, stop it; latency percentiles and error count."""
    with tempfile.TemporaryDirectory() as folder:
        tokens_file = TokensFile(Path(folder) / "tokens.json")
        tokens = [tokens_file.add(f"user{n}")[1] for n in range(CLIENTS)]
        port = free_port()
        env = {**os.environ, "MCP_JOBS_TOKENS": str(tokens_file.path), "MCP_JOBS_BACKENDS": "dry-run"}
        command = [COMMAND, "serve", "--transport", "http", "--port", str(port), "--db", f"{folder}/jobs.db"]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port)
            server_cpu = _cpu_seconds(server.pid)
            own_cpu = time.process_time()
            samples, errors, seconds = anyio.run(_load, f"http://127.0.0.1:{port}/mcp", tokens)
            server_cpu = _cpu_seconds(server.pid) - server_cpu
            own_cpu = time.process_time() - own_cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
    ordered = sorted(samples)
    pick = lambda share: ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000  # noqa: E731
    for error in errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    return {
        "clients": CLIENTS,
        "calls": len(samples) + len(errors),
        "errors": len(errors),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": ordered[-1] * 1000,
        "calls_per_second": len(samples) / seconds,
        "seconds": seconds,
        "server_cpu_seconds": server_cpu,
        "clients_cpu_seconds": own_cpu,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    print(run())
