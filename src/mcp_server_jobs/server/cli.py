"""The `mcp-server-jobs` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mcp_server_jobs import __version__
from mcp_server_jobs.config import KNOWN_BACKENDS, Settings, load_settings
from mcp_server_jobs.errors import JobsError

log = logging.getLogger("mcp_server_jobs")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-server-jobs",
        description="An MCP server that gives LLM clients background jobs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the MCP server",
        description="Run the MCP server. Each option also reads MCP_JOBS_<NAME> from the environment "
        "and <name> from the --config TOML file; the flag wins, then the environment, then the file.",
    )
    serve.add_argument("--transport", choices=["stdio", "http"], help="stdio (default) or streamable HTTP")
    serve.add_argument("--host", help="HTTP address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 7803); the endpoint is /mcp")
    serve.add_argument("--db", type=Path, help="SQLite database file (default: jobs.db in the user data dir)")
    serve.add_argument("--user", help="the user a stdio server serves (default 'local')")
    serve.add_argument("--timezone", help="default IANA timezone for jobs (default: the machine's)")
    serve.add_argument("--backends", help=f"comma list tried in order, from: {', '.join(KNOWN_BACKENDS)}")
    serve.add_argument("--model", help="pydantic-ai model string, e.g. openai:gpt-5-mini, openai-chat:llama3.2")
    serve.add_argument("--agent-servers", type=Path, help="mcpServers JSON file whose tools job agents get")
    serve.add_argument("--command", help="CLI agent for the command backend, e.g. 'claude -p' (prompt on stdin)")
    serve.add_argument("--max-concurrency", type=int, help="runs at once in this process (default 5)")
    serve.add_argument(
        "--run-jobs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run due jobs in this process (default); --no-run-jobs serves the tools only",
    )
    serve.add_argument("--config", type=Path, help="TOML file with any of the settings above")
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
    return serve(settings)


def serve(settings: Settings) -> int:
    """Run the server until it is stopped."""
    from mcp_server_jobs.server.app import build_server

    server = build_server(settings)
    log.info("database %s, timezone %s, user %s", settings.db, settings.timezone, settings.user)
    if settings.transport == "stdio":
        server.run("stdio")
    else:
        log.info("listening on http://%s:%d/mcp", settings.host, settings.port)
        server.run("streamable-http", host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
