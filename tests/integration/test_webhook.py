"""Inbox messages also go to a webhook; a receiver that fails is recorded on the run, not hidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.scheduler.backends import DryRunBackend
from tests.conftest import START, open_world
from tests.fakes.loopback import serve

pytestmark = pytest.mark.anyio


def receiver(status: int, received: list[dict[str, Any]]) -> Starlette:
    async def hook(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=status)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_messages_reach_the_webhook(db_path: Path, clock: FakeClock) -> None:
    received: list[dict[str, Any]] = []
    async with serve(receiver(204, received)) as url, open_world(db_path, clock, [DryRunBackend()]) as world:
        world.scheduler.webhook = f"{url}/hook"
        job = await world.create(title="Ping", job_type="ONE_OFF", notify="always")
        [run] = await world.at(START)
        [stored] = await world.runs(job.id)
    [payload] = received
    assert payload["job"]["id"] == job.id
    assert payload["job"]["status"] == "COMPLETED"
    assert payload["run"]["id"] == run.id
    assert payload["message"]["title"] == "Ping: succeeded"
    assert stored.delivery_error is None


async def test_a_failing_webhook_is_retried_and_recorded(db_path: Path, clock: FakeClock) -> None:
    received: list[dict[str, Any]] = []
    async with serve(receiver(503, received)) as url, open_world(db_path, clock, [DryRunBackend()]) as world:
        world.scheduler.webhook = f"{url}/hook"
        job = await world.create(title="Ping", job_type="ONE_OFF", notify="always")
        await world.at(START)
        [run] = await world.runs(job.id)
        messages = await world.store.list_messages("local", unread_only=True, limit=10)
    assert len(received) == 3
    assert run.delivery_error == f"webhook {url}/hook failed 3 times; last: HTTP 503"
    assert len(messages) == 1  # the inbox still has it


async def test_an_unreachable_webhook_is_recorded(db_path: Path, clock: FakeClock) -> None:
    async with open_world(db_path, clock, [DryRunBackend()]) as world:
        world.scheduler.webhook = "http://127.0.0.1:9/hook"  # discard port: nothing listens
        job = await world.create(title="Ping", job_type="ONE_OFF", notify="always")
        await world.at(START)
        [run] = await world.runs(job.id)
    assert run.delivery_error is not None
    assert "failed 3 times" in run.delivery_error
