"""The job agent's tools for `bench/real_model.py`: an MCP server (stdio) with fixed, offline answers.

They are what the README's example jobs need: company facts, unpaid invoices, a pricing page, contacts and
an email outbox. Each call is appended as a JSON line to the file named by BENCH_TOOLS_LOG, so the bench
can count the calls of every run (pydantic-ai starts this server anew for each run).
"""

from __future__ import annotations

import json
import os
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

# The watched page where the condition "no longer $29/month" holds, and the one where it does not.
PRICE_CHANGED_URL = "https://acme.example/pricing"
PRICE_UNCHANGED_URL = "https://shop.acme.example/pricing"

PAGES = {
    PRICE_CHANGED_URL: "Acme pricing\nStarter: $9/month\nPro: $25/month\nEnterprise: ask sales",
    PRICE_UNCHANGED_URL: "Acme pricing\nStarter: $9/month\nPro: $29/month\nEnterprise: ask sales",
}

COMPANIES = {
    "acme": "Acme Corp: 1,200 employees, Denver. Products: industrial anvils, rocket skates. "
    "News: opened a factory in Ohio last month.",
    "globex": "Globex: 5,400 employees, Springfield. Products: cloud storage, data-centre hardware. "
    "News: new CEO named this quarter.",
    "initech": "Initech: 310 employees, Austin. Products: TPS report software. "
    "News: lost its largest client in October.",
}

CONTACTS = {
    "dana": "Dana Reyes, head of purchasing at Acme: dana@acme.example",
    "vp of sales": "Victor Ortiz, VP of Sales at Acme: victor.ortiz@acme.example",
}

server = MCPServer("work")


def _record(tool: str, arguments: dict[str, Any]) -> None:
    log = os.environ.get("BENCH_TOOLS_LOG")
    if log:
        line = json.dumps({"tool": tool, "arguments": arguments, "at": time.time()})
        with Path(log).open("a", encoding="utf-8") as file:
            file.write(line + "\n")


def _normalise(url: str) -> str:
    url = url.strip().rstrip("/").lower()
    return url if "://" in url else f"https://{url}"


@server.tool()
def fetch_page(url: str) -> str:
    """Fetch a web page and return its text."""
    _record("fetch_page", {"url": url})
    page = PAGES.get(_normalise(url))
    if page is None:
        raise ToolError(f"404 not found: {url}")
    return page


@server.tool()
def company_facts(name: str) -> str:
    """Facts about a company: size, products, recent news."""
    _record("company_facts", {"name": name})
    key = name.strip().lower().split()[0] if name.strip() else ""
    # No match is an answer, not an error: pydantic-ai ends a run whose tool fails three times.
    return COMPANIES.get(key) or f"No facts about {name!r}. Known companies: Acme, Globex, Initech."


@server.tool()
def list_unpaid_invoices() -> list[dict[str, Any]]:
    """The invoices not paid yet."""
    _record("list_unpaid_invoices", {})
    today = date.today()
    invoices = [("INV-1042", "Globex", 4_800, 41), ("INV-1057", "Initech", 1_250, 12), ("INV-1063", "Acme", 990, 3)]
    return [
        {"number": number, "client": client, "amount_eur": amount, "due": str(today - timedelta(days=late))}
        for number, client, amount, late in invoices
    ]


@server.tool()
def find_contact(name: str) -> str:
    """A person's role and email address, by name or role."""
    _record("find_contact", {"name": name})
    wanted = name.strip().lower()
    for key, contact in CONTACTS.items():
        if key in wanted or wanted in contact.lower():
            return contact
    return f"No contact matches {name!r}. Known: Dana (Acme), Acme's VP of Sales."


@server.tool()
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email. `to` is an email address."""
    _record("send_email", {"to": to, "subject": subject, "body": body})
    if "@" not in to:
        raise ToolError(f"{to!r} is not an email address; find_contact gives one")
    return f"Email sent to {to}."


if __name__ == "__main__":
    server.run()
