"""What a client's model sends near the mark, through a real MCP client: accepted when unambiguous,
refused in our words when not (no pydantic text, class names or links), and nothing written then."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import ConnectFn, dump, error_text, ok

pytestmark = pytest.mark.anyio

BASE = {"title": "Pending invoices", "description": "List the unpaid invoices.", "job_type": "SCHEDULED"}
WEEKLY = {"cron": "0 9 * * 1"}


async def first_job(client: Client) -> str:
    return str(ok(await client.call_tool("job_create", {**BASE, "schedule": WEEKLY}))["id"])


Check = Callable[[dict[str, Any], str], None]

# (what the model sent, the call with FIRST standing for an existing job's id, what the answer shows)
ACCEPTED: list[tuple[str, str, dict[str, Any], Check]] = [
    (
        "null optionals",
        "job_create",
        {**BASE, "job_type": "ONE_OFF", "schedule": None, "end_condition": None, "depends_on": None,
         "related_entities": None, "notify": None, "metadata": None, "limits": None, "dedup_key": None},
        lambda job, _: (job["job_type"], job["notify"], job["schedule"]["cron"]) == ("ONE_OFF", "auto", None),
    ),
    (
        "null inside the schedule",
        "job_create",
        {**BASE, "schedule": {"cron": "0 9 * * 1", "timezone": None, "end_at": None}},
        lambda job, _: job["schedule_text"] == "every Monday at 09:00 (Europe/Paris)",
    ),
    ("lower-case type", "job_create", {**BASE, "job_type": "scheduled", "schedule": WEEKLY},
     lambda job, _: job["job_type"] == "SCHEDULED"),
    ("hyphenated type", "job_create", {**BASE, "job_type": "One-Off"}, lambda job, _: job["job_type"] == "ONE_OFF"),
    ("upper-case notify", "job_create", {**BASE, "schedule": WEEKLY, "notify": "ALWAYS"},
     lambda job, _: job["notify"] == "always"),
    ("one id for depends_on", "job_create", {**BASE, "job_type": "ONE_OFF", "depends_on": "FIRST"},
     lambda job, first: job["depends_on"] == [first] and job["status"] == "PENDING"),
    ("ids in one string", "job_create", {**BASE, "job_type": "ONE_OFF", "depends_on": " FIRST, FIRST "},
     lambda job, first: job["depends_on"] == [first]),
    ("entities as plain names", "job_create",
     {**BASE, "schedule": WEEKLY, "related_entities": ["Acme", {"name": "Globex", "kind": "company"}]},
     lambda job, _: [e["name"] for e in job["related_entities"]] == ["Acme", "Globex"]),
    ("one entity name", "job_create", {**BASE, "schedule": WEEKLY, "related_entities": "Acme Corp"},
     lambda job, _: job["related_entities"] == [{"name": "Acme Corp", "kind": None, "details": None}]),
    ("schedule as JSON text", "job_create", {**BASE, "schedule": json.dumps(WEEKLY)},
     lambda job, _: job["schedule"]["cron"] == "0 9 * * 1"),
    ("JSON-looking description kept as text", "job_create",
     {**BASE, "schedule": WEEKLY, "description": '{"steps": ["list", "remind"]}'},
     lambda job, _: job["description"] == '{"steps": ["list", "remind"]}'),
    ("null inside limits", "job_create",
     {**BASE, "schedule": WEEKLY, "limits": {"max_tokens": None, "max_requests": 5}},
     lambda job, _: job["limits"]["max_requests"] == 5),
    ("id with spaces around it", "job_retrieval_by_id", {"job_id": "  FIRST\n"}, lambda job, first: job["id"] == first),
    ("keywords as a list", "job_retrieval_by_keywords", {"keywords": ["unpaid", "invoices"], "match": "ALL"},
     lambda found, first: [hit["id"] for hit in found["results"]] == [first]),
    ("one status, lower case", "job_retrieval_by_keywords",
     {"keywords": "invoices", "status": "active", "job_type": "scheduled"},
     lambda found, first: [hit["id"] for hit in found["results"]] == [first]),
    ("statuses in one string", "job_retrieval_semantic", {"query": "invoices", "status": "PAUSED, completed"},
     lambda found, _: found["results"] == []),
    ("a number as text", "inbox_list", {"limit": "5", "unread_only": "false"},
     lambda inbox, _: inbox["results"] == [] and inbox["unread_count"] == 0),
    ("notify in mixed case", "job_update", {"job_id": "FIRST", "notify": "On_Completion"},
     lambda job, _: job["notify"] == "on_completion"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "tool", "arguments", "check"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
async def test_a_near_miss_is_accepted(
    connect: ConnectFn, case: str, tool: str, arguments: dict[str, Any], check: Check
) -> None:
    async with connect() as client:
        first = await first_job(client)
        filled = json.loads(json.dumps(arguments).replace("FIRST", first))
        answer = ok(await client.call_tool(tool, filled))
    assert check(answer, first), answer


# The clock stands at START, Sunday 2026-11-22 11:00 in Europe/Paris (the server's timezone here).
# (job_type, the schedule as one string, the schedule_text echoed, the first of next_runs)
SPELLED: list[tuple[str, str, str, str]] = [
    ("SCHEDULED", "0 9 * * 1", "every Monday at 09:00 (Europe/Paris)", "2026-11-23T09:00:00+01:00"),
    ("SCHEDULED", "every monday at 9am", "every Monday at 09:00 (Europe/Paris)", "2026-11-23T09:00:00+01:00"),
    ("SCHEDULED", "weekdays at 8:30", "every weekday (Monday to Friday) at 08:30 (Europe/Paris)",
     "2026-11-23T08:30:00+01:00"),
    ("RECURRING", "every 2h", "every 2 hours from 2026-11-22 11:00 (Europe/Paris)", "2026-11-22T11:00:00+01:00"),
    ("ONGOING", "every 1h",
     "every 1 hour from 2026-11-22 11:00 (Europe/Paris), until 2026-12-22 11:00, at most 100 runs",
     "2026-11-22T11:00:00+01:00"),
    ("ONE_OFF", "in 30 minutes", "once at 2026-11-22 11:30 (Europe/Paris)", "2026-11-22T11:30:00+01:00"),
    ("ONE_OFF", "tomorrow at 9am", "once at 2026-11-23 09:00 (Europe/Paris)", "2026-11-23T09:00:00+01:00"),
    ("ONE_OFF", "2027-01-15 09:00", "once at 2027-01-15 09:00 (Europe/Paris)", "2027-01-15T09:00:00+01:00"),
]  # fmt: skip


@pytest.mark.parametrize(("job_type", "text", "sentence", "first_run"), SPELLED, ids=[case[1] for case in SPELLED])
async def test_a_schedule_written_as_one_string_is_read_and_echoed(
    connect: ConnectFn, job_type: str, text: str, sentence: str, first_run: str
) -> None:
    end = {"end_condition": "The invoices are paid"} if job_type == "ONGOING" else {}
    async with connect() as client:
        job = ok(await client.call_tool("job_create", {**BASE, **end, "job_type": job_type, "schedule": text}))
    assert job["schedule_text"] == sentence
    assert job["next_runs"][0] == first_run


async def test_a_string_schedule_changes_a_job_and_counts_after_its_dependencies(connect: ConnectFn) -> None:
    async with connect() as client:
        first = await first_job(client)
        moved = ok(await client.call_tool("job_update", {"job_id": first, "schedule": "every tuesday at 10am"}))
        chained = {**BASE, "job_type": "ONE_OFF", "depends_on": first, "schedule": "in 3 days"}
        follow_up = ok(await client.call_tool("job_create", chained))
    assert moved["schedule_text"] == "every Tuesday at 10:00 (Europe/Paris)"
    assert follow_up["status"] == "PENDING"
    assert follow_up["schedule_text"] == "once, 3 days after its dependencies complete"


# (what the model sent, the call, the words the refusal must contain)
REFUSED: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown type", "job_create", {**BASE, "job_type": "daily"},
     "job_type: 'daily' is not one of ONE_OFF, SCHEDULED, RECURRING, ONGOING (any case)"),
    ("missing title", "job_create", {key: value for key, value in BASE.items() if key != "title"},
     "title is required (Short name, shown in lists and the inbox)"),
    ("misspelt schedule field", "job_create", {**BASE, "schedule": {"crom": "0 9 * * 1"}},
     "schedule has no field 'crom'; it takes: cron, delay, end_at, every, max_runs, run_at, timeout, timezone"),
    ("schedule as a number", "job_create", {**BASE, "schedule": 9}, "schedule must be an object, not 9"),
    ("misspelt entity field", "job_create", {**BASE, "schedule": WEEKLY, "related_entities": [{"nam": "Acme"}]},
     "related_entities.0 has no field 'nam'; it takes: details, kind, name"),
    ("budget out of bounds", "job_create", {**BASE, "schedule": WEEKLY, "limits": {"max_requests": 0}},
     "limits.max_requests is 0; give a value from 1 to 1000"),
    ("title as a number", "job_create", {**BASE, "title": 5}, "title must be a string, not 5"),
    ("null in a list", "job_create", {**BASE, "job_type": "ONE_OFF", "depends_on": [None]},
     "depends_on.0 must be a string, not None"),
    ("words for a number", "job_retrieval_by_id", {"job_id": "FIRST", "runs": "many"},
     "runs must be a whole number, not 'many'"),
    ("not a boolean", "inbox_list", {"unread_only": "maybe"}, "unread_only must be true or false, not 'maybe'"),
    ("a list for text", "job_retrieval_semantic", {"query": ["a", 1]}, "query must be a string"),
    ("pause through update", "job_update", {"job_id": "FIRST", "status": "PAUSED"},
     "status: job_update does not set PAUSED; use job_pause. To pause it, call job_pause {\"job_id\": \"FIRST\"}."),
    ("cancel through update", "job_update", {"job_id": "FIRST", "status": "cancelled"}, "use job_cancel"),
    ("unknown status", "job_update", {"job_id": "FIRST", "status": "DONE"},
     "status: 'DONE' is not one of ACTIVE, COMPLETED, ARCHIVED (any case)"),
    ("cron on a one-off", "job_create", {**BASE, "job_type": "ONE_OFF", "schedule": "0 9 * * 1"},
     'schedule: "0 9 * * 1" is a cron expression, which repeats: use job_type SCHEDULED for it. For ONE_OFF write '
     'e.g. "tomorrow at 9am" or {"run_at": "2026-11-23T09:00:00"}'),
    ("delay on a calendar job", "job_create", {**BASE, "schedule": "in 30 minutes"},
     '"in 30 minutes" is a one-time start: use job_type ONE_OFF, or a cron for a calendar. For SCHEDULED write e.g. '
     '"every monday at 9am" or {"cron": "0 9 * * 1"}'),
    ("day and month unclear", "job_create", {**BASE, "job_type": "ONE_OFF", "schedule": "01/02/2027"},
     "day and month swap places from one country to the next; write it as YYYY-MM-DD"),
    ("no time in it", "job_create", {**BASE, "job_type": "ONE_OFF", "schedule": "soon"},
     '"soon" is not a schedule this server can read. For ONE_OFF write e.g.'),
    ("huge number of seconds", "job_create", {**BASE, "job_type": "RECURRING", "schedule": {"every": 1e308}},
     "schedule: every: 1e+308 is too long; the longest duration accepted is '36600d' (about 100 years)"),
    ("infinity", "job_create", {**BASE, "job_type": "RECURRING", "schedule": {"every": "Infinity"}},
     "schedule: every: 'Infinity' is not a duration; write e.g. '90s'"),
    ("2**63 seconds", "job_create", {**BASE, "job_type": "ONE_OFF", "schedule": {"delay": 2**63}},
     "schedule: delay: 9.223372036854776e+18 is too long"),
    ("too many digits", "job_create", {**BASE, "job_type": "ONE_OFF", "schedule": {"delay": "99999999999999999999s"}},
     "schedule: delay: '99999999999999999999s' is too long"),
    ("the calendar's last second", "job_create",
     {**BASE, "job_type": "ONE_OFF", "schedule": {"run_at": "9999-12-31T23:59:59-14:00"}},
     "is outside the dates accepted, 1900-01-01 to 8999-12-31 (UTC)"),
    ("minute step past the hour", "job_create", {**BASE, "schedule": {"cron": "*/61 * * * *"}},
     "the step 61 in the minute field is larger than its 60 values, so it fires only at minute 0 of every hour"),
    ("hour step past the day", "job_create", {**BASE, "schedule": {"cron": "0 */25 * * *"}},
     "for every 25 hours use job_type RECURRING with every='25h'"),
    ("a list for a duration", "job_create", {**BASE, "job_type": "RECURRING", "schedule": {"every": []}},
     "schedule.every must be a string or a number, not []"),
    ("an overlong schedule string", "job_create", {**BASE, "schedule": "every monday " * 20},
     "schedule is 260 characters long; at most 200 characters"),
    ("reversed range", "job_create", {**BASE, "schedule": {"cron": "1-0 * * * *"}},
     "the minute range 1-0 runs backwards"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "tool", "arguments", "words"), REFUSED, ids=[case[0] for case in REFUSED])
async def test_a_near_miss_is_refused_in_our_words(
    connect: ConnectFn, db_path: Path, case: str, tool: str, arguments: dict[str, Any], words: str
) -> None:
    async with connect() as client:
        first = await first_job(client)
        before = dump(db_path)
        text = error_text(await client.call_tool(tool, json.loads(json.dumps(arguments).replace("FIRST", first))))
    assert words.replace("FIRST", first) in text
    for leak in ("pydantic", "http", "Input should", "ScheduleInput", "Entity", "RunLimits", "[type="):
        assert leak not in text
    assert dump(db_path) == before


async def test_published_schemas_refuse_unknown_properties_and_carry_no_noise(connect: ConnectFn) -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools

    def schemas(node: dict[str, Any]) -> list[dict[str, Any]]:
        """`node` and every schema inside it (property names are not schemas)."""
        inner = [*node.get("properties", {}).values(), *node.get("anyOf", []), node.get("items", {})]
        return [node, *(found for item in inner if item for found in schemas(item))]

    for tool in tools:
        found = schemas(tool.input_schema)
        assert not any({"$defs", "$ref", "title"} & set(node) for node in found), tool.name
        assert {"type": "null"} not in found
        objects = [node for node in found if node.get("type") == "object"]
        free = tool.input_schema["properties"].get("metadata")
        assert all(node.get("additionalProperties") is False for node in objects if node is not free), tool.name


async def test_a_result_text_is_its_structured_content_once_compact(connect: ConnectFn) -> None:
    async with connect() as client:
        result = await client.call_tool("job_create", {**BASE, "schedule": WEEKLY})
    text = result.content[0].text  # type: ignore[union-attr]
    assert "\n" not in text
    assert json.loads(text) == result.structured_content


async def test_the_tools_cost_a_model_at_most_3k_tokens_to_read(connect: ConnectFn) -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools
    read = [{"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in tools]
    # About 4 bytes a token for English and JSON (bench/tokens.py measures it in BENCHMARKS.md).
    assert len(json.dumps(read, separators=(",", ":")).encode()) <= 3000 * 4
