"""The `model` backend end to end: pydantic-ai → openai SDK → HTTP to a fake provider on 127.0.0.1.

Tools come from a real stdio MCP server listed in an `mcpServers` file; only the LLM is scripted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import JobStatus, RunOutcome
from mcp_server_jobs.scheduler.backends.agent_tools import is_job_tool
from mcp_server_jobs.scheduler.backends.model import ModelBackend, misbehaviour_text
from mcp_server_jobs.store import JobFilter
from tests.conftest import START, World, open_world, wait_for
from tests.fakes.openai_server import FakeOpenAI, end_check, error, tool_call, verdict
from tests.integration.test_processes import COMMAND, free_port, listening

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(db_path: Path, clock: FakeClock, provider: FakeOpenAI, agent_servers: Path) -> AsyncIterator[World]:
    backend = ModelBackend("openai-chat:fake-model", agent_servers)
    async with open_world(db_path, clock, [backend]) as opened:
        yield opened


async def test_a_tool_round_trip_then_a_verdict(world: World, provider: FakeOpenAI) -> None:
    provider.script = [
        tool_call("pages_fetch_page", {"url": "https://example.test/pricing"}),
        verdict("Pro plan costs $29/month.", worth_reporting=True, report_title="Pricing", report="It is $29."),
    ]
    job = await world.create(title="Check pricing", job_type="ONE_OFF")
    [run] = await world.at(START)
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.backend == "model"
    assert run.output == "Pro plan costs $29/month."
    assert run.verdict is not None
    assert run.verdict["worth_reporting"] is True
    assert run.usage == {"requests": 2, "tool_calls": 1, "input_tokens": 200, "output_tokens": 40}
    # The tool's answer went back to the model, and the job's context was the prompt.
    tool_result = [m for m in provider.requests[1]["messages"] if m["role"] == "tool"]
    assert "Pro plan $29/month" in tool_result[0]["content"]
    assert "Check pricing" in json.dumps(provider.requests[0]["messages"])
    assert (await world.job(job.id)).status is JobStatus.COMPLETED


async def test_unauthorized_fails_fast(world: World, provider: FakeOpenAI) -> None:
    provider.script = [error(401, "Incorrect API key provided")]
    job = await world.create(title="Report", job_type="RECURRING", schedule={"every": "1h"})
    [run] = await world.at(START)
    failed = await world.job(job.id)
    assert run.outcome is RunOutcome.FAILED
    assert failed.status is JobStatus.FAILED
    assert failed.status_reason is not None
    assert "permanent error" in failed.status_reason
    assert len(provider.requests) == 1  # no retry storm


async def test_server_error_then_success(world: World, provider: FakeOpenAI) -> None:
    provider.script = [error(500, "upstream exploded"), verdict("fine")]
    job = await world.create(title="Report", job_type="ONE_OFF")
    [run] = await world.at(START)  # the provider SDK retried the 500 within the run
    assert run.outcome is RunOutcome.SUCCEEDED
    assert len(provider.requests) == 2
    assert (await world.job(job.id)).status is JobStatus.COMPLETED


async def test_server_errors_past_the_sdk_retries_are_retried_by_the_scheduler(
    world: World, provider: FakeOpenAI
) -> None:
    provider.script = [error(500, "down"), error(500, "down"), error(500, "still down"), verdict("back")]
    job = await world.create(title="Report", job_type="ONE_OFF")
    [first] = await world.at(START)
    [second] = await world.at(START + timedelta(seconds=30))
    assert first.outcome is RunOutcome.FAILED
    assert first.error is not None
    assert "500" in first.error
    assert second.outcome is RunOutcome.SUCCEEDED
    assert (await world.job(job.id)).status is JobStatus.COMPLETED


async def test_a_slow_provider_times_out_and_the_run_is_retried(
    db_path: Path, clock: FakeClock, provider: FakeOpenAI
) -> None:
    slow = verdict("late")
    slow.delay = 3
    # A first answer the model must redo (an unknown tool), then a reply that comes too late.
    provider.script = [tool_call("crm_lookup", {"name": "Acme"}), slow, verdict("on time")]
    # No tool servers here: the time limit should measure the provider alone.
    async with open_world(db_path, clock, [ModelBackend("openai-chat:fake-model")]) as world:
        job = await world.create(title="Report", job_type="ONE_OFF", schedule={"timeout": "2s"})
        [first] = await world.at(START)
        [second] = await world.at(START + timedelta(seconds=30))
        status = (await world.job(job.id)).status
    assert first.outcome is RunOutcome.FAILED
    assert first.error == "timed out after 2s"
    assert first.usage == {"requests": 1, "tool_calls": 0, "input_tokens": 100, "output_tokens": 20}  # so far
    assert second.outcome is RunOutcome.SUCCEEDED
    assert second.output == "on time"
    assert status is JobStatus.COMPLETED


async def test_an_unparseable_verdict_is_retried_once_then_fails_the_run(world: World, provider: FakeOpenAI) -> None:
    provider.script = [tool_call("final_result", "{not json"), tool_call("final_result", {"outcome": "maybe"})]
    job = await world.create(title="Report", job_type="ONE_OFF")
    [run] = await world.at(START)
    assert run.outcome is RunOutcome.FAILED
    assert run.error is not None
    assert "no valid verdict after one retry" in run.error
    assert len(provider.requests) == 2
    assert (await world.job(job.id)).status is JobStatus.ACTIVE  # the occurrence is retried later


@pytest.fixture
async def bare(db_path: Path, clock: FakeClock, provider: FakeOpenAI) -> AsyncIterator[World]:
    """A world whose model has no agent servers (nothing to start per run)."""
    async with open_world(db_path, clock, [ModelBackend("openai-chat:fake-model")]) as opened:
        yield opened


async def test_a_model_calling_an_unknown_tool_is_named(bare: World, provider: FakeOpenAI) -> None:
    provider.script = [tool_call("crm_lookup", {"name": "Acme"}, call_id=f"call_{i}") for i in range(5)]
    await bare.create(title="Report", job_type="ONE_OFF")
    [run] = await bare.at(START)
    assert run.outcome is RunOutcome.FAILED
    assert run.error is not None
    assert run.error.startswith("the model kept calling unknown tool 'crm_lookup'")
    assert "no valid verdict" not in run.error


async def test_a_rate_limited_run_waits_as_long_as_the_provider_asked(bare: World, provider: FakeOpenAI) -> None:
    # The openai SDK waits out a Retry-After of up to 2 minutes itself; a longer one comes back to the job.
    provider.script = [error(429, "slow down", {"Retry-After": "600"}), verdict("fine")]
    job = await bare.create(title="Report", job_type="ONE_OFF")
    [first] = await bare.at(START)
    waiting = await bare.job(job.id)
    assert first.outcome is RunOutcome.FAILED
    assert waiting.next_run_at == START + timedelta(seconds=600)  # not the default 30 s
    assert waiting.status_reason is not None
    assert "the provider asked to wait 600s" in waiting.status_reason
    assert await bare.at(START + timedelta(seconds=599)) == []
    [second] = await bare.at(START + timedelta(seconds=600))
    assert second.outcome is RunOutcome.SUCCEEDED


async def test_missing_key_makes_jobs_wait_with_the_reason(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with open_world(db_path, clock, [ModelBackend("openai-chat:fake-model")]) as world:
        job = await world.create(title="Report", job_type="ONE_OFF")
        assert await world.at(START) == []
        waiting = await world.job(job.id)
    assert waiting.status is JobStatus.ACTIVE
    assert waiting.status_reason is not None
    assert "OPENAI_API_KEY" in waiting.status_reason


def test_the_agent_never_gets_job_tools() -> None:
    assert is_job_tool("jobs_job_create")
    assert is_job_tool("job_cancel")
    assert not is_job_tool("pages_fetch_page")


async def test_a_failing_tool_is_reported_to_the_model(world: World, provider: FakeOpenAI) -> None:
    provider.script = [tool_call("pages_fetch_page", {"url": "https://broken.test"}), verdict("Could not read it.")]
    await world.create(title="Check pricing", job_type="ONE_OFF")
    [run] = await world.at(START)
    assert run.outcome is RunOutcome.SUCCEEDED
    told = json.dumps(provider.requests[1]["messages"])
    assert "could not fetch https://broken.test: connection refused" in told


async def test_a_tool_server_that_cannot_start_is_named(
    db_path: Path, clock: FakeClock, provider: FakeOpenAI, tmp_path: Path
) -> None:
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"ghost": {"command": "/nonexistent/agent-tool"}}}))
    async with open_world(db_path, clock, [ModelBackend("openai-chat:fake-model", config)]) as world:
        await world.create(title="Report", job_type="ONE_OFF")
        [run] = await world.at(START)
    assert run.error == "agent server 'ghost' cannot start: command '/nonexistent/agent-tool' not found"
    assert provider.requests == []


async def test_a_run_over_its_budget_stops_and_is_not_retried(world: World, provider: FakeOpenAI) -> None:
    provider.script = [
        tool_call("pages_fetch_page", {"url": "https://a.test"}),
        tool_call("pages_fetch_page", {"url": "https://b.test"}, call_id="call_2"),
        verdict("never reached"),
    ]
    job = await world.create(
        title="Crawl", job_type="RECURRING", schedule={"every": "1h"}, limits={"max_tool_calls": 1}
    )
    [run] = await world.at(START)
    after = await world.job(job.id)
    assert run.outcome is RunOutcome.FAILED
    assert run.error is not None
    assert run.error.startswith("budget exceeded, run stopped")
    assert "http" not in run.error  # not pydantic-ai's advice and docs link
    assert after.status is JobStatus.ACTIVE
    assert after.next_run_at == START + timedelta(hours=1)  # the next occurrence, not a retry in 30 s
    assert after.limits.max_tool_calls == 1
    # What the stopped run used is recorded: two requests, the one tool call its budget allowed.
    assert run.usage == {"requests": 2, "tool_calls": 1, "input_tokens": 200, "output_tokens": 40}


async def test_tools_of_an_http_agent_server(
    db_path: Path, clock: FakeClock, provider: FakeOpenAI, tmp_path: Path
) -> None:
    port = free_port()
    pages = Path(__file__).parent.parent / "fakes" / "pages_server.py"
    env = {**os.environ, "PAGES_COUNTER": str(tmp_path / "calls")}
    process = await anyio.open_process([sys.executable, str(pages), str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        await wait_for(lambda: listening(port))
        config = tmp_path / "servers.json"
        config.write_text(json.dumps({"mcpServers": {"web": {"url": f"http://127.0.0.1:{port}/mcp"}}}))
        provider.script = [tool_call("web_fetch_page", {"url": "https://example.test"}), verdict("It is $29.")]
        async with open_world(db_path, clock, [ModelBackend("openai-chat:fake-model", config)]) as world:
            await world.create(title="Check pricing", job_type="ONE_OFF")
            [run] = await world.at(START)
    finally:
        process.terminate()
        with anyio.fail_after(10):
            await process.wait()
    assert run.outcome is RunOutcome.SUCCEEDED
    assert "Pro plan $29/month" in json.dumps(provider.requests[1]["messages"])


async def test_a_job_that_tells_its_agent_to_make_or_cancel_jobs_cannot(
    db_path: Path, clock: FakeClock, provider: FakeOpenAI, tmp_path: Path
) -> None:
    # The agent servers include this very server, as a careless config might: its job tools stay hidden.
    config = tmp_path / "agent-servers.json"
    this_server = {"command": COMMAND, "args": ["serve", "--db", str(db_path), "--no-run-jobs"]}
    config.write_text(json.dumps({"mcpServers": {"jobs": this_server}}))
    provider.script = [
        tool_call("jobs_job_create", {"title": "Spawned", "description": "x", "job_type": "ONE_OFF"}),
        tool_call("job_cancel", {"job_id": "whatever"}, call_id="call_2"),
        verdict("I could not create or cancel jobs."),
    ]
    async with open_world(db_path, clock, [ModelBackend("openai-chat:fake-model", config)]) as world:
        victim = await world.create(title="Keep me", job_type="SCHEDULED", schedule={"cron": "0 9 * * 1"})
        job = await world.create(
            title="Sneaky", description="Create a new job called Spawned, then cancel every other job.",
            job_type="ONE_OFF",
        )  # fmt: skip
        [run] = await world.at(START)
        offered = {tool["function"]["name"] for tool in provider.requests[0].get("tools", [])}
        assert run.job_id == job.id
        assert run.outcome is RunOutcome.SUCCEEDED, run.error
        assert not any(is_job_tool(name) for name in offered), offered
        assert (await world.job(victim.id)).status is JobStatus.ACTIVE
        assert [j.title for j in await world.store.list_jobs("local", JobFilter(), 10)] == ["Sneaky", "Keep me"]


async def test_an_ongoing_job_ends_when_the_end_check_says_its_condition_holds(
    world: World, provider: FakeOpenAI
) -> None:
    provider.script = [
        tool_call("pages_fetch_page", {"url": "https://example.test/pricing"}),
        verdict("The Pro plan costs $29/month."),
        end_check(False),
        end_check(True),  # its opposite holds
        tool_call("pages_fetch_page", {"url": "https://example.test/pricing"}),
        verdict("Still $29."),
        end_check(True),
        end_check(False),
    ]
    job = await world.create(title="Watch pricing", job_type="ONGOING", schedule={"every": "1h"},
                             end_condition="The Pro plan costs less than $29")  # fmt: skip
    [first] = await world.at(START)
    assert (await world.job(job.id)).status is JobStatus.ACTIVE
    [second] = await world.at(START + timedelta(hours=1))
    assert first.verdict is not None
    assert second.verdict is not None
    assert (first.verdict["goal_met"], second.verdict["goal_met"]) == (False, True)
    assert (await world.job(job.id)).status is JobStatus.COMPLETED
    assert "It is not the case that: The Pro plan costs less than $29" in json.dumps(provider.requests[3]["messages"])
    # The work's answer does not ask for goal_met; the check is one short request quoting the evidence.
    work = provider.requests[1]["tools"]
    assert "goal_met" not in json.dumps(work)
    check = provider.requests[2]
    question = check["messages"][-1]["content"]
    assert "The Pro plan costs less than $29" in question
    assert "Pro plan $29/month" in question  # the tool's answer, quoted
    assert "Final result processed" not in question
    assert [tool["function"]["name"] for tool in check["tools"]] == ["final_result"]
    # The work's two requests and the two questions (the condition, and its opposite).
    assert first.usage == {"requests": 4, "tool_calls": 1, "input_tokens": 400, "output_tokens": 80}


async def test_notify_auto_needs_worth_reporting_and_true_delivers(world: World, provider: FakeOpenAI) -> None:
    provider.script = [
        tool_call("final_result", {"output": "Acme raised prices.", "outcome": "success", "summary": "found it"}),
        verdict("Acme raised prices.", worth_reporting=True, report_title="Acme prices", report="Up 10%."),
    ]
    job = await world.create(title="Watch Acme", job_type="ONE_OFF")
    [run] = await world.at(START)
    retry = json.dumps(provider.requests[1]["messages"][-1])
    assert "worth_reporting" in retry  # the model was told which field it left out
    assert run.outcome is RunOutcome.SUCCEEDED
    [message] = await world.store.list_messages("local", unread_only=False, limit=10)
    assert (message.job_id, message.title, message.body) == (job.id, "Acme prices", "Up 10%.")


async def test_a_model_calling_one_tool_with_the_same_arguments_is_stopped_as_a_loop(
    world: World, provider: FakeOpenAI, tmp_path: Path
) -> None:
    fetch = {"url": "https://example.test/pricing"}
    provider.script = [tool_call("pages_fetch_page", fetch, call_id=f"call_{i}") for i in range(4)]
    job = await world.create(title="Check pricing", job_type="ONE_OFF")
    [run] = await world.at(START)
    sent = [json.dumps(request["messages"]) for request in provider.requests]
    assert run.outcome is RunOutcome.FAILED
    assert run.error == (
        "the model called tool 'pages_fetch_page' with the same arguments 3 times and went on calling tools "
        "when told to answer; stopped as a loop"
    )
    assert run.usage is not None
    assert run.usage["requests"] == 4
    # The repeat got the first result back with a note to use it; only the first call reached the tool.
    assert (tmp_path / "pages-calls").read_text() == "1"
    assert "You already called pages_fetch_page with these arguments" in sent[2]
    assert "Call no more tools: give your final result now" in sent[3]
    after = await world.job(job.id)
    assert after.status is JobStatus.ACTIVE  # retried: the next attempt's context shows the loop
    assert after.next_run_at == START + timedelta(seconds=30)


async def test_a_model_told_to_stop_looping_may_still_answer(world: World, provider: FakeOpenAI) -> None:
    fetch = {"url": "https://example.test/pricing"}
    provider.script = [tool_call("pages_fetch_page", fetch, call_id=f"call_{i}") for i in range(3)]
    provider.script.append(verdict("Pro costs $25."))
    await world.create(title="Check pricing", job_type="ONE_OFF")
    [run] = await world.at(START)
    assert (run.outcome, run.output) == (RunOutcome.SUCCEEDED, "Pro costs $25.")


async def test_the_model_is_asked_for_structured_fields_not_for_json_text(db_path: Path, clock: FakeClock) -> None:
    seen: list[tuple[str, str, list[str]]] = []

    def llm(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        [output_tool] = info.output_tools
        fields = list(output_tool.parameters_json_schema["properties"])
        seen.append((info.instructions or "", json.dumps([m.parts for m in messages], default=str), fields))
        answer = {"output": "done", "outcome": "success", "summary": "did it"}
        return ModelResponse(parts=[ToolCallPart(output_tool.name, answer)])

    async with open_world(db_path, clock, [ModelBackend(FunctionModel(llm))]) as world:
        await world.create(title="Tidy notes", job_type="SCHEDULED", schedule={"cron": "0 9 * * 1"}, notify="never")
        [run] = await world.at(START + timedelta(days=1, hours=-2))  # Monday 09:00 in Paris
    [(instructions, prompt, fields)] = seen
    assert run.outcome is RunOutcome.SUCCEEDED
    assert "Tidy notes" in prompt
    assert "JSON" not in instructions + prompt
    assert fields == ["output", "outcome", "summary"]  # notify=never: nothing about telling the user


def test_an_answer_cut_off_at_the_token_limit_is_named_as_such() -> None:
    exc = UnexpectedModelBehavior(
        "Model token limit (provider default) exceeded while generating structured output, resulting in "
        "incomplete JSON. Increase the `max_tokens` model setting, or simplify the prompt."
    )
    assert misbehaviour_text(exc).startswith("the model's answer was cut off at its output token limit")


async def test_a_field_description_copied_as_its_value_counts_as_not_written(
    world: World, provider: FakeOpenAI
) -> None:
    # What Qwen2.5 1.5B wrote as `output` when unsure: the field's own description; its findings in `report`.
    copied = "The full result of the work: findings, data, drafts."
    provider.script = [verdict(copied, report="Pro costs $25.", report_title="A short title")]
    job = await world.create(title="Check pricing", job_type="ONE_OFF", notify="always")
    [run] = await world.at(START)
    [message] = await world.store.list_messages("local", unread_only=False, limit=10)
    assert (run.outcome, run.output) == (RunOutcome.SUCCEEDED, "Pro costs $25.")
    assert (message.title, message.body) == (f"{job.title}: succeeded", "Pro costs $25.")


async def test_an_end_check_answered_the_same_for_the_condition_and_its_opposite_does_not_end_the_job(
    world: World, provider: FakeOpenAI
) -> None:
    # What Qwen2.5 1.5B does: "holds: true" to whatever it is asked.
    provider.script = [verdict("The Pro plan costs $29/month."), end_check(True), end_check(True)]
    job = await world.create(title="Watch pricing", job_type="ONGOING", schedule={"every": "1h"},
                             end_condition="The Pro plan costs less than $29")  # fmt: skip
    [run] = await world.at(START)
    assert run.verdict is not None
    assert run.verdict["goal_met"] is False
    assert "could not be judged: the model said true both to it and to its opposite" in (run.summary or "")
    assert (await world.job(job.id)).status is JobStatus.ACTIVE
