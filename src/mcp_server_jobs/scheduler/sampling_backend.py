"""The `sampling` backend: a connected client's own model does the run (design §6).

Only clients on the legacy 2025-11-25 protocol that declared `sampling` can be asked, and only while
they stay connected; the server captures such a session whenever its client calls a tool. Sampling is
deprecated in MCP (SEP-2577), and we use it knowingly as one backend of the chain.
"""

from __future__ import annotations

import logging

import mcp_types as types
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError

from mcp_server_jobs.errors import AgentError, BackendUnavailable
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends import AgentResult

log = logging.getLogger(__name__)

SYSTEM = "You carry out a background job for the user. Do what the instructions say; end with the JSON verdict."
LEGACY_PROTOCOLS = frozenset({"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"})


class SamplingBackend:
    """Asks the most recently seen sampling-capable client to run the job with its own model."""

    name = "sampling"

    def __init__(self, max_tokens: int = 8_000) -> None:
        self.max_tokens = max_tokens
        self._sessions: list[ServerSession] = []

    def offer(self, session: ServerSession, protocol_version: str) -> None:
        """Remember `session` if its client can be sampled from (legacy protocol, sampling declared)."""
        capabilities = session.client_capabilities
        if protocol_version not in LEGACY_PROTOCOLS or capabilities is None or capabilities.sampling is None:
            return
        if session in self._sessions:
            self._sessions.remove(session)
        self._sessions.append(session)

    def unavailable(self) -> str | None:
        if self._sessions:
            return None
        return (
            "no connected client can sample (it must connect on the 2025-11-25 protocol and declare sampling, "
            "as VS Code Copilot does, and stay connected)"
        )

    async def run(self, job: Job, context: str) -> AgentResult:
        while self._sessions:
            session = self._sessions[-1]
            message = types.SamplingMessage(role="user", content=types.TextContent(type="text", text=context))
            try:
                result = await session.create_message([message], max_tokens=self.max_tokens, system_prompt=SYSTEM)
            except MCPError as exc:
                if "closed" not in str(exc).lower():
                    raise AgentError(f"the client's model refused or failed: {exc}") from exc
                log.info("sampling client disconnected; dropping its session")
                self._sessions.remove(session)
                continue
            text = result.content.text if isinstance(result.content, types.TextContent) else ""
            return AgentResult(output=text, usage={"requests": 1, "model": result.model})
        raise BackendUnavailable("the sampling client disconnected")
