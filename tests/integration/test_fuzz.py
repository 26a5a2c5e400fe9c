"""Hostile input: thousands of tool calls drawn from the published input schemas, mutated and oversized.

The server must answer every one with a result or a clean tool error, within a deadline; a refused
call must not change the database; the database must stay intact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp import Client
from mcp_types import CallToolResult, TextContent, Tool

from mcp_server_jobs.config import Settings
from mcp_server_jobs.server.app import build_server
from tests.conftest import reporter

CALLS = 2_000

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


class Harness:
    """One server on one database, called from hypothesis' synchronous examples through a portal."""

    def __init__(self, portal: BlockingPortal, client: Client, db_path: Path, tools: list[Tool]) -> None:
        self.portal = portal
        self.client = client
        # Built once: building a schema's strategy costs more than drawing from it many times.
        self.arguments = {tool.name: arguments_for(tool) for tool in tools}
        self.monitor = sqlite3.connect(db_path)
        self.calls = 0
        self.refused = 0

    def data_version(self) -> int:
        """Changes when another connection (the server's) commits a change to the database."""
        version: int = self.monitor.execute("PRAGMA data_version").fetchone()[0]
        return version

    def call(self, name: str, arguments: Any) -> CallToolResult:
        async def bounded() -> CallToolResult:
            with anyio.fail_after(20):
                return await self.client.call_tool(name, arguments)

        self.calls += 1
        return self.portal.call(bounded)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Harness]:
    db_path = tmp_path_factory.mktemp("fuzz") / "jobs.db"
    server = build_server(Settings(db=db_path, timezone="UTC", run_jobs=False))
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(Client(server)) as client:
        tools = portal.call(client.list_tools).tools
        # A few real jobs, so that drawn ids sometimes name something.
        for n in range(3):
            portal.call(
                client.call_tool, "job_create", {"title": f"Seed {n}", "description": "x", "job_type": "ONE_OFF"}
            )
        harness = Harness(portal, client, db_path, tools)
        yield harness
        check = sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0]
    reporter(request.config)(
        f"fuzz: {harness.calls} tool calls over {len(tools)} tools, {harness.refused} refused with a tool error, "
        f"integrity_check {check}"
    )
    assert check == "ok"
    assert harness.calls >= CALLS


def arguments_for(tool: Tool) -> st.SearchStrategy[Any]:
    """Valid-looking arguments from the schema, the schema's names with any JSON, or oversized text.

    Arguments are always a JSON object: the client itself refuses to send anything else.
    """
    properties = list(tool.input_schema.get("properties", {}))
    schema = from_schema(tool.input_schema)
    names = (st.sampled_from(properties) | st.text(max_size=12)) if properties else st.text(max_size=12)
    mutated = st.dictionaries(names, JSON, max_size=6)
    huge = st.builds(lambda: "x" * 200_000)  # built per draw, so hypothesis never prints it
    oversized = st.fixed_dictionaries(dict.fromkeys(properties[:2], huge))
    return st.one_of(schema, mutated, oversized)


@settings(
    max_examples=CALLS,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_arguments_get_a_result_or_a_clean_error(harness: Harness, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(harness.arguments)), label="tool")
    arguments = data.draw(harness.arguments[name], label="arguments")
    before = harness.data_version()
    result = harness.call(name, arguments)
    assert isinstance(result, CallToolResult)
    if result.is_error:
        harness.refused += 1
        [content] = result.content
        assert isinstance(content, TextContent)
        assert content.text.strip()
        assert "Traceback" not in content.text
        assert harness.data_version() == before, f"refused {name} changed the database: {content.text}"
    else:
        assert result.structured_content is not None
