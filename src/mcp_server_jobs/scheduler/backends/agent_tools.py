"""The agent-servers' tools, reached with the MCP client, for backends that run their own tool loop."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import mcp_types as types
from mcp import Client, StdioServerParameters

from mcp_server_jobs.agent_servers import AgentServersError, read_agent_servers
from mcp_server_jobs.errors import AgentError

# The tools of this server: a job's agent never gets them, whatever the agent-servers file lists.
JOB_TOOLS = frozenset(
    {"job_create", "job_update", "job_pause", "job_cancel", "job_run_now", "job_retrieval_semantic",
     "job_retrieval_by_id", "job_retrieval_by_keywords", "inbox_list", "inbox_mark_read", "jobs_overview"}
)  # fmt: skip


def is_job_tool(name: str) -> bool:
    """Whether `name` (possibly prefixed by its server's name) is one of this server's job tools."""
    return any(name == tool or name.endswith("_" + tool) for tool in JOB_TOOLS)


class AgentTools:
    """Connected tool servers of an `mcpServers` file; tools are named `<server>_<tool>`, job tools left out."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.definitions: list[types.Tool] = []
        self._routes: dict[str, tuple[Client, str]] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            servers = read_agent_servers(self.config)
        except AgentServersError as exc:
            raise AgentError(f"agent servers file {self.config}: {exc.problem}") from exc
        await self._stack.__aenter__()
        try:
            for name, entry in servers.items():
                await self._connect(name, entry)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _connect(self, name: str, entry: dict[str, Any]) -> None:
        if "url" in entry:
            target: str | StdioServerParameters = entry["url"]
        else:
            target = StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=entry.get("env"))
        try:
            client = await self._stack.enter_async_context(Client(target))
            listed = await client.list_tools()
        except Exception as exc:
            raise AgentError(f"agent server {name!r} cannot start: {exc}") from exc
        for tool in listed.tools:
            public = f"{name}_{tool.name}"
            if is_job_tool(public):
                continue
            self._routes[public] = (client, tool.name)
            self.definitions.append(tool.model_copy(update={"name": public}))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def call(self, use: types.ToolUseContent) -> types.ToolResultContent:
        """Run one tool call; an unknown tool or a failing one is reported back, not raised."""
        route = self._routes.get(use.name)
        if route is None:
            text = f"unknown tool {use.name!r}; the tools are: {', '.join(self._routes)}"
            return types.ToolResultContent(tool_use_id=use.id, content=[types.TextContent(type="text", text=text)],
                                           is_error=True)  # fmt: skip
        client, tool = route
        result = await client.call_tool(tool, use.input)
        return types.ToolResultContent(tool_use_id=use.id, content=list(result.content), is_error=result.is_error)
