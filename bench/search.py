"""Retrieval benchmarks: keyword search, semantic search and job_create at 1k, 10k and 100k jobs.

Each size runs in a process of its own (`python -m bench.search --size N [--users U]`), so its memory
is the server's alone. The database is a real SQLite file filled in one transaction with the
store's own SQL; the calls go through an in-process MCP client to the real server, the local
MiniLM model included. Latency is the server's: from the call reaching its middleware to the
result (a timing middleware); the Python client's own cost (it re-validates every result against
the output schema with jsonschema) is reported apart as `client_*`.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from mcp import Client

from mcp_server_jobs.config import Settings
from mcp_server_jobs.embeddings import LOCAL_MODEL_ID, load_local
from mcp_server_jobs.models import Entity, JobStatus, JobType, NewJob, Notify, new_id
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.server.app import build_server
from mcp_server_jobs.store import Vector
from mcp_server_jobs.store import queries as q
from mcp_server_jobs.store.codec import job_params, vector_params
from mcp_server_jobs.store.sqlite import SQLiteStore

SIZES = (1_000, 10_000, 100_000)
CALLS = 200
USER = "bench"
# Most of a long-lived server's jobs are finished: the statuses of the generated jobs.
STATUS_MIX = [
    (JobStatus.COMPLETED, 0.60),
    (JobStatus.CANCELLED, 0.15),
    (JobStatus.ARCHIVED, 0.10),
    (JobStatus.ACTIVE, 0.12),
    (JobStatus.PAUSED, 0.03),
]
# Texts are made from these parts; base texts are embedded once and shared by the jobs that use them.
BASE_TEXTS = 2_000

VERBS = [
    "Check",
    "Review",
    "Summarise",
    "Watch",
    "Track",
    "Compile",
    "Chase",
    "Update",
    "Monitor",
    "Collect",
    "Back up",
    "Audit",
    "Reconcile",
    "Draft",
    "Follow up on",
    "Archive",
    "Renew",
    "Compare",
    "Clean up",
    "Plan",
]
OBJECTS = [
    "overdue invoices",
    "the pricing page",
    "open pull requests",
    "server error logs",
    "flight prices",
    "new job postings",
    "support tickets",
    "newsletter signups",
    "the sales pipeline",
    "inventory levels",
    "the rent payment",
    "dentist appointments",
    "cloud spending",
    "competitor blog posts",
    "expense reports",
    "contract renewals",
    "customer churn",
    "the release notes",
    "on-call handoffs",
    "the board deck",
    "domain expiry dates",
    "SSL certificates",
    "grant deadlines",
    "conference talks",
    "podcast episodes",
    "package deliveries",
    "gym classes",
    "concert tickets",
    "apartment listings",
    "the team's OKRs",
]
CADENCES = [
    "every Monday morning",
    "each weekday at 9",
    "at the end of every month",
    "every hour",
    "each Friday afternoon",
    "twice a day",
    "every quarter",
    "once tonight",
]
FOLLOW_UPS = [
    "email me a short summary",
    "post the highlights to Slack",
    "flag anything unusual",
    "put a table in my inbox",
    "tell me only if something changed",
    "draft replies for me to check",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Vandelay",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Massive Dynamic",
    "Pied Piper",
]

KEYWORD_QUERIES = [
    "invoices",
    "pricing Acme",
    "pull requests",
    "error logs",
    "flight",
    "support tickets Globex",
    "churn",
    "SSL",
    "board deck",
    "apartment",
    "Hooli renewals",
    "expense",
    "gym",
    "deliveries",
    "podcast",
    "OKRs",
    "inventory Initech",
    "newsletter",
    "rent",
    "grant",
]
SEMANTIC_QUERIES = [
    "that thing about chasing unpaid bills",
    "the job watching what competitors charge",
    "is something keeping an eye on our AWS costs",
    "reminder about teeth cleaning",
    "where are we on code reviews",
    "the one that tells me when the website certificate runs out",
    "tracking cheap plane tickets",
    "what was that about people cancelling their subscriptions",
    "summary of customer complaints",
    "the weekly slides for the investors",
    "house hunting alerts",
    "keeping tabs on stock in the warehouse",
    "paying the landlord",
    "new openings at companies I like",
    "the writeup when someone hands over the pager",
    "funding application due dates",
]


def _texts(rng: random.Random) -> list[tuple[str, str, str]]:
    """BASE_TEXTS distinct (title, description, company) triples."""
    seen: set[tuple[str, str, str]] = set()
    while len(seen) < BASE_TEXTS:
        verb, obj, company = rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(COMPANIES)
        title = f"{verb} {obj} for {company}"
        description = f"{rng.choice(CADENCES).capitalize()}, {verb.lower()} {obj} and {rng.choice(FOLLOW_UPS)}."
        seen.add((title, description, company))
    return sorted(seen)


def _status(rng: random.Random) -> JobStatus:
    pick = rng.random()
    for status, share in STATUS_MIX:
        if pick < share:
            return status
        pick -= share
    return STATUS_MIX[-1][0]


def populate(path: Path, size: int, users: int = 1) -> float:
    """Fill a new database with `size` jobs spread over `users` and their vectors; returns seconds embedding."""
    rng = random.Random(size)
    bases = _texts(rng)
    started = time.perf_counter()
    embedder = load_local()
    vectors = np.concatenate(
        [
            embedder.embed_sync([f"{title}. {description} About: {company}." for title, description, company in chunk])
            for chunk in (bases[i : i + 64] for i in range(0, len(bases), 64))
        ]
    )
    embedding_seconds = time.perf_counter() - started
    anyio.run(_migrate, path)
    now = datetime.now(UTC)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        for n in range(size):
            pick = rng.randrange(len(bases))
            title, description, company = bases[pick]
            status = _status(rng)
            job = NewJob(
                id=new_id("job"),
                user_id=USER if n % users == 0 else f"{USER}-{n % users}",
                title=title,
                description=description,
                job_type=JobType.RECURRING,
                schedule=Schedule(every_seconds=86_400, timezone="UTC", run_at=now + timedelta(days=30)),
                end_condition=None,
                depends_on=[],
                related_entities=[Entity(name=company, kind="company"), Entity(name=f"Customer {n}")],
                notify=Notify.AUTO,
                metadata={},
                dedup_key=None,
                status=status,
                status_reason=None,
                next_run_at=now + timedelta(days=30) if status is JobStatus.ACTIVE else None,
                created_at=now,
            )
            conn.execute(q.INSERT_JOB, job_params(job))
            conn.execute(q.PUT_VECTOR, vector_params(job, Vector(LOCAL_MODEL_ID, vectors[pick])))
        conn.execute("COMMIT")
    return embedding_seconds


async def _migrate(path: Path) -> None:
    async with SQLiteStore(path):
        pass


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda share: ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]  # noqa: E731
    return {"p50_ms": pick(0.50) * 1000, "p99_ms": pick(0.99) * 1000}


class Timer:
    """Middleware: how long the server took over each tools/call."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call_next(ctx)
        finally:
            if ctx.method == "tools/call":
                self.samples.append(time.perf_counter() - started)


