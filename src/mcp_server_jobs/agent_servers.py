"""Reading an `mcpServers` JSON file (the agent servers whose tools a job's agent gets), in the format the
MCP clients share: `{"mcpServers": {"<name>": {"command": ..., "args": [...]} or {"url": ...}}}`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class AgentServersError(ValueError):
    """The file cannot be read as an mcpServers file; `problem` says why, without the path."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def read_agent_servers(path: Path) -> dict[str, Any]:
    """The file's `mcpServers` object: each server's name and its entry, as written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentServersError(path, exc.strerror or str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise AgentServersError(path, f"not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise AgentServersError(path, f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AgentServersError(path, 'not a JSON object with an "mcpServers" key')
    if "mcpServers" not in data:
        raise AgentServersError(path, 'no "mcpServers" key')
    servers = data["mcpServers"]
    if not isinstance(servers, dict):
        raise AgentServersError(path, '"mcpServers" is not a JSON object')
    return servers
