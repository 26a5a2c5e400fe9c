"""The settings flags of the CLI: each command gets only the ones it reads, each with its help text."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mcp_server_jobs.config import KNOWN_BACKENDS

# Setting name → (flag, add_argument options). The setting name is the flag's `dest`.
FLAGS: dict[str, tuple[str, dict[str, Any]]] = {
    "transport": ("--transport", {"choices": ["stdio", "http"], "help": "stdio (default) or streamable HTTP"}),
    "host": ("--host", {"metavar": "ADDRESS", "help": "HTTP address to bind (default 127.0.0.1)"}),
    "port": ("--port", {"metavar": "N", "type": int, "help": "HTTP port (default 7803); the endpoint is /mcp"}),
    "db": (
        "--db",
        # Text, not a Path: a path would fold the URL's "//".
        {"metavar": "PATH|URL", "help": "SQLite file (default: jobs.db in the user data dir) or postgresql:// URL"},
    ),
    "user": ("--user", {"metavar": "NAME", "help": "whose jobs these are (default 'local')"}),
    "tokens": (
        "--tokens",
        {"metavar": "FILE", "type": Path, "help": "HTTP bearer tokens file (default: tokens.json in the data dir)"},
    ),
    "timezone": (
        "--timezone",
        {"metavar": "TZ", "help": "IANA timezone for new jobs and shown times (default: the machine's)"},
    ),
    "backends": (
        "--backends",
        {"metavar": "LIST", "help": f"comma list tried in order, from: {', '.join(KNOWN_BACKENDS)}"},
    ),
    "model": (
        "--model",
        {"metavar": "NAME", "help": "pydantic-ai model string, e.g. openai:gpt-5-mini, openai-chat:llama3.2"},
    ),
    "agent_servers": (
        "--agent-servers",
        {"metavar": "FILE", "type": Path, "help": "mcpServers JSON file whose tools job agents get"},
    ),
    "jobs_file": (
        "--jobs-file",
        {"metavar": "FILE", "type": Path, "help": "TOML file of predefined jobs, brought in at each start"},
    ),
    "command": (
        "--command",
        {"metavar": "CMD", "help": "CLI agent for the command backend, e.g. 'claude -p' (prompt on stdin)"},
    ),
    "mcp_agent_server": (
        "--mcp-agent-server",
        {"metavar": "URL_OR_CMD", "help": "MCP server (URL or command) whose tool runs an agent"},
    ),
    "mcp_agent_tool": (
        "--mcp-agent-tool",
        {"metavar": "NAME", "help": "that server's tool to call with the prompt (default run_agent)"},
    ),
    "webhook": ("--webhook", {"metavar": "URL", "help": "URL that receives every inbox message as a JSON POST"}),
    "embeddings": (
        "--embeddings",
        {
            "metavar": "SPEC",
            "help": "for search by meaning: local (default, bundled MiniLM), off, or an API such as "
            "openai:text-embedding-3-small (OPENAI_BASE_URL for any compatible server)",
        },
    ),
    "max_concurrency": (
        "--max-concurrency",
        {"metavar": "N", "type": int, "help": "runs at once in this process (default 5)"},
    ),
    "session_idle_seconds": (
        "--session-idle-seconds",
        {
            "metavar": "S",
            "type": float,
            "help": "HTTP: close a session after this long with no request (default 1800); its client starts anew",
        },
    ),
    "run_jobs": (
        "--run-jobs",
        {
            "action": argparse.BooleanOptionalAction,
            "default": None,
            "help": "run due jobs in this process (default); --no-run-jobs serves the tools only",
        },
    ),
}

SERVE = tuple(FLAGS)
SERVE_HELP = {"user": "the user of a stdio server, and of every HTTP caller when there are no tokens (default 'local')"}
# What the job and inbox commands read: the database, and whose jobs.
STORE = ("db", "user")
# The inbox shows its times in the user's zone.
INBOX = (*STORE, "timezone")
INBOX_HELP = {"timezone": "IANA timezone the times are shown in (default: the machine's)"}
# `jobs run` also needs what runs a job and where its report goes.
RUN = (*STORE, "backends", "model", "command", "agent_servers", "mcp_agent_server", "mcp_agent_tool", "webhook")
# Tokens live in the tokens file, or in the database when it is PostgreSQL.
TOKENS = ("db", "tokens")
TOKENS_HELP = {"db": "the job database: on PostgreSQL the tokens are kept in it, for every host (default: SQLite)"}
# `migrate` copies a SQLite database and a tokens file into PostgreSQL.
MIGRATE = ("db", "tokens")
MIGRATE_HELP = {
    "db": "the SQLite file to copy (default: jobs.db in the user data dir); it is only read",
    "tokens": "the tokens file to copy (default: tokens.json in the data dir); none if it does not exist",
}


def settings_flags(*names: str, helps: dict[str, str] | None = None) -> argparse.ArgumentParser:
    """A parent parser with the flags of the settings `names` (`helps` overrides their texts), and --config."""
    flags = argparse.ArgumentParser(add_help=False)
    for name in names:
        flag, options = FLAGS[name]
        if helps and name in helps:
            options = {**options, "help": helps[name]}
        flags.add_argument(flag, dest=name, **options)
    flags.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML file of settings (keys: the flags' names in snake_case)"
    )
    return flags
