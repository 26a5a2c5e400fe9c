"""Several users on one HTTP server: bearer tokens, 401s, and no way into another user's jobs."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from tests.conftest import QUICK_AGENT, dump, error_text, ok, wait_for
from tests.integration.test_processes import COMMAND, listening, server

pytestmark = pytest.mark.anyio

INVOICES = {
    "title": "Pending invoices nudge",
    "description": "Every Monday, remind me to chase overdue invoices.",
    "job_type": "SCHEDULED",
    "schedule": {"cron": "0 9 * * 1"},
}


def token_cli(tokens: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "token", *args, "--tokens", str(tokens)], capture_output=True, text=True, timeout=60
    )


def add_token(tokens: Path, user: str) -> str:
    result = token_cli(tokens, "add", user)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@asynccontextmanager
async def signed_in(port: int, token: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
        async with Client(transport) as client:
            yield client


def test_token_add_list_revoke_keeps_only_hashes(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    alice = add_token(tokens, "alice")
    add_token(tokens, "bob")
    listed = token_cli(tokens, "list").stdout
    revoked = token_cli(tokens, "revoke", "bob")
    unknown = token_cli(tokens, "revoke", "carol")
    bad_user = token_cli(tokens, "add", "no spaces please")
    assert alice.startswith("mjt_")
    assert alice not in tokens.read_text()
    assert [line.split()[1] for line in listed.splitlines()] == ["alice", "bob"]
    assert revoked.returncode == 0
    assert "bob" not in token_cli(tokens, "list").stdout
    assert unknown.returncode == 2
    assert "no token has the id or user 'carol'" in unknown.stderr
    assert bad_user.returncode == 2
    assert oct(tokens.stat().st_mode & 0o777) == "0o600"


def test_a_public_address_without_tokens_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [COMMAND, "serve", "--transport", "http", "--host", "0.0.0.0", "--tokens", str(tmp_path / "none.json"),
         "--db", str(tmp_path / "jobs.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to serve 0.0.0.0 without tokens" in result.stderr
    assert not (tmp_path / "jobs.db").exists()


@pytest.fixture
def two_users(tmp_path: Path) -> tuple[str, str]:
    tokens = tmp_path / "tokens.json"
    return add_token(tokens, "alice"), add_token(tokens, "bob")


async def test_no_token_or_a_wrong_one_gets_401_and_a_huge_body_413(
    db_path: Path, tmp_path: Path, two_users: tuple[str, str]
) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    with server(db_path, tmp_path / "server.log") as (_, port):
        await wait_for(lambda: listening(port), seconds=30)
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx2.AsyncClient(timeout=10) as http:
            missing = await http.post(url, json=initialize)
            wrong = await http.post(url, json=initialize, headers={"Authorization": "Bearer mjt_not-a-token"})
            huge = await http.post(
                url,
                content=b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "' + b"x" * 5_000_000 + b'"}}',
                headers={"Authorization": f"Bearer {two_users[0]}", "Content-Type": "application/json",
                         "Accept": "application/json, text/event-stream"},
            )  # fmt: skip
        async with signed_in(port, two_users[0]) as alice:
            await alice.list_tools()
    assert huge.status_code == 413
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert two_users[0] not in (tmp_path / "server.log").read_text()


async def test_users_see_only_their_own_jobs_and_cannot_touch_the_others(
    db_path: Path, tmp_path: Path, two_users: tuple[str, str]
) -> None:
    with server(db_path, tmp_path / "server.log", run_jobs="false") as (_, port):
        await wait_for(lambda: listening(port), seconds=30)
        async with signed_in(port, two_users[0]) as alice, signed_in(port, two_users[1]) as bob:
            mine = ok(await alice.call_tool("job_create", INVOICES))
            theirs = ok(await bob.call_tool("job_create", INVOICES))
            seen = {
                "keywords": ok(await alice.call_tool("job_retrieval_by_keywords", {"keywords": "invoices"})),
                "semantic": ok(await alice.call_tool("job_retrieval_semantic", {"query": "chasing unpaid bills"})),
            }
            before = dump(db_path)
            missing = error_text(await bob.call_tool("job_retrieval_by_id", {"job_id": "job_doesnotexist0"}))
            refused = await _every_write_on(bob, mine["id"])
            with pytest.raises(MCPError) as resource:
                await bob.read_resource(f"jobs://{mine['id']}")
            after = dump(db_path)
    for answer in seen.values():
        assert [r["id"] for r in answer["results"]] == [mine["id"]]
    assert theirs["id"] != mine["id"]
    # Exactly what a job that does not exist gets (after the SDK's "Error executing tool <name>: ").
    expected = missing.split(": ", 1)[1].replace("job_doesnotexist0", mine["id"])
    for name, text in refused.items():
        assert text.endswith(expected), (name, text)
    assert resource.value.error.message == expected
    assert resource.value.error.code == INVALID_PARAMS
    assert after == before


async def _every_write_on(client: Client, job_id: str) -> dict[str, str]:
    calls: dict[str, dict[str, Any]] = {
        "job_retrieval_by_id": {"job_id": job_id},
        "job_update": {"job_id": job_id, "title": "mine now"},
        "job_pause": {"job_id": job_id},
        "job_cancel": {"job_id": job_id},
        "job_run_now": {"job_id": job_id},
        "job_create": {**INVOICES, "depends_on": [job_id]},
    }
    return {name: error_text(await client.call_tool(name, arguments)) for name, arguments in calls.items()}


async def test_inbox_messages_are_private(db_path: Path, tmp_path: Path, two_users: tuple[str, str]) -> None:
    with server(db_path, tmp_path / "server.log", backends="command", command=QUICK_AGENT, sweep_seconds="0.2") as (
        _,
        port,
    ):
        await wait_for(lambda: listening(port), seconds=30)
        async with signed_in(port, two_users[0]) as alice, signed_in(port, two_users[1]) as bob:
            ok(await alice.call_tool("job_create", {**INVOICES, "job_type": "ONE_OFF", "schedule": {},
                                                    "notify": "always"}))  # fmt: skip
            with anyio.fail_after(30):
                # The message is written by the server process: poll for it over MCP.
                while not (inbox := ok(await alice.call_tool("inbox_list", {})))["results"]:  # noqa: ASYNC110
                    await anyio.sleep(0.1)
            message_id = inbox["results"][0]["id"]
            before = dump(db_path)
            bobs = ok(await bob.call_tool("inbox_list", {}))
            refused = error_text(await bob.call_tool("inbox_mark_read", {"message_ids": [message_id]}))
            missing = error_text(await bob.call_tool("inbox_mark_read", {"message_ids": ["msg_doesnotexist0"]}))
            after = dump(db_path)
    assert bobs == {"results": [], "unread_count": 0}
    assert refused == missing.replace("msg_doesnotexist0", message_id)
    assert after == before


async def test_a_user_hears_only_of_their_own_inbox(db_path: Path, tmp_path: Path, two_users: tuple[str, str]) -> None:
    ping = {"title": "Ping", "description": "Say hi.", "job_type": "ONE_OFF", "notify": "always"}
    with server(db_path, tmp_path / "server.log", backends="command", command=QUICK_AGENT, sweep_seconds="0.2") as (
        _,
        port,
    ):
        await wait_for(lambda: listening(port), seconds=30)
        async with (
            signed_in(port, two_users[0]) as alice,
            signed_in(port, two_users[1]) as bob,
            alice.listen(resource_subscriptions=["inbox://unread"]) as alice_events,
            bob.listen(resource_subscriptions=["inbox://unread"]) as bob_events,
        ):
            heard: dict[str, list[object]] = {"alice": [], "bob": []}
            ok(await alice.call_tool("job_create", ping))
            with anyio.fail_after(30):
                heard["alice"].append(await anext(aiter(alice_events)))
            # Both streams got the publish at the same moment; a second is ample for a leak to show.
            with anyio.move_on_after(1):
                heard["bob"].append(await anext(aiter(bob_events)))
            assert heard["bob"] == [], "bob heard of alice's message"
            ok(await bob.call_tool("job_create", ping))
            with anyio.fail_after(30):
                heard["bob"].append(await anext(aiter(bob_events)))
    assert [getattr(e, "uri", None) for e in heard["alice"] + heard["bob"]] == ["inbox://unread"] * 2
