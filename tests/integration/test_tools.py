"""Every tool through a real MCP client against a real SQLite file: normal paths and refusals."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import InboxMessage, new_id
from mcp_server_jobs.scheduler.backends.agent_tools import JOB_TOOLS
from mcp_server_jobs.store.sqlite import SQLiteStore
from tests.conftest import START, ConnectFn, dump, error_text, ok

pytestmark = pytest.mark.anyio

TOOLS = {
    "job_create",
    "job_retrieval_semantic",
    "job_retrieval_by_id",
    "job_retrieval_by_keywords",
    "job_update",
    "job_pause",
    "job_cancel",
    "job_run_now",
    "inbox_list",
    "inbox_mark_read",
    "jobs_overview",
}
MONDAY_REMINDER = {
    "title": "Pending invoices reminder",
    "description": "Every Monday, list the invoices still unpaid and remind me to chase them.",
    "job_type": "SCHEDULED",
    "schedule": {"cron": "0 9 * * 1"},
    "related_entities": [{"name": "Acme Corp", "kind": "company"}],
}


async def create(client: Client, **overrides: Any) -> dict[str, Any]:
    return ok(await client.call_tool("job_create", {**MONDAY_REMINDER, **overrides}))


async def test_tool_list_publishes_schemas_descriptions_and_hints(connect: ConnectFn) -> None:
    async with connect() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert client.instructions is not None
        assert "inbox_list" in client.instructions
        assert "every Monday" in client.instructions
    assert set(tools) == TOOLS
    assert JOB_TOOLS == TOOLS  # the tools a job's agent must never get are exactly these
    # An argument is described once in tools/list: job_update's title is described by job_create's.
    described = {name for t in tools.values() for name, p in t.input_schema["properties"].items() if "description" in p}
    for tool in tools.values():
        assert tool.description
        assert tool.output_schema is not None
        assert tool.annotations is not None
        for name in tool.input_schema["properties"]:
            assert name in described, f"{tool.name}.{name} has no description"
    create_schema = tools["job_create"].input_schema
    assert set(create_schema["required"]) == {"title", "description", "job_type"}
    assert create_schema["properties"]["title"]["maxLength"] == 200
    assert tools["job_create"].output_schema is not None
    assert "is_existing" in tools["job_create"].output_schema["properties"]
    assert tools["job_retrieval_by_id"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["job_cancel"].annotations.destructive_hint is True  # type: ignore[union-attr]


async def test_create_returns_schedule_sentence_and_next_runs(connect: ConnectFn) -> None:
    async with connect() as client:
        job = await create(client)
    assert job["id"].startswith("job_")
    assert job["status"] == "ACTIVE"
    assert job["schedule_text"] == "every Monday at 09:00 (Europe/Paris)"
    assert job["next_run_at"] == "2026-11-23T09:00:00+01:00"
    assert job["next_runs"] == ["2026-11-23T09:00:00+01:00", "2026-11-30T09:00:00+01:00", "2026-12-07T09:00:00+01:00"]
    assert job["is_existing"] is False
    # The default backends are model and sampling; no model is set and no sampling client is connected.
    [warning] = job["warnings"]
    assert "No agent backend can run jobs" in warning
    assert "no model set" in warning


async def test_each_job_type(connect: ConnectFn) -> None:
    async with connect() as client:
        now_job = await create(client, job_type="ONE_OFF", schedule={})
        later = await create(client, job_type="ONE_OFF", schedule={"run_at": "2026-11-23T07:00:00"})
        aware = await create(client, job_type="ONE_OFF", schedule={"run_at": "2026-11-23T07:00:00-05:00"})
        every = await create(client, job_type="RECURRING", schedule={"every": "6h", "max_runs": 2})
        watch = await create(
            client, job_type="ONGOING", schedule={"every": "1h"}, end_condition="The price is below $20"
        )
    assert now_job["next_run_at"] == "2026-11-22T11:00:00+01:00"
    assert now_job["next_runs"] == ["2026-11-22T11:00:00+01:00"]
    assert later["next_run_at"] == "2026-11-23T07:00:00+01:00"  # naive: read in the job's zone
    assert aware["next_run_at"] == "2026-11-23T13:00:00+01:00"  # aware: its own offset, shown in the zone
    assert every["next_runs"] == ["2026-11-22T11:00:00+01:00", "2026-11-22T17:00:00+01:00"]
    assert watch["schedule"]["max_runs"] == 100
    assert watch["schedule"]["end_at"] == "2026-12-22T11:00:00+01:00"


async def test_dedup_key_returns_the_live_job(connect: ConnectFn, db_path: Path) -> None:
    async with connect() as client:
        first = await create(client, dedup_key="invoices-weekly")
        again = await create(client, dedup_key="invoices-weekly", title="A retried call")
        listed = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoices"}))
    assert again["is_existing"] is True
    assert again["id"] == first["id"]
    assert again["title"] == first["title"]
    assert len(listed["results"]) == 1


async def test_dedup_key_frees_up_once_the_job_is_cancelled(connect: ConnectFn) -> None:
    async with connect() as client:
        first = await create(client, dedup_key="k")
        ok(await client.call_tool("job_cancel", {"job_id": first["id"]}))
        second = await create(client, dedup_key="k")
    assert second["is_existing"] is False
    assert second["id"] != first["id"]


async def test_retrieval_by_id_keywords_and_semantic(connect: ConnectFn) -> None:
    async with connect() as client:
        job = await create(client)
        await create(client, title="Weekly standup notes", description="Summarise the standup.", related_entities=[])
        detail = ok(await client.call_tool("job_retrieval_by_id", {"job_id": job["id"], "runs": 5}))
        by_entity = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "acme"}))
        both = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoice weekly", "match": "all"}))
        either = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoice standup"}))
        semantic = ok(await client.call_tool("job_retrieval_semantic", {"query": "chasing unpaid invoices"}))
        filtered = ok(
            await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoices", "status": ["PAUSED"]})
        )
    assert detail["id"] == job["id"]
    assert detail["runs"] == []
    assert [r["id"] for r in by_entity["results"]] == [job["id"]]
    assert "**Acme**" in by_entity["results"][0]["snippet"]
    assert both["results"] == []
    assert len(either["results"]) == 2
    assert semantic["mode"] == "hybrid"
    assert semantic["results"][0]["id"] == job["id"]
    assert filtered["results"] == []


@pytest.mark.parametrize("keywords", ["foo AND", '"x', "NEAR(", "a' OR 1=1 --", "description:x", "c++ (beta)"])
async def test_fts_syntax_in_keywords_is_plain_text(connect: ConnectFn, keywords: str) -> None:
    async with connect() as client:
        await create(client, title="x marks the spot", description="foo near a beta")
        found = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": keywords}))
    assert len(found["results"]) == 1


async def test_keywords_without_words_are_refused(connect: ConnectFn) -> None:
    async with connect() as client:
        text = error_text(await client.call_tool("job_retrieval_by_keywords", {"keywords": "((( --"}))
    assert "no words" in text


async def test_update_recomputes_next_run(connect: ConnectFn) -> None:
    async with connect() as client:
        job = await create(client)
        moved = ok(
            await client.call_tool(
                "job_update", {"job_id": job["id"], "schedule": {"cron": "0 10 * * 2"}, "title": "Invoices (Tue)"}
            )
        )
        retimed = ok(
            await client.call_tool("job_update", {"job_id": job["id"], "schedule": {"timezone": "America/New_York"}})
        )
    assert moved["title"] == "Invoices (Tue)"
    assert moved["schedule_text"] == "every Tuesday at 10:00 (Europe/Paris)"
    assert moved["next_run_at"] == "2026-11-24T10:00:00+01:00"
    assert retimed["schedule"]["cron"] == "0 10 * * 2"
    assert retimed["next_run_at"] == "2026-11-24T10:00:00-05:00"


async def test_pause_and_resume_from_now(connect: ConnectFn, clock: FakeClock) -> None:
    async with connect() as client:
        job = await create(client)
        paused = ok(await client.call_tool("job_pause", {"job_id": job["id"], "reason": "on holiday"}))
        again = ok(await client.call_tool("job_pause", {"job_id": job["id"]}))
        clock.advance(timedelta(days=15))
        resumed = ok(await client.call_tool("job_update", {"job_id": job["id"], "status": "ACTIVE"}))
    assert paused["status"] == "PAUSED"
    assert paused["status_reason"] == "on holiday"
    assert paused["next_run_at"] is None
    assert again["status"] == "PAUSED"
    assert resumed["status"] == "ACTIVE"
    # Resumed on Monday 7 December at 11:00, after that day's 09:00: the next Monday, no catch-up burst.
    assert resumed["next_run_at"] == "2026-12-14T09:00:00+01:00"


async def test_cancel_is_final(connect: ConnectFn, db_path: Path) -> None:
    async with connect() as client:
        job = await create(client)
        cancelled = ok(await client.call_tool("job_cancel", {"job_id": job["id"], "reason": "not needed"}))
        before = dump(db_path)
        revive = error_text(await client.call_tool("job_update", {"job_id": job["id"], "status": "ACTIVE"}))
        pause = error_text(await client.call_tool("job_pause", {"job_id": job["id"]}))
        archived = ok(await client.call_tool("job_update", {"job_id": job["id"], "status": "ARCHIVED"}))
        hidden = ok(await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoices"}))
        shown = ok(
            await client.call_tool("job_retrieval_by_keywords", {"keywords": "invoices", "status": ["ARCHIVED"]})
        )
    assert cancelled["status"] == "CANCELLED"
    assert "CANCELLED" in revive
    assert "job_update can set: ARCHIVED" in revive
    assert "nothing to pause: it has ended" in pause
    assert archived["status"] == "ARCHIVED"
    assert hidden["results"] == []
    assert [r["id"] for r in shown["results"]] == [job["id"]]
    assert before != dump(db_path)  # the archive did write


async def test_update_refuses_statuses_a_client_may_not_set(connect: ConnectFn, db_path: Path) -> None:
    async with connect() as client:
        job = await create(client)
        before = dump(db_path)
        in_progress = error_text(await client.call_tool("job_update", {"job_id": job["id"], "status": "IN_PROGRESS"}))
        completed = error_text(await client.call_tool("job_update", {"job_id": job["id"], "status": "COMPLETED"}))
        nothing = error_text(await client.call_tool("job_update", {"job_id": job["id"]}))
    assert all(status in in_progress for status in ("ACTIVE", "COMPLETED", "ARCHIVED"))
    assert "Only ONGOING" in completed
    assert "at least one field" in nothing
    assert dump(db_path) == before


async def test_ongoing_goal_met_from_the_chat(connect: ConnectFn) -> None:
    async with connect() as client:
        job = await create(client, job_type="ONGOING", schedule={"every": "1h"}, end_condition="A reply arrived")
        done = ok(await client.call_tool("job_update", {"job_id": job["id"], "status": "COMPLETED"}))
    assert done["status"] == "COMPLETED"
    assert done["next_run_at"] is None


async def test_dependencies_gate_and_block(connect: ConnectFn) -> None:
    async with connect() as client:
        proposal = await create(client, job_type="ONE_OFF", schedule={}, title="Send the proposal")
        follow_up = await create(
            client, job_type="ONE_OFF", schedule={"delay": "3d"}, title="Follow up", depends_on=[proposal["id"]]
        )
        escalate = await create(client, job_type="ONE_OFF", schedule={}, title="Escalate", depends_on=[follow_up["id"]])
        ok(await client.call_tool("job_cancel", {"job_id": follow_up["id"]}))
        blocked = ok(await client.call_tool("job_retrieval_by_id", {"job_id": escalate["id"]}))
    assert follow_up["status"] == "PENDING"
    assert follow_up["next_run_at"] is None
    assert follow_up["schedule"]["delay"] == "3d"  # counted from when the proposal completes
    assert follow_up["schedule_text"] == "once, 3 days after its dependencies complete"
    assert proposal["id"] in follow_up["status_reason"]
    assert blocked["status"] == "BLOCKED"
    assert follow_up["id"] in blocked["status_reason"]
    assert "CANCELLED" in blocked["status_reason"]


async def test_retry_needs_runs_left_in_the_schedule(connect: ConnectFn, db_path: Path) -> None:
    async with connect() as client:
        job = await create(client, job_type="RECURRING", schedule={"every": "1h", "max_runs": 3})
    with sqlite3.connect(db_path) as conn:  # as if its three runs had happened and the last one failed
        conn.execute("UPDATE jobs SET status = 'FAILED', run_count = 3 WHERE id = ?", (job["id"],))
    async with connect() as client:
        before = dump(db_path)
        refused = error_text(await client.call_tool("job_update", {"job_id": job["id"], "status": "ACTIVE"}))
        assert dump(db_path) == before
        retried = ok(
            await client.call_tool("job_update", {"job_id": job["id"], "status": "ACTIVE", "schedule": {"max_runs": 5}})
        )
    assert "max_runs" in refused
    assert retried["status"] == "ACTIVE"
    assert len(retried["next_runs"]) == 2


async def test_resuming_a_job_paused_while_waiting_keeps_it_waiting(connect: ConnectFn) -> None:
    async with connect() as client:
        first = await create(client, title="First")
        second = await create(client, title="Second", depends_on=[first["id"]])
        ok(await client.call_tool("job_pause", {"job_id": second["id"]}))
        resumed = ok(await client.call_tool("job_update", {"job_id": second["id"], "status": "ACTIVE"}))
    assert resumed["status"] == "PENDING"
    assert first["id"] in resumed["status_reason"]
    assert resumed["next_run_at"] is None


async def test_completed_dependency_frees_the_waiting_job(connect: ConnectFn) -> None:
    async with connect() as client:
        watch = await create(client, job_type="ONGOING", schedule={"every": "1h"}, end_condition="It changed")
        report = await create(
            client, job_type="ONE_OFF", schedule={}, title="Report the change", depends_on=[watch["id"]]
        )
        ok(await client.call_tool("job_update", {"job_id": watch["id"], "status": "COMPLETED"}))
        freed = ok(await client.call_tool("job_retrieval_by_id", {"job_id": report["id"]}))
    assert report["status"] == "PENDING"
    assert freed["status"] == "ACTIVE"
    assert freed["next_run_at"] == "2026-11-22T11:00:00+01:00"


async def test_dependency_cycle_is_refused(connect: ConnectFn, db_path: Path) -> None:
    async with connect() as client:
        a = await create(client, title="A")
        b = await create(client, title="B", depends_on=[a["id"]])
        c = await create(client, title="C", depends_on=[b["id"]])
        before = dump(db_path)
        cycle = error_text(await client.call_tool("job_update", {"job_id": a["id"], "depends_on": [c["id"]]}))
        itself = error_text(await client.call_tool("job_update", {"job_id": a["id"], "depends_on": [a["id"]]}))
    assert "wait on itself" in cycle
    assert "wait on itself" in itself
    assert dump(db_path) == before


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"schedule": {"cron": "0 9 * *"}}, "has 4 fields"),
    ({"schedule": {"cron": "0 9 * * 1", "timezone": "Europe/Pariss"}}, "unknown timezone"),
    ({"job_type": "ONE_OFF", "schedule": {"run_at": "2026-11-01T09:00:00"}}, "in the past"),
    ({"job_type": "ONE_OFF", "schedule": {"run_at": "next tuesday"}}, "ISO 8601"),
    ({"job_type": "ONGOING", "schedule": {"every": "1h"}}, "ONGOING jobs need end_condition"),
    ({"end_condition": "never"}, "only to ONGOING"),
    ({"title": "x" * 201}, "at most 200 characters"),
    ({"description": ""}, "at least 1 character"),
    ({"related_entities": [{"name": "n"}] * 51}, "at most 50 items"),
    ({"depends_on": ["job_x"] * 21}, "at most 20 items"),
    ({"metadata": {"blob": "x" * 9000}}, "under 8192 bytes"),
    ({"depends_on": ["job_doesnotexist"]}, "No job with id 'job_doesnotexist'"),
    ({"job_type": "DAILY"}, "ONE_OFF"),
    ({"schedule": {"cron": "0 9 * * 1", "every": "1h"}}, "no every"),
    ({"notify": "sometimes"}, "auto"),
]


@pytest.mark.parametrize(("overrides", "hint"), BAD_CREATES)
async def test_bad_create_is_explained_and_writes_nothing(
    connect: ConnectFn, db_path: Path, overrides: dict[str, Any], hint: str
) -> None:
    async with connect() as client:
        await create(client)
        before = dump(db_path)
        text = error_text(await client.call_tool("job_create", {**MONDAY_REMINDER, **overrides}))
    assert hint in text
    assert dump(db_path) == before


# One bad call per tool (beyond those above), each with the words the error must contain.
BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("job_retrieval_semantic", {"query": ""}, "at least 1 character"),
    ("job_retrieval_semantic", {"query": "x", "limit": 0}, "limit is 0; give a value from 1 to 100"),
    ("job_retrieval_by_id", {"job_id": "JOB", "runs": -1}, "runs is -1; give a value from 0 to 100"),
    ("job_retrieval_by_keywords", {"keywords": "x", "match": "some"}, "'some' is not one of any, all"),
    ("job_retrieval_by_keywords", {"keywords": "x", "status": ["SLEEPING"]}, "ACTIVE"),
    ("job_update", {"job_id": "JOB", "schedule": {"cron": "0 25 * * *"}}, "not valid"),
    ("job_update", {"job_id": "JOB", "end_condition": "done"}, "only to ONGOING"),
    ("job_update", {"job_id": "JOB", "status": "PAUSED"}, "use job_pause"),
    ("job_update", {"job_id": "JOB", "status": "DONE"}, "'DONE' is not one of ACTIVE, COMPLETED, ARCHIVED"),
    ("job_pause", {"job_id": "JOB", "reason": "r" * 501}, "at most 500 characters"),
    ("job_cancel", {"job_id": ""}, "at least 1 character"),
    ("inbox_list", {"limit": 1000}, "limit is 1000; give a value from 1 to 200"),
    ("inbox_mark_read", {}, "not both and not neither"),
]


@pytest.mark.parametrize(("tool", "arguments", "hint"), BAD_CALLS)
async def test_bad_call_is_explained_and_writes_nothing(
    connect: ConnectFn, db_path: Path, tool: str, arguments: dict[str, Any], hint: str
) -> None:
    async with connect() as client:
        job = await create(client)
        before = dump(db_path)
        filled = {key: job["id"] if value == "JOB" else value for key, value in arguments.items()}
        text = error_text(await client.call_tool(tool, filled))
    assert hint in text
    assert dump(db_path) == before


async def test_misspelt_argument_is_refused_by_name(connect: ConnectFn, db_path: Path) -> None:
    async with connect() as client:
        before = dump(db_path)
        text = error_text(await client.call_tool("job_create", {**MONDAY_REMINDER, "dedupe_key": "k"}))
    assert "unknown argument(s) 'dedupe_key'" in text
    assert "dedup_key" in text
    assert dump(db_path) == before


async def test_unknown_id_in_every_tool(connect: ConnectFn, db_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("job_retrieval_by_id", {"job_id": "job_nope"}),
        ("job_update", {"job_id": "job_nope", "title": "t"}),
        ("job_pause", {"job_id": "job_nope"}),
        ("job_cancel", {"job_id": "job_nope"}),
    ]
    async with connect() as client:
        await create(client)
        before = dump(db_path)
        for name, arguments in calls:
            assert "No job with id 'job_nope'" in error_text(await client.call_tool(name, arguments)), name
        missing_message = error_text(await client.call_tool("inbox_mark_read", {"message_ids": ["msg_nope"]}))
    assert "No inbox message with id 'msg_nope'" in missing_message
    assert dump(db_path) == before


async def test_another_users_job_is_not_found_with_the_same_words(connect: ConnectFn, db_path: Path) -> None:
    async with connect(user="alice") as alice:
        job = await create(alice)
    async with connect(user="bob") as bob:
        before = dump(db_path)
        calls: list[tuple[str, dict[str, Any]]] = [
            ("job_retrieval_by_id", {"job_id": job["id"]}),
            ("job_update", {"job_id": job["id"], "title": "mine now"}),
            ("job_pause", {"job_id": job["id"]}),
            ("job_cancel", {"job_id": job["id"]}),
        ]
        for name, arguments in calls:
            theirs = error_text(await bob.call_tool(name, arguments))
            missing = error_text(await bob.call_tool(name, {**arguments, "job_id": "job_0000000000"}))
            assert theirs == missing.replace("job_0000000000", job["id"]), name
        depends = error_text(await bob.call_tool("job_create", {**MONDAY_REMINDER, "depends_on": [job["id"]]}))
        found = ok(await bob.call_tool("job_retrieval_by_keywords", {"keywords": "invoices"}))
        assert dump(db_path) == before
    assert "No job with id" in depends
    assert found["results"] == []


async def test_inbox_list_mark_read_and_resources(connect: ConnectFn, db_path: Path, clock: FakeClock) -> None:
    async with SQLiteStore(db_path) as store:
        for n, user in enumerate(["local", "local", "someone-else"]):
            await store.add_message(
                InboxMessage(
                    id=new_id("msg"),
                    user_id=user,
                    job_id=None,
                    run_id=None,
                    title=f"Report {n}",
                    body="The findings.",
                    created_at=START + timedelta(minutes=n),
                )
            )
    async with connect() as client:
        inbox = ok(await client.call_tool("inbox_list", {}))
        unread = await client.read_resource("inbox://unread")
        first = inbox["results"][0]["id"]
        marked = ok(await client.call_tool("inbox_mark_read", {"message_ids": [first]}))
        again = ok(await client.call_tool("inbox_mark_read", {"message_ids": [first]}))
        both = error_text(await client.call_tool("inbox_mark_read", {"message_ids": [first], "all": True}))
        rest = ok(await client.call_tool("inbox_mark_read", {"all": True}))
        everything = ok(await client.call_tool("inbox_list", {"unread_only": False}))
    assert [m["title"] for m in inbox["results"]] == ["Report 1", "Report 0"]
    assert inbox["unread_count"] == 2
    assert "Report 1" in unread.contents[0].text  # type: ignore[union-attr]
    assert "Report 2" not in unread.contents[0].text  # type: ignore[union-attr]
    assert marked == {"marked": 1, "unread_count": 1}
    assert again == {"marked": 0, "unread_count": 1}
    assert "not both" in both
    assert rest == {"marked": 1, "unread_count": 0}
    assert all(m["read_at"] for m in everything["results"])
    assert len(everything["results"]) == 2


async def test_job_resource(connect: ConnectFn) -> None:
    async with connect() as client:
        job = await create(client)
        content = await client.read_resource(f"jobs://{job['id']}")
        missing = {}
        for uri in ("jobs://job_doesnotexist0", "jobs://" + "x" * 100, "inbox://later"):
            with pytest.raises(MCPError) as refused:
                await client.read_resource(uri)
            missing[uri] = refused.value.error
    assert job["id"] in content.contents[0].text  # type: ignore[union-attr]
    assert '"runs": []' in content.contents[0].text  # type: ignore[union-attr]
    # Not found, as the protocol says (-32602), with what to do: not an internal error.
    assert {error.code for error in missing.values()} == {INVALID_PARAMS}
    assert missing["jobs://job_doesnotexist0"].message.startswith("No job with id 'job_doesnotexist0'. Check the id")
    assert "inbox://unread or inbox://all" in missing["inbox://later"].message


async def test_a_user_at_the_live_job_limit_is_told_and_nothing_is_created(connect: ConnectFn, db_path: Path) -> None:
    async with connect(max_live_jobs=2) as client:
        first = await create(client, dedup_key="first")
        await create(client)
        before = dump(db_path)
        refused = error_text(await client.call_tool("job_create", MONDAY_REMINDER))
        unchanged = dump(db_path)
        retried = await create(client, dedup_key="first")  # a retried call still finds its job
        ok(await client.call_tool("job_cancel", {"job_id": first["id"]}))
        after_cancel = await create(client)
    async with connect(user="bob", max_live_jobs=2) as bob:
        others = await create(bob)
    assert "you have 2 live jobs, this server's limit per user" in refused
    assert "job_cancel" in refused
    assert unchanged == before
    assert retried["is_existing"]
    assert after_cancel["status"] == "ACTIVE"
    assert others["status"] == "ACTIVE"
