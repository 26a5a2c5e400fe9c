"""The `mcp-agent` backend: a tool of another MCP server that runs an agent does the run."""

from __future__ import annotations

import shlex
import shutil

from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from mcp_server_jobs.errors import AgentError, BackendUnavailable
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.base import AgentResult


class McpAgentBackend:
    """Calls a tool on another MCP server that runs an agent: the prompt goes in, its text comes back."""

    name = "mcp-agent"
    text_verdict = True

    def __init__(self, server: str | None, tool: str, argument: str = "prompt") -> None:
        self.server, self.tool, self.argument = server, tool, argument

    def unavailable(self) -> str | None:
        if not self.server:
            return "no agent server set (--mcp-agent-server URL or command)"
        if not self.server.startswith(("http://", "https://")) and shutil.which(shlex.split(self.server)[0]) is None:
            return f"command {shlex.split(self.server)[0]!r} not found on PATH"
        return None

    def _target(self) -> str | StdioServerParameters:
        assert self.server is not None
        if self.server.startswith(("http://", "https://")):
            return self.server
        command, *args = shlex.split(self.server)
        return StdioServerParameters(command=command, args=args)

    async def run(self, job: Job, context: str) -> AgentResult:
        try:
            async with Client(self._target()) as client:
                result = await client.call_tool(self.tool, {self.argument: context})
        except MCPError as exc:
            raise AgentError(f"agent server {self.server}: {exc}") from exc
        except OSError as exc:
            raise BackendUnavailable(f"agent server {self.server} cannot be reached: {exc}") from exc
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise AgentError(f"agent tool {self.tool!r} failed: {text[-2_000:]}")
        return AgentResult(output=text)
