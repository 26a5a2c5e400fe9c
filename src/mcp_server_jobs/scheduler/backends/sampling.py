"""The `sampling` backend: a connected client's own model does the run (design §6).

Only clients on the legacy 2025-11-25 protocol that declared `sampling` can be asked, and only while
they stay connected; the server captures such a session whenever its client calls a tool. Sampling is
deprecated in MCP (SEP-2577), and we use it knowingly as one backend of the chain.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mcp_types as types
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError

from mcp_server_jobs.errors import AgentError, BackendUnavailable
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.agent_tools import AgentTools
from mcp_server_jobs.scheduler.backends.base import AgentResult

log = logging.getLogger(__name__)

SYSTEM = "You carry out a background job for the user. Do what the instructions say; end with the JSON verdict."
LEGACY_PROTOCOLS = frozenset({"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"})


class SamplingBackend:
    """Asks the most recently seen sampling-capable client to run the job with its own model."""

    name = "sampling"
    text_verdict = True

    def __init__(self, max_tokens: int = 8_000, agent_servers: Path | None = None, max_turns: int = 20) -> None:
        self.max_tokens = max_tokens
        # With tools: when the client declared sampling tools, the agent-servers' tools are offered to it.
        self.agent_servers = agent_servers
        self.max_turns = max_turns
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
            try:
                return await self._sample(session, context)
            except MCPError as exc:
                if "closed" not in str(exc).lower():
                    raise AgentError(f"the client's model refused or failed: {exc}") from exc
                log.info("sampling client disconnected; dropping its session")
                if session in self._sessions:  # a concurrent run may have dropped it already
                    self._sessions.remove(session)
        raise BackendUnavailable("the sampling client disconnected")

    async def _sample(self, session: ServerSession, context: str) -> AgentResult:
        prompt = types.SamplingMessage(role="user", content=types.TextContent(type="text", text=context))
        capabilities = session.client_capabilities
        with_tools = bool(capabilities and capabilities.sampling and capabilities.sampling.tools)
        if not with_tools or self.agent_servers is None:
            result = await session.create_message([prompt], max_tokens=self.max_tokens, system_prompt=SYSTEM)
            text = result.content.text if isinstance(result.content, types.TextContent) else ""
            return AgentResult(output=text, usage={"requests": 1, "model": result.model})
        async with AgentTools(self.agent_servers) as tools:
            return await self._tool_loop(session, [prompt], tools)

    async def _tool_loop(
        self, session: ServerSession, messages: list[types.SamplingMessage], tools: AgentTools
    ) -> AgentResult:
        """Let the client's model call the agent-servers' tools until it answers in text."""
        calls = 0
        for turn in range(1, self.max_turns + 1):
            result = await session.create_message(
                messages, max_tokens=self.max_tokens, system_prompt=SYSTEM, tools=tools.definitions
            )
            blocks = result.content if isinstance(result.content, list) else [result.content]
            uses = [block for block in blocks if isinstance(block, types.ToolUseContent)]
            if not uses:
                text = "\n".join(block.text for block in blocks if isinstance(block, types.TextContent))
                return AgentResult(output=text, usage={"requests": turn, "tool_calls": calls, "model": result.model})
            calls += len(uses)
            messages.append(types.SamplingMessage(role="assistant", content=blocks))
            messages.append(types.SamplingMessage(role="user", content=[await tools.call(use) for use in uses]))
        raise AgentError(
            f"the client's model was still calling tools after {self.max_turns} turns", retry=False,
            usage={"requests": self.max_turns, "tool_calls": calls},
        )  # fmt: skip
