"""Secrets never echoed: the configured secrets are cut out of anything the server stores or returns.

A provider or proxy may quote the bearer token it was sent in an error body; that text becomes a run's
error, the job's status_reason and an inbox message. The secrets known here are the values of
secret-looking environment variables and of the headers and env of the agent servers file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mcp_server_jobs.agent_servers import AgentServersError, read_agent_servers

MASK = "[redacted]"
# Shorter values are too likely to be ordinary words or numbers to be cut out of every text.
_MIN_SECRET = 8
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
# A bearer credential is a secret whoever configured it.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")


class Redactor:
    """Replaces every known secret (and any bearer credential) by [redacted]."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, known))) if known else None

    def text(self, value: str) -> str:
        """`value` with the secrets cut out."""
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        return _BEARER.sub(lambda m: m.group(1) + MASK, value)

    def data(self, value: Any) -> Any:
        """A JSON-like value with the secrets cut out of every string in it."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value


def configured_secrets(environ: Mapping[str, str], agent_servers: Path | None = None) -> list[str]:
    """The secret values of the environment (by their names) and of the agent servers file."""
    secrets = [value for name, value in environ.items() if _SECRET_NAME.search(name)]
    if agent_servers is not None:
        try:
            servers = read_agent_servers(agent_servers)
        except AgentServersError:
            servers = {}  # the backend reports an unreadable file itself
        for server in servers.values():
            if isinstance(server, dict):
                for section in ("headers", "env"):
                    values = server.get(section)
                    if isinstance(values, dict):
                        secrets += [v for k, v in values.items() if isinstance(v, str) and _SECRET_NAME.search(k)]
    # "Bearer sk-..." as a whole, and the token alone.
    tokens = [value.split(None, 1) for value in secrets if value.lower().startswith("bearer ")]
    return secrets + [parts[1] for parts in tokens if len(parts) == 2]
