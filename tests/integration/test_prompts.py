"""Prompts a client can offer its user: check the inbox, schedule a job."""

from __future__ import annotations

import pytest
from mcp_types import GetPromptResult, TextContent

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


def text_of(result: GetPromptResult) -> str:
    [message] = result.messages
    assert isinstance(message.content, TextContent)
    return message.content.text
