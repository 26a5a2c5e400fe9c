"""A small MCP server (stdio) with a page-fetching tool whose answer changes on its third call.

It stands in for a real tool server of the agent-servers file. The call count lives in a file named by
the PAGES_COUNTER environment variable, so it survives the server being started once per run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("pages")


@server.tool()
def fetch_page(url: str) -> str:
    """Fetch a web page and return its text."""
    if "broken" in url:
        raise ToolError(f"could not fetch {url}: connection refused")
    counter = Path(os.environ["PAGES_COUNTER"])
    calls = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(calls))
    price = "$19/month" if calls >= 3 else "$29/month"
    return f"{url}: Pro plan {price}"


if __name__ == "__main__":
    # `pages_server.py` serves stdio; `pages_server.py PORT` serves streamable HTTP on 127.0.0.1:PORT/mcp.
    if len(sys.argv) > 1:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    else:
        server.run()
