"""Inbox messages also go to a webhook, from a durable outbox: retried with backoff, never shown as
delivered when they were not, and never lost to a restart."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_server_jobs.clock import FakeClock
from mcp_server_jobs.models import DeliveryState
from mcp_server_jobs.policy import Policy
from tests.conftest import START, open_world
from tests.fakes.agents import SucceedingAgent
from tests.fakes.loopback import serve

pytestmark = pytest.mark.anyio
POLICY = Policy(webhook_attempts=3, webhook_retry_seconds=10)


def receiver(statuses: list[int], received: list[dict[str, Any]]) -> Starlette:
    """Answers each POST with the next status of `statuses` (the last one for ever)."""

    async def hook(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=statuses.pop(0) if len(statuses) > 1 else statuses[0])

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_messages_reach_the_webhook(any_db: Path | str, clock: FakeClock) -> None:
    received: list[dict[str, Any]] = []
    async with serve(receiver([204], received)) as url, open_world(any_db, clock, [SucceedingAgent()]) as world:
        world.scheduler.webhook = f"{url}/hook"
        job = await world.create(title="Ping", job_type="ONE_OFF", notify="always")
        [run] = await world.at(START)
        [message] = await world.store.list_messages("local", unread_only=True, limit=10)
    [payload] = received
    assert payload["job"] == {"id": job.id, "title": "Ping", "status": "COMPLETED", "job_type": "ONE_OFF"}
    assert payload["run"]["id"] == run.id
    assert payload["message"]["id"] == message.id
    assert message.delivery is DeliveryState.DELIVERED


async def test_a_failing_webhook_is_retried_with_backoff_then_marked_failed(
    any_db: Path | str, clock: FakeClock
) -> None:
    received: list[dict[str, Any]] = []
    async with (
        serve(receiver([503], received)) as url,
        open_world(any_db, clock, [SucceedingAgent()], POLICY) as world,
    ):
        world.scheduler.webhook = f"{url}/hook"
        job = await world.create(title="Ping", job_type="ONE_OFF", notify="always")
        await world.at(START)
        [pending] = await world.store.list_messages("local", unread_only=True, limit=10)
        await world.at(START + timedelta(seconds=9))  # the backoff has not passed: no post
        posts_before_backoff = len(received)
        await world.at(START + timedelta(seconds=10))
        await world.at(START + timedelta(seconds=30))
        [run] = await world.runs(job.id)
        [failed] = await world.store.list_messages("local", unread_only=True, limit=10)
    assert pending.delivery is DeliveryState.PENDING
    assert pending.delivery_error == "attempt 1 failed: HTTP 503"
    assert posts_before_backoff == 1
    assert len(received) == 3
    assert failed.delivery is DeliveryState.FAILED
    assert failed.delivery_error == f"webhook {url}/hook: gave up after 3 attempt(s); last: HTTP 503"
    assert run.delivery_error == failed.delivery_error


async def test_a_pending_delivery_survives_a_restart(any_db: Path | str, clock: FakeClock) -> None:
    received: list[dict[str, Any]] = []
    async with serve(receiver([503, 200], received)) as url:
        async with open_world(any_db, clock, [SucceedingAgent()], POLICY) as world:
            world.scheduler.webhook = f"{url}/hook"
            await world.create(title="Ping", job_type="ONE_OFF", notify="always")
            await world.at(START)
            [pending] = await world.store.list_messages("local", unread_only=True, limit=10)
        # The next start (no webhook configured any more: the delivery keeps its own address) posts it.
        async with open_world(any_db, clock, [SucceedingAgent()], POLICY) as world:
            await world.at(START + timedelta(seconds=10))
            [delivered] = await world.store.list_messages("local", unread_only=True, limit=10)
    assert pending.delivery is DeliveryState.PENDING
    assert [p["message"]["id"] for p in received] == [pending.id, pending.id]
    assert delivered.delivery is DeliveryState.DELIVERED
    assert delivered.delivery_error is None