async def _timed(client: Client, timer: Timer, calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[float], float]:
    """Server-side samples of each call, and the client-side median."""
    timer.samples.clear()
    seen = []
    for tool, arguments in calls:
        started = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        seen.append(time.perf_counter() - started)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content}")
    return list(timer.samples), sorted(seen)[len(seen) // 2]


def _rss_mb() -> tuple[float, float]:
    """(resident, peak resident) memory of this process in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def measure(path: Path, size: int) -> dict[str, float]:
    """Latencies of the three calls on a database of `size` jobs, and the server's memory."""
    rng = random.Random(1)
    # One user with 15,000 live jobs is the worst case measured here, past the default per-user limit.
    settings = Settings(db=path, user=USER, timezone="UTC", run_jobs=False, max_live_jobs=1_000_000)
    results: dict[str, float] = {"jobs": size}
    server = build_server(settings)
    timer = Timer()
    server.middleware.insert(0, timer)
    async with Client(server) as client:
        started = time.perf_counter()
        await client.call_tool("job_retrieval_semantic", {"query": "warm up"})  # loads the model and the index
        results["first_semantic_s"] = time.perf_counter() - started
        keyword = [("job_retrieval_by_keywords", {"keywords": rng.choice(KEYWORD_QUERIES)}) for _ in range(CALLS)]
        semantic = [("job_retrieval_semantic", {"query": rng.choice(SEMANTIC_QUERIES)}) for _ in range(CALLS)]
        creates = [
            (
                "job_create",
                {
                    "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} for {rng.choice(COMPANIES)}",
                    "description": f"{rng.choice(CADENCES).capitalize()}, and {rng.choice(FOLLOW_UPS)}.",
                    "job_type": "RECURRING",
                    "schedule": {"every": "1d"},
                },
            )
            for _ in range(CALLS)
        ]
        for name, calls in (("keyword", keyword), ("semantic", semantic), ("job_create", creates)):
            samples, client_median = await _timed(client, timer, calls)
            for key, value in _percentiles(samples).items():
                results[f"{name}_{key}"] = value
            results[f"client_{name}_p50_ms"] = client_median * 1000
        results["rss_mb"], results["peak_rss_mb"] = _rss_mb()
    return results


def run_size(size: int, users: int = 1) -> dict[str, float]:
    """Populate (in a child process, whose memory is not the server's) and measure one size here."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jobs.db"
        started = time.perf_counter()
        fill = [
            sys.executable,
            "-m",
            "bench.search",
            "--size",
            str(size),
            "--users",
            str(users),
            "--populate",
            str(path),
        ]
        subprocess.run(fill, check=True)
        fill_seconds = time.perf_counter() - started
        results = anyio.run(measure, path, size)
        results["db_mb"] = path.stat().st_size / 2**20
        results["fill_s"] = fill_seconds
    return results


def run_all(sizes: tuple[int, ...] = SIZES) -> dict[str, dict[str, float]]:
    """Every size with one user, and the largest also spread over 100 users; each in a fresh process."""
    results = {}
    for size, users in [*((size, 1) for size in sizes), (sizes[-1], 100)]:
        command = [sys.executable, "-m", "bench.search", "--size", str(size), "--users", str(users)]
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        name = f"search {size:,} jobs" + (f", {users} users" if users > 1 else "")
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--users", type=int, default=1, help="spread the jobs over this many users")
    parser.add_argument("--populate", type=Path, help="only fill this database file")
    args = parser.parse_args()
    if args.populate:
        populate(args.populate, args.size, args.users)
    else:
        print(json.dumps(run_size(args.size, args.users)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
