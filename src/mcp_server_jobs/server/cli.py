"""The `mcp-server-jobs` command."""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from mcp_server_jobs import __version__
from mcp_server_jobs.config import KNOWN_BACKENDS, Settings, load_settings
from mcp_server_jobs.errors import JobsError
from mcp_server_jobs.lifecycle import NO_BACKEND_REASON
from mcp_server_jobs.server import cli_jobs

log = logging.getLogger("mcp_server_jobs")


def _settings_flags() -> argparse.ArgumentParser:
    """The settings flags, shared by every command that builds a server's settings."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--transport", choices=["stdio", "http"], help="stdio (default) or streamable HTTP")
    flags.add_argument("--host", help="HTTP address to bind (default 127.0.0.1)")
    flags.add_argument("--port", type=int, help="HTTP port (default 7803); the endpoint is /mcp")
    flags.add_argument("--db", type=Path, help="SQLite database file (default: jobs.db in the user data dir)")
    flags.add_argument("--user", help="the user a stdio server serves (default 'local')")
    flags.add_argument("--tokens", type=Path, help="HTTP bearer tokens file (default: tokens.json in the data dir)")
    flags.add_argument("--timezone", help="default IANA timezone for jobs (default: the machine's)")
    flags.add_argument("--backends", help=f"comma list tried in order, from: {', '.join(KNOWN_BACKENDS)}")
    flags.add_argument("--model", help="pydantic-ai model string, e.g. openai:gpt-5-mini, openai-chat:llama3.2")
    flags.add_argument("--agent-servers", type=Path, help="mcpServers JSON file whose tools job agents get")
    flags.add_argument("--jobs-file", type=Path, help="TOML file of predefined jobs, brought in at each start")
    flags.add_argument("--command", help="CLI agent for the command backend, e.g. 'claude -p' (prompt on stdin)")
    flags.add_argument("--mcp-agent-server", help="MCP server (URL or command) whose tool runs an agent")
    flags.add_argument("--mcp-agent-tool", help="that server's tool to call with the prompt (default run_agent)")
    flags.add_argument("--webhook", help="URL that receives every inbox message as a JSON POST")
    flags.add_argument(
        "--embeddings",
        help="for search by meaning: local (default, bundled MiniLM), off, or an API such as "
        "openai:text-embedding-3-small (OPENAI_BASE_URL for any compatible server)",
    )
    flags.add_argument("--max-concurrency", type=int, help="runs at once in this process (default 5)")
    flags.add_argument(
        "--run-jobs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run due jobs in this process (default); --no-run-jobs serves the tools only",
    )
    flags.add_argument("--config", type=Path, help="TOML file with any of the settings above")
    return flags


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-server-jobs",
        description="An MCP server that gives LLM clients background jobs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command_name", required=True)
    settings = _settings_flags()
    commands.add_parser(
        "serve",
        parents=[settings],
        help="run the MCP server",
        description="Run the MCP server. Each option also reads MCP_JOBS_<NAME> from the environment "
        "and <name> from the --config TOML file; the flag wins, then the environment, then the file.",
    )
    token = commands.add_parser(
        "token",
        help="manage HTTP bearer tokens: add USER, list, revoke ID|USER",
        description="Each token signs its holder in as one user over HTTP. The tokens file keeps only hashes.",
    )
    token_commands = token.add_subparsers(dest="token_command", required=True)
    add = token_commands.add_parser("add", parents=[settings], help="make a token for USER and print it (once)")
    add.add_argument("token_user", metavar="USER")
    token_commands.add_parser("list", parents=[settings], help="the tokens: id, user, created")
    revoke = token_commands.add_parser("revoke", parents=[settings], help="remove a token by id, or all of a user's")
    revoke.add_argument("token_key", metavar="ID_OR_USER")
    cli_jobs.add_parsers(commands, settings)
    commands.add_parser(
        "doctor",
        parents=[settings],
        help="check the set-up: database, timezone, backends, agent servers, jobs file",
        description="Check what `serve` would use with the same options; exit 1 if no backend can run jobs.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    # stdout carries the stdio transport: everything human goes to stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    return serve(settings)


def token_command(settings: Settings, args: argparse.Namespace) -> int:
    """`token add|list|revoke`: change or show the tokens file."""
    from mcp_server_jobs.server.tokens import TokensFile

    tokens = TokensFile(settings.tokens)
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


LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def _load_jobs_file(settings: Settings, path: Path) -> None:
    from mcp_server_jobs.server.jobs_file import sync_jobs_file

    async with cli_jobs.open_service(settings) as service:
        changes = await sync_jobs_file(service, path, settings.user)
    for change in changes:
        log.info("jobs file %s: %s %s (%s)", path, change.action, change.name, change.job_id)
    log.info("jobs file %s: %d change(s)", path, len(changes))


def serve(settings: Settings) -> int:
    """Run the server until it is stopped."""
    if settings.jobs_file is not None:
        try:
            anyio.run(_load_jobs_file, settings, settings.jobs_file)
        except JobsError as exc:
            print(f"mcp-server-jobs: {exc}", file=sys.stderr)
            return 2
    # Imported after the jobs file is read: a bad file is told at once, not after loading the server.
    from mcp.server.transport_security import TransportSecuritySettings

    from mcp_server_jobs.server.app import build_server, serve_stdio
    from mcp_server_jobs.server.tokens import TokensFile

    if settings.transport == "stdio":
        log.info("database %s, timezone %s, user %s", settings.db, settings.timezone, settings.user)
        anyio.run(serve_stdio, build_server(settings))
        return 0
    try:
        users = sorted({entry.user for entry in TokensFile(settings.tokens).entries()})
    except JobsError as exc:
        print(f"mcp-server-jobs: {exc}", file=sys.stderr)
        return 2
    if not users and settings.host not in LOOPBACK:
        print(
            f"mcp-server-jobs: refusing to serve {settings.host} without tokens: anyone who reaches it would get "
            f"every job. Add one with `mcp-server-jobs token add USER` (tokens file {settings.tokens}), or bind "
            "127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    server = build_server(settings)
    log.info("database %s, timezone %s", settings.db, settings.timezone)
    if users:
        log.info("bearer tokens required (%s); users: %s", settings.tokens, ", ".join(users))
    else:
        log.info("no tokens (%s): loopback only, every caller is user %r", settings.tokens, settings.user)
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
    log.info("listening on http://%s:%d/mcp", settings.host, settings.port)
    server.run("streamable-http", host=settings.host, port=settings.port, transport_security=security)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def doctor(settings: Settings) -> int:
    """Print what the server would use and whether it can run jobs; 0 if some backend can."""
    from mcp_server_jobs.server.app import backends_for

    db = settings.db
    lines = [f"database: {db} ({_database_state(db)})", f"timezone: {settings.timezone}", "backends, in order:"]
    backends = backends_for(settings)
    usable = False
    for backend in backends:
        problem = backend.unavailable()
        usable = usable or problem is None
        lines.append(f"  {backend.name}: " + ("ready" if problem is None else f"not usable: {problem}"))
    lines.append(f"agent servers: {_agent_servers_state(settings.agent_servers)}")
    lines.append(f"jobs file: {_jobs_file_state(settings)}")
    lines.append(f"search by meaning: {_embeddings_state(settings.embeddings)}")
    lines.append("ready: jobs will run" if usable else "NOT READY: due jobs will wait until a backend is usable")
    attention = _needing_attention(db)
    lines += [f"needs a person: {len(attention)}" if attention else "needs a person: nothing", *attention]
    print("\n".join(lines))
    return 0 if usable and not attention else 1


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


def _needing_attention(path: Path, limit: int = 50) -> list[str]:
    """The jobs a person must look at (FAILED, BLOCKED, waiting for a backend) and the failed webhook
    deliveries, one line each, read without changing the database."""
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if not version:
                return []
            jobs = conn.execute(
                "SELECT id, user_id, status, title, coalesce(status_reason, '') FROM jobs "
                "WHERE status IN ('FAILED', 'BLOCKED') OR (status = 'ACTIVE' AND status_reason LIKE ?) "
                "ORDER BY updated_at DESC LIMIT ?",
                (f"{NO_BACKEND_REASON}%", limit),
            ).fetchall()
            failed = conn.execute(
                "SELECT message_id, job_id, coalesce(last_error, '') FROM deliveries WHERE state = 'failed' "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall() if version >= 7 else []  # fmt: skip
    except sqlite3.Error:
        return []  # the database line above already says it cannot be read
    lines = []
    for job_id, user, status, title, reason in jobs:
        what = "waiting for a backend" if status == "ACTIVE" else status
        lines.append(f"  {job_id} ({user}) {what}: {title}" + (f" — {reason}" if reason else ""))
    lines += [
        f"  message {message} of {job or '-'}: webhook delivery failed — {error}" for message, job, error in failed
    ]
    return lines


def _jobs_file_state(settings: Settings) -> str:
    from mcp_server_jobs.server.jobs_file import read_jobs_file

    if settings.jobs_file is None:
        return "none (--jobs-file FILE defines jobs in TOML)"
    try:
        definitions = read_jobs_file(settings.jobs_file, settings.user)
    except JobsError as exc:
        return str(exc).removeprefix("jobs file ")
    names = ", ".join(d.name for d in definitions) or "no jobs"
    return f"{settings.jobs_file}: {names} (schedules are checked when serve starts)"


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
        servers = json.loads(path.read_text(encoding="utf-8"))["mcpServers"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{path}: cannot be read as an mcpServers file: {exc}"
    return f"{path}: {', '.join(servers) or 'no servers'}"
