"""Change events for listening clients, each delivered only to the user it concerns."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio.lowlevel
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.subscriptions import ServerEvent

log = logging.getLogger(__name__)

Listener = Callable[[ServerEvent], None]


class UserEventBus:
    """The SDK's subscription bus, with each listener tagged with the user who opened its stream.

    A listen stream subscribes inside its own request, so the bearer token's user is known then;
    without tokens (stdio, loopback HTTP) there is one user and the tag is None.
    """

    def __init__(self) -> None:
        self._listeners: dict[object, tuple[str | None, Listener]] = {}

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register `listener` for the calling user; returns an idempotent unsubscribe."""
        token = get_access_token()
        key = object()
        self._listeners[key] = (token.client_id if token is not None else None, listener)

        def unsubscribe() -> None:
            self._listeners.pop(key, None)

        return unsubscribe

    async def publish(self, event: ServerEvent) -> None:
        """Deliver an event that concerns everyone (the tool or resource lists changed)."""
        await self._deliver(event, lambda user: True)

    async def publish_to(self, user_id: str, event: ServerEvent) -> None:
        """Deliver an event only to `user_id`'s streams (and to untagged ones: the single-user case)."""
        await self._deliver(event, lambda user: user is None or user == user_id)

    async def _deliver(self, event: ServerEvent, wanted: Callable[[str | None], bool]) -> None:
        for user, listener in list(self._listeners.values()):
            if not wanted(user):
                continue
            try:
                listener(event)
            except Exception:  # one broken stream must not keep the event from the others
                log.exception("a subscription listener raised; continuing")
        # Lets listen streams drain between events of a burst.
        await anyio.lowlevel.checkpoint()
