"""The jobs page: one HTML file (its CSS and script inline, nothing fetched from elsewhere), served as the
MCP App `ui://mcp-server-jobs/overview.html` and, over HTTP, at /ui for a browser.

In a host the page talks to the server through the host's bridge (postMessage); at /ui it is its own MCP
client of /mcp, with the same bearer token as any client. The page holds no data: everything it shows
comes from the tools, so /ui itself needs no token.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources
from typing import Any

from mcp.server.apps import Apps
from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import HTMLResponse

from mcp_server_jobs import __version__

OVERVIEW_URI = "ui://mcp-server-jobs/overview.html"
BROWSER_PATH = "/ui"


@cache
def page_html() -> str:
    """The page, with the server's version written in."""
    text = (resources.files("mcp_server_jobs.server") / "ui" / "overview.html").read_text(encoding="utf-8")
    return text.replace("{{version}}", __version__)


def _digest(tag: str) -> str:
    """The CSP source of the page's one inline `tag` block: its SHA-256, so nothing else inline runs."""
    match = re.search(rf"<{tag}>(.*?)</{tag}>", page_html(), re.S)
    if match is None:
        raise RuntimeError(f"the jobs page has no <{tag}> block")
    digest = base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode()
    return f"'sha256-{digest}'"


@cache  # the page does not change while the server runs: hash it once, not at every GET
def browser_csp() -> str:
    """The Content-Security-Policy of /ui: the page's own script and style, requests to this server only."""
    return (
        f"default-src 'none'; script-src {_digest('script')}; style-src {_digest('style')}; img-src data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def apps_extension() -> Apps:
    """The MCP Apps extension with the page as its one resource (no connections, no outside resources)."""
    apps = Apps()
    apps.add_html_resource(
        OVERVIEW_URI,
        page_html(),
        name="jobs page",
        title="Your background jobs",
        description="The user's jobs with their next runs on a timeline, run history and inbox, with actions.",
        prefers_border=True,
    )
    return apps


def add_browser_page(server: MCPServer[Any]) -> None:
    """Serve the page at /ui on the HTTP transport."""

    @server.custom_route(BROWSER_PATH, methods=["GET"], include_in_schema=False)  # type: ignore[untyped-decorator]
    async def browser_page(request: Request) -> HTMLResponse:
        headers = {
            "Content-Security-Policy": browser_csp(),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(page_html(), headers=headers)
