"""A real PostgreSQL server for the tests, from the distribution's package, started once per test session.

The server runs from a temporary data directory on a free 127.0.0.1 port, with durability off (the tests
need its semantics, not its fsyncs). As root it runs as the `postgres` user, since PostgreSQL refuses root.
Each test gets a database of its own, dropped after it (`database`), or the session's migrated database
emptied before it (`empty`), which costs a hundredth as much.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

SKIP_REASON = (
    "PostgreSQL is not installed here (no initdb on PATH or under /usr/lib/postgresql/*/bin): "
    "`apt-get install postgresql` installs it; .ci/run does so"
)
_USER = "jobs"


def binaries() -> Path | None:
    """The folder of PostgreSQL's server programs, or None when it is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: `url(name)` reaches one of its databases; `database()` makes a fresh one."""

    port: int
    folder: Path
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{name}"

    def database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Every table of the store's schema but its version, children before the tables their keys refer to.
STORE_TABLES = ("tokens", "defined_jobs", "job_changes", "job_vectors", "job_dependencies", "runs", "inbox",
                "deliveries", "workers", "jobs")  # fmt: skip


def empty(url: str) -> None:
    """Delete every row of a migrated store database (its schema version stays)."""
    with psycopg.connect(url) as conn:
        conn.execute("SET lock_timeout = '10s'")  # a test that left a transaction open fails, not hangs
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables - {"schema_version"} == set(STORE_TABLES), "tests/pg.py: STORE_TABLES is not the schema's"
        for table in STORE_TABLES:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))


def dump(url: str, leave_out: set[str]) -> list[str]:
    """Every row of every table of the database as text, in a stable order (tables in `leave_out` left out)."""
    lines = []
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        for (table,) in tables.fetchall():
            if table in leave_out:
                continue
            rows = conn.execute(sql.SQL("SELECT t::text FROM {} AS t ORDER BY 1").format(sql.Identifier(table)))
            lines += [f"{table} {text}" for (text,) in rows.fetchall()]
    return lines


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start(bin_dir: Path, *, durable: bool = False) -> tuple[PostgresServer, subprocess.Popen[bytes]]:
    """initdb a temporary cluster and start its postmaster; returns once it accepts connections. `durable`
    keeps PostgreSQL's own defaults (a flush at each commit), as a benchmark needs; tests go without."""
    folder = Path(tempfile.mkdtemp(prefix="jobs-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", _USER, "-A", "trust", "--no-sync", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    settings = ["-c", "max_connections=200", "-c", f"unix_socket_directories={folder}"]
    if not durable:
        settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    with (folder / "server.log").open("wb") as log:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(
            _as_server_user(
                [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), *settings]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = PostgresServer(port, folder)
    ready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-t", "1"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PostgreSQL did not start: {(folder / 'server.log').read_text(errors='replace')}")
        if subprocess.run(ready, capture_output=True).returncode == 0:
            return server, process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("PostgreSQL did not accept connections within 60 s")


def stop(server: PostgresServer, process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(server.folder, ignore_errors=True)
