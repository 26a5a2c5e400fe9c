"""A small MCP server (stdio) whose tool runs an "agent": it stands in for a remote agent service."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("agent")


@server.tool()
def run_agent(prompt: str) -> str:
    """Carry out the task in the prompt and end with a JSON verdict."""
    title = prompt.splitlines()[0].removeprefix("# Job: ")
    if "refuse" in title:
        raise ToolError("I will not do that")
    return f'Did "{title}".\n{{"outcome": "success", "summary": "did {title}", "worth_reporting": true}}'


if __name__ == "__main__":
    server.run()
