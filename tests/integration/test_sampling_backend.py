"""The `sampling` backend through a real server over HTTP and a real legacy client that declared sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import QUICK_AGENT, ok, poll_job, wait_for
from tests.integration.test_processes import listening, server

pytestmark = pytest.mark.anyio
VERDICT = '{"outcome": "success", "summary": "answered from the client", "worth_reporting": false}'


def completed(job: dict[str, Any]) -> bool:
    return bool(job["status"] == "COMPLETED")


async def test_a_sampling_client_runs_jobs_and_its_absence_falls_back(db_path: Path, tmp_path: Path) -> None:
    prompts: list[str] = []

    async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        prompts.append(params.messages[0].content.text)  # type: ignore[union-attr]
        text = f"Here is the answer.\n{VERDICT}"
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text=text),
                                         model="client-model", stop_reason="endTurn")  # fmt: skip

    with server(db_path, tmp_path / "server.log", backends="sampling,command", command=QUICK_AGENT) as (_, port):
        await wait_for(lambda: listening(port))
        url = f"http://127.0.0.1:{port}/mcp"
        async with Client(url, mode="legacy", sampling_callback=sample) as legacy:
            first = ok(
                await legacy.call_tool("job_create", {"title": "Ask", "description": "Q?", "job_type": "ONE_OFF"})
            )
            done = await poll_job(legacy, first["id"], completed)
        async with Client(url) as modern:
            second = ok(
                await modern.call_tool("job_create", {"title": "Later", "description": "Q?", "job_type": "ONE_OFF"})
            )
            fallback = await poll_job(modern, second["id"], completed)
            first_runs = ok(await modern.call_tool("job_retrieval_by_id", {"job_id": first["id"]}))["runs"]
    assert first["warnings"] == []
    assert prompts[0].startswith("# Job: Ask")
    assert done["status"] == "COMPLETED"
    assert first_runs[0]["backend"] == "sampling"
    assert first_runs[0]["output"].startswith("Here is the answer.")
    assert fallback["runs"][0]["backend"] == "command"
    assert len(prompts) == 1


async def test_without_a_sampling_client_jobs_wait(db_path: Path, tmp_path: Path) -> None:
    with server(db_path, tmp_path / "server.log", backends="sampling") as (_, port):
        await wait_for(lambda: listening(port))
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            job = ok(await client.call_tool("job_create", {"title": "Ask", "description": "Q?", "job_type": "ONE_OFF"}))
            waiting = await poll_job(
                client, job["id"], lambda j: "no connected client can sample" in (j["status_reason"] or "")
            )
    assert "no connected client can sample" in job["warnings"][0]
    assert waiting["status"] == "ACTIVE"
    assert waiting["runs"] == []


async def test_a_client_that_samples_with_tools_gets_the_agent_servers_tools(
    db_path: Path, tmp_path: Path, agent_servers: Path
) -> None:
    seen: list[types.CreateMessageRequestParams] = []

    async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResultWithTools:
        seen.append(params)
        last = params.messages[-1].content
        results = [b for b in (last if isinstance(last, list) else [last]) if isinstance(b, types.ToolResultContent)]
        if not results:
            use = types.ToolUseContent(id="use_1", name="pages_fetch_page", input={"url": "https://acme.test/pricing"})
            return types.CreateMessageResultWithTools(role="assistant", content=[use], model="m", stop_reason="toolUse")
        page = results[0].content[0].text  # type: ignore[union-attr]
        answer = types.TextContent(type="text", text=f"{page}\n{VERDICT}")
        return types.CreateMessageResultWithTools(role="assistant", content=[answer], model="m", stop_reason="endTurn")

    tools = types.SamplingCapability(tools=types.SamplingToolsCapability())
    with server(db_path, tmp_path / "server.log", backends="sampling", agent_servers=str(agent_servers)) as (_, port):
        await wait_for(lambda: listening(port))
        url = f"http://127.0.0.1:{port}/mcp"
        async with Client(url, mode="legacy", sampling_callback=sample, sampling_capabilities=tools) as client:
            job = ok(
                await client.call_tool("job_create", {"title": "Price", "description": "Q?", "job_type": "ONE_OFF"})
            )
            done = await poll_job(client, job["id"], completed)
    [run] = done["runs"]
    assert run["output"].startswith("https://acme.test/pricing: Pro plan $29/month")
    assert run["usage"]["tool_calls"] == 1
    assert [t.name for t in seen[0].tools or []] == ["pages_fetch_page"]
    assert len(seen) == 2
