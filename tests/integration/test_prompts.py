"""Prompts a client can offer its user: check the inbox, schedule a job."""

from __future__ import annotations

import logging

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, GetPromptResult, TextContent

from tests.conftest import ConnectFn

pytestmark = pytest.mark.anyio


async def test_the_prompts_are_listed_and_guide_the_model(connect: ConnectFn) -> None:
    async with connect() as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        inbox = await client.get_prompt("check_inbox")
        schedule = await client.get_prompt("schedule_job", {"what": "chase unpaid invoices every Monday"})
        plain = await client.get_prompt("schedule_job")
    assert set(listed) == {"check_inbox", "schedule_job"}
    assert all(p.description for p in listed.values())
    assert [a.name for a in listed["schedule_job"].arguments or []] == ["what"]
    assert "inbox_list" in text_of(inbox)
    text = text_of(schedule)
    assert "Help me set up a background job: chase unpaid invoices every Monday." in text
    for guidance in ("ONE_OFF", "SCHEDULED", "RECURRING", "ONGOING", "end condition", "job_retrieval_semantic",
                     "job_create", "schedule_text"):  # fmt: skip
        assert guidance in text
    assert "Help me set up a background job." in text_of(plain)


async def test_an_unknown_prompt_or_argument_is_named_and_not_logged_as_a_crash(
    connect: ConnectFn, caplog: pytest.LogCaptureFixture
) -> None:
    errors = {}
    async with connect() as client:
        for name, arguments in (("schedule", None), ("schedule_job", {"wat": "x"}), ("check_inbox", {"all": "1"})):
            with pytest.raises(MCPError) as refused:
                await client.get_prompt(name, arguments)
            errors[name] = refused.value.error
    assert {error.code for error in errors.values()} == {INVALID_PARAMS}
    assert (
        errors["schedule"].message == "unknown prompt 'schedule'; this server's prompts are: check_inbox, schedule_job"
    )
    assert errors["schedule_job"].message == "prompt 'schedule_job' has no argument 'wat'; it takes: what"
    assert errors["check_inbox"].message == "prompt 'check_inbox' has no argument 'all'; it takes: no arguments"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def text_of(result: GetPromptResult) -> str:
    [message] = result.messages
    assert isinstance(message.content, TextContent)
    return message.content.text
