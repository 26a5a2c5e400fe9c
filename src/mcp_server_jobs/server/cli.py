"""The `mcp-server-jobs` command."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from mcp_server_jobs import __version__
from mcp_server_jobs.agent_servers import AgentServersError, read_agent_servers
from mcp_server_jobs.config import Settings, is_postgres, load_settings, shown_database
from mcp_server_jobs.errors import JobsError
from mcp_server_jobs.lifecycle import NO_BACKEND_REASON
from mcp_server_jobs.models import JobStatus
from mcp_server_jobs.server import cli_jobs
from mcp_server_jobs.server.cli_flags import (
    MIGRATE,
    MIGRATE_HELP,
    SERVE,
    SERVE_HELP,
    TOKENS,
    TOKENS_HELP,
    settings_flags,
)
from mcp_server_jobs.store import queries

log = logging.getLogger("mcp_server_jobs")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-server-jobs",
        description="An MCP server that gives LLM clients background jobs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command_name", required=True)
    commands.add_parser(
        "serve",
        parents=[settings_flags(*SERVE, helps=SERVE_HELP)],
        help="run the MCP server",
        description="Run the MCP server. Each option also reads MCP_JOBS_<NAME> from the environment "
        "and <name> from the --config TOML file; the flag wins, then the environment, then the file.",
    )
    token = commands.add_parser(
        "token",
        help="manage HTTP bearer tokens: add USER, list, revoke ID|USER",
        description="Each token signs its holder in as one user over HTTP. Only hashes are kept: in the tokens "
        "file beside a SQLite database, in the database itself on PostgreSQL (shared by every host).",
    )
    token_commands = token.add_subparsers(dest="token_command", required=True)
    tokens = [settings_flags(*TOKENS, helps=TOKENS_HELP)]
    add = token_commands.add_parser("add", parents=tokens, help="make a token for USER and print it (once)")
    add.add_argument("token_user", metavar="USER", help="the user the token signs in as")
    token_commands.add_parser("list", parents=tokens, help="the tokens: id, user, created")
    revoke = token_commands.add_parser("revoke", parents=tokens, help="remove a token by id, or all of a user's")
    revoke.add_argument("token_key", metavar="ID_OR_USER", help="a token's id, or a user (all their tokens)")
    cli_jobs.add_parsers(commands)
    migrate = commands.add_parser(
        "migrate",
        parents=[settings_flags(*MIGRATE, helps=MIGRATE_HELP)],
        help="copy a SQLite database and its tokens into an empty PostgreSQL database",
        description="Copy every job, run, inbox message, webhook delivery and search vector of the SQLite "
        "database, and the tokens of the tokens file, into an empty PostgreSQL database, in one transaction; "
        "check each table's count. The SQLite file is read, never changed. Stop the servers first.",
    )
    migrate.add_argument("target", metavar="URL", help="the PostgreSQL database, postgresql://user@host/db")
    # doctor checks what serve would use, so it takes serve's options: the same command line, checked.
    commands.add_parser(
        "doctor",
        parents=[settings_flags(*SERVE, helps=SERVE_HELP)],
        help="check the set-up: database, timezone, backends, agent servers, jobs file",
        description="Check what `serve` would use with the same options; exit 1 if no backend can run jobs, "
        "2 if the settings or the jobs file are bad.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    # stdout carries the stdio transport: everything human goes to stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs each alarm it fires at INFO: thousands of lines a day from an idle server.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    flags = {name: getattr(args, name, None) for name in Settings.model_fields}
    try:
        settings = load_settings(flags, config_file=args.config)
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return 2
    if args.command_name == "doctor":
        return doctor(settings)
    if args.command_name == "token":
        return token_command(settings, args)
    if args.command_name in ("jobs", "inbox"):
        return cli_jobs.run(settings, args)
    if args.command_name == "migrate":
        return migrate_command(settings, args.target)
    return serve(settings)


def token_command(settings: Settings, args: argparse.Namespace) -> int:
    """`token add|list|revoke`: change or show the tokens (the file, or the PostgreSQL database's)."""
    from mcp_server_jobs.server.tokens import token_book

    tokens = token_book(settings)
    try:
        if args.token_command == "add":
            entry, token = tokens.add(args.token_user)
            print(token)
            print(
                f"token {entry.id} signs in as {entry.user!r}; it is shown only now. Clients send it as the header "
                f"'Authorization: Bearer <token>'. (Restart a running HTTP server if this is its first token.)",
                file=sys.stderr,
            )
        elif args.token_command == "list":
            for entry in tokens.entries():
                print(f"{entry.id}  {entry.user}  {entry.created_at}")
        else:
            for entry in tokens.revoke(args.token_key):
                print(f"revoked {entry.id} ({entry.user})")
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return 2
    return 0


def migrate_command(settings: Settings, target: str) -> int:
    """`migrate URL`: copy the SQLite database and the tokens file into PostgreSQL, counts checked."""
    if is_postgres(settings.db) or not is_postgres(target):
        print(
            "mcp-server-jobs: migrate copies a SQLite file (--db PATH) into a PostgreSQL database (URL, "
            f"postgresql://...); got --db {shown_database(settings.db)} and {shown_database(target)}",
            file=sys.stderr,
        )
        return 2
    from mcp_server_jobs.server.tokens import TokensFile
    from mcp_server_jobs.store.postgres.copy import copy_sqlite

    try:
        tokens = [entry.row() for entry in TokensFile(settings.tokens).entries()]
        copied = copy_sqlite(Path(settings.db), target, tokens)
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return 2
    for table in copied:
        print(f"{table.table:<18} {table.source:>8} copied, {table.target:>8} in PostgreSQL")
    print(
        f"copied {shown_database(settings.db)} into {shown_database(target)}; every count matches. "
        f"Serve with --db {shown_database(target)} (tokens are now kept in the database).",
        file=sys.stderr,
    )
    return 0


async def _load_jobs_file(settings: Settings, path: Path) -> None:
    from mcp_server_jobs.server.jobs_file import sync_jobs_file

    async with cli_jobs.open_service(settings) as service:
        changes = await sync_jobs_file(service, path, settings.user)
    for change in changes:
        log.info("jobs file %s: %s %s (%s)", path, change.action, change.name, change.job_id)
    log.info("jobs file %s: %d change(s)", path, len(changes))


def serve(settings: Settings) -> int:
    """Run the server until it is stopped."""
    if settings.transport == "http":
        return _serve_http(settings)
    if not _jobs_file_loaded(settings):
        return 2
    # Imported after the jobs file is read: a bad file is told at once, not after loading the server.
    from mcp_server_jobs.server.app import build_server
    from mcp_server_jobs.server.stdio import serve_stdio

    log.info("database %s, timezone %s, user %s", shown_database(settings.db), settings.timezone, settings.user)
    anyio.run(serve_stdio, build_server(settings))
    return 0


def _jobs_file_loaded(settings: Settings) -> bool:
    """Apply the jobs file, if any; False (said on stderr) if it is refused."""
    if settings.jobs_file is None:
        return True
    try:
        anyio.run(_load_jobs_file, settings, settings.jobs_file)
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return False
    return True


def _serve_http(settings: Settings) -> int:
    from mcp_server_jobs.server.http_server import LOOPBACK, PortUnavailable, http_app, listen, serve_on
    from mcp_server_jobs.server.tokens import token_book

    tokens = token_book(settings)
    try:
        users = sorted({entry.user for entry in tokens.entries()})
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return 2
    if not users and settings.host not in LOOPBACK:
        print(
            f"mcp-server-jobs: refusing to serve {settings.host} without tokens: anyone who reaches it would get "
            f"every job. Add one with `mcp-server-jobs token add USER` ({tokens.where}), or bind "
            "127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    # The port first: a taken one stops here, before the jobs file is applied or any job runs.
    try:
        sock = listen(settings.host, settings.port)
    except PortUnavailable as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return 2
    with sock:
        if not _jobs_file_loaded(settings):
            return 2
        app = http_app(settings, users)
        log.info("listening on http://%s:%d/mcp", settings.host, settings.port)
        # The scheduler starts in the app's lifespan, inside uvicorn, on the socket already bound.
        anyio.run(serve_on, app, sock)
    return 0


def doctor(settings: Settings) -> int:
    """Print what `serve` would use; exit 0 if jobs will run, 1 if no backend can run them, 2 if serve would stop."""
    from mcp_server_jobs.server.app import backends_for

    db = settings.db
    state = _postgres_state(db) if isinstance(db, str) else _database_state(db)
    lines = [f"database: {shown_database(db)} ({state})", f"timezone: {settings.timezone}", "backends, in order:"]
    # Each problem found: the exit code it calls for and the line that says so; the worst code wins.
    problems: list[tuple[int, str]] = []
    unusable = [(backend.name, backend.unavailable()) for backend in backends_for(settings)]
    for name, problem in unusable:
        lines.append(f"  {name}: " + ("ready" if problem is None else f"not usable: {problem}"))
    if all(problem is not None for _, problem in unusable):
        problems.append((1, "NOT READY: due jobs will wait until a backend is usable"))
    lines.append(f"agent servers: {_agent_servers_state(settings.agent_servers)}")
    jobs_file, refused = _jobs_file_state(settings)
    lines.append(f"jobs file: {jobs_file}")
    if refused:
        problems.append((2, "NOT READY: serve would stop at the jobs file (above); nothing would start"))
    lines.append(f"search by meaning: {_embeddings_state(settings.embeddings)}")
    attention = _needing_attention(db)
    lines += [f"needs a person: {len(attention)}" if attention else "needs a person: nothing", *attention]
    if attention:
        problems.append((1, "NOT READY: the jobs and deliveries above need a person"))
    lines += [line for _, line in problems] or ["ready: jobs will run"]
    print("\n".join(lines))
    return max((code for code, _ in problems), default=0)


def _database_state(path: Path) -> str:
    if not path.exists():
        return "not created yet; serve creates it"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0] if version else 0
    except sqlite3.Error as exc:
        return f"cannot be read: {exc}"
    return f"schema version {version}, {jobs} jobs"


def _postgres_state(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            shown = f"PostgreSQL {_scalar(conn, 'SHOW server_version')}"
            if not _scalar(conn, "SELECT to_regclass('schema_version') IS NOT NULL"):
                return f"{shown}, no schema yet; serve creates it"
            version = _scalar(conn, "SELECT version FROM schema_version")
            jobs = _scalar(conn, "SELECT count(*) FROM jobs")
    except psycopg.Error as exc:
        return f"cannot connect: {str(exc).strip()}"
    return f"{shown}, schema version {version}, {jobs} jobs"


def _scalar(conn: Any, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    return None if row is None else row[0]


def _needing_attention(db: Path | str, limit: int = 50) -> list[str]:
    """The jobs a person must look at (FAILED, BLOCKED, waiting for a backend) and the failed webhook
    deliveries, one line each, read without changing the database."""
    found = _postgres_attention(db, limit) if isinstance(db, str) else _sqlite_attention(db, limit)
    if found is None:
        return []  # the database line above says why it cannot be read, or that it is new
    jobs, failed = found
    lines = []
    for job_id, user, status, title, reason in jobs:
        what = "waiting for a backend" if status == JobStatus.ACTIVE else status
        lines.append(f"  {job_id} ({user}) {what}: {title}" + (f" — {reason}" if reason else ""))
    lines += [
        f"  message {message} of {job or '-'}: webhook delivery failed — {error}" for message, job, error in failed
    ]
    return lines


Rows = list[tuple[Any, ...]]


def _sqlite_attention(path: Path, limit: int) -> tuple[Rows, Rows] | None:
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if not version:
                return None
            jobs = conn.execute(queries.DOCTOR_STUCK_JOBS, (f"{NO_BACKEND_REASON}%", limit)).fetchall()
            failed = conn.execute(queries.DOCTOR_FAILED_DELIVERIES, (limit,)).fetchall() if version >= 7 else []
    except sqlite3.Error:
        return None
    return jobs, failed


def _postgres_attention(url: str, limit: int) -> tuple[Rows, Rows] | None:
    import psycopg

    # The same statements as SQLite's: standard SQL with positional parameters, in psycopg's spelling.
    stuck, deliveries = (
        sql.replace("?", "%s") for sql in (queries.DOCTOR_STUCK_JOBS, queries.DOCTOR_FAILED_DELIVERIES)
    )
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.read_only = True
            if not _scalar(conn, "SELECT to_regclass('jobs') IS NOT NULL"):
                return None
            jobs = conn.execute(stuck, (f"{NO_BACKEND_REASON}%", limit)).fetchall()
            return jobs, conn.execute(deliveries, (limit,)).fetchall()
    except psycopg.Error:
        return None


def _jobs_file_state(settings: Settings) -> tuple[str, bool]:
    """What the jobs file holds, or why serve would refuse it (then True), by the checks serve makes."""
    from mcp_server_jobs.server.jobs_file import check_jobs_file

    if settings.jobs_file is None:
        return "none (--jobs-file FILE defines jobs in TOML)", False
    try:
        definitions = check_jobs_file(
            settings.jobs_file, settings.user, settings.timezone, datetime.now(UTC), _applied_definitions(settings.db)
        )
    except JobsError as exc:
        return str(exc).removeprefix("jobs file ").removesuffix(" Nothing was changed."), True
    names = ", ".join(d.name for d in definitions) or "no jobs"
    return f"{settings.jobs_file}: {names}", False


def _applied_definitions(path: Path | str) -> dict[str, str]:
    """The digests of the jobs-file definitions the database holds (none if it cannot tell), read-only."""
    if isinstance(path, str) or not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return dict(conn.execute("SELECT name, digest FROM defined_jobs").fetchall())
    except sqlite3.Error:
        return {}


def _embeddings_state(spec: str) -> str:
    from mcp_server_jobs.embeddings import Embeddings

    async def check() -> str:
        embeddings = Embeddings(spec)
        embedder = await embeddings.get()
        if embedder is None:
            return f"unavailable, searches rank by words only: {embeddings.problem}"
        try:
            await embedder.embed(["a test sentence"])
        except Exception as exc:  # whatever the endpoint raised, doctor reports it
            return f"{embedder.model_id} loads but fails: {exc}"
        return f"ready ({embedder.model_id})"

    return anyio.run(check)


def _agent_servers_state(path: Path | None) -> str:
    if path is None:
        return "none (job agents get no tools; --agent-servers FILE)"
    try:
        servers = read_agent_servers(path)
    except AgentServersError as exc:
        return f"{path}: cannot be read as an mcpServers file: {exc.problem}"
    return f"{path}: {', '.join(servers) or 'no servers'}"


if __name__ == "__main__":
    sys.exit(main())
