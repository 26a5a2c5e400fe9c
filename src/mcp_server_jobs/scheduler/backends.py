"""Agent backends behind one interface; the scheduler tries them in the configured order (design §6)."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio
from anyio.abc import ByteReceiveStream
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from mcp_server_jobs.errors import AgentError, BackendUnavailable
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.supervisor import PID_PREFIX
from mcp_server_jobs.scheduler.verdict import Verdict

log = logging.getLogger(__name__)


@dataclass
class AgentResult:
    """What a backend produced for one run.

    `verdict` is None for text backends: the scheduler then reads it from the end of `output`.
    """

    output: str
    verdict: Verdict | None = None
    usage: dict[str, Any] | None = field(default=None)


class Backend(Protocol):
    """Carries out one run of a job from its context.

    A backend whose class sets `text_verdict = True` answers in text: its prompt asks for the JSON verdict.
    """

    name: str

    def unavailable(self) -> str | None:
        """Why this backend cannot take runs now, or None when it can."""
        ...

    async def run(self, job: Job, context: str) -> AgentResult:
        """Do the job; raise AgentError (permanent or not) or BackendUnavailable on failure."""
        ...


class DryRunBackend:
    """Runs nothing: the run's output is the exact context an agent would have received.

    Its runs are previews: the scheduler never hands it a scheduled job, so a dry run consumes no work.
    """

    name = "dry-run"
    previews = True

    def unavailable(self) -> str | None:
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        log.info("dry-run: job %s", job.id)
        return AgentResult(output=context)


class CommandBackend:
    """A CLI agent (`claude -p`, `codex exec`, `llm`...): the context on stdin, its stdout is the output."""

    name = "command"
    text_verdict = True
    _ERROR_TAIL = 2_000

    def __init__(self, command: str | None) -> None:
        self.argv = shlex.split(command) if command else []

    def unavailable(self) -> str | None:
        if not self.argv:
            return "no command set (--command or MCP_JOBS_COMMAND)"
        if shutil.which(self.argv[0]) is None:
            return f"command {self.argv[0]!r} not found on PATH"
        return None

    async def run(self, job: Job, context: str) -> AgentResult:
        # The supervisor, in a session of its own, starts the agent once it holds the whole context and
        # kills the session's group when this process dies; a timeout or cancellation kills it from here.
        process = await anyio.open_process([*SUPERVISOR, *self.argv], start_new_session=True)
        out, err = bytearray(), bytearray()
        try:
            stdin, stdout, stderr = process.stdin, process.stdout, process.stderr
            if stdin is None or stdout is None or stderr is None:
                raise AgentError("could not connect to the command's standard streams")
            data = context.encode()
            async with anyio.create_task_group() as group:
                group.start_soon(_drain, stdout, out)
                group.start_soon(_drain_stderr, stderr, err, _agent_started.get())
                # stdin stays open: its end is how the supervisor learns that this process died.
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await stdin.send(b"%d\n" % len(data) + data)
            code = await process.wait()
        finally:
            with anyio.CancelScope(shield=True):
                # Even after a clean exit: nothing the agent started outlives its run.
                _kill_group(process.pid)
                await process.aclose()
        if code != 0:
            tail = err.decode(errors="replace")[-self._ERROR_TAIL :].strip()
            raise AgentError(f"command exited with status {code}" + (f": {tail}" if tail else ""))
        return AgentResult(output=out.decode(errors="replace"))


# `python -I -S`: the supervisor needs only the standard library, and starts in ~15 ms without `site`.
SUPERVISOR = (sys.executable, "-I", "-S", str(Path(__file__).with_name("supervisor.py")))
PidSink = Callable[[int], Awaitable[None]]
_agent_started: ContextVar[PidSink | None] = ContextVar("agent_started", default=None)


class UsageMeter:
    """Where a backend shows what its run has used so far, read when the run is stopped from outside."""

    def __init__(self) -> None:
        self._read: Callable[[], dict[str, Any]] | None = None

    def follow(self, read: Callable[[], dict[str, Any]]) -> None:
        """Read the usage from `read` from now on."""
        self._read = read

    def reading(self) -> dict[str, Any] | None:
        return self._read() if self._read is not None else None


_meter: ContextVar[UsageMeter | None] = ContextVar("usage_meter", default=None)


@contextlib.contextmanager
def metering() -> Iterator[UsageMeter]:
    """Within this block, a backend that counts its usage as it goes shows it on the meter yielded."""
    meter = UsageMeter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def current_meter() -> UsageMeter | None:
    """The meter of the run in progress, if one is being metered."""
    return _meter.get()


@contextlib.contextmanager
def reporting_agent_pids(sink: PidSink) -> Iterator[None]:
    """Within this block (and the tasks it starts), a backend that starts an agent process reports its pid to `sink`."""
    token = _agent_started.set(sink)
    try:
        yield
    finally:
        _agent_started.reset(token)


async def _drain(stream: ByteReceiveStream, into: bytearray) -> None:
    async for chunk in stream:
        into.extend(chunk)


async def _drain_stderr(stream: ByteReceiveStream, into: bytearray, sink: PidSink | None) -> None:
    """Collect the command's stderr, taking out the supervisor's first line: the agent's pid."""
    announced = False
    async for chunk in stream:
        into.extend(chunk)
        if announced or b"\n" not in into:
            continue
        announced = True
        line, _, rest = into.partition(b"\n")
        if not line.startswith(PID_PREFIX):
            continue  # the supervisor failed before starting the agent: its stderr says why
        into[:] = rest
        if sink is not None:
            try:
                await sink(int(line.removeprefix(PID_PREFIX)))
            except Exception:  # a pid not recorded must not stop the run
                log.exception("could not record the agent's pid")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class McpAgentBackend:
    """Calls a tool on another MCP server that runs an agent: the prompt goes in, its text comes back."""

    name = "mcp-agent"
    text_verdict = True

    def __init__(self, server: str | None, tool: str, argument: str = "prompt") -> None:
        self.server, self.tool, self.argument = server, tool, argument

    def unavailable(self) -> str | None:
        if not self.server:
            return "no agent server set (--mcp-agent-server URL or command)"
        if not self.server.startswith(("http://", "https://")) and shutil.which(shlex.split(self.server)[0]) is None:
            return f"command {shlex.split(self.server)[0]!r} not found on PATH"
        return None

    def _target(self) -> str | StdioServerParameters:
        assert self.server is not None
        if self.server.startswith(("http://", "https://")):
            return self.server
        command, *args = shlex.split(self.server)
        return StdioServerParameters(command=command, args=args)

    async def run(self, job: Job, context: str) -> AgentResult:
        try:
            async with Client(self._target()) as client:
                result = await client.call_tool(self.tool, {self.argument: context})
        except MCPError as exc:
            raise AgentError(f"agent server {self.server}: {exc}") from exc
        except OSError as exc:
            raise BackendUnavailable(f"agent server {self.server} cannot be reached: {exc}") from exc
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise AgentError(f"agent tool {self.tool!r} failed: {text[-2_000:]}")
        return AgentResult(output=text)


NO_MODEL = "no model set (--model, e.g. openai:gpt-5-mini or anthropic:claude-sonnet-4-5)"


class NotConfigured:
    """A backend named in the settings that this server cannot use."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    def unavailable(self) -> str | None:
        return self._reason

    async def run(self, job: Job, context: str) -> AgentResult:
        raise BackendUnavailable(f"{self.name}: {self._reason}")


def build_backends(
    names: Sequence[str],
    *,
    command: str | None = None,
    model: str | None = None,
    agent_servers: Path | None = None,
    mcp_agent_server: str | None = None,
    mcp_agent_tool: str = "run_agent",
) -> list[Backend]:
    """The backends for the configured names, in order."""
    backends: list[Backend] = []
    for name in names:
        if name == "dry-run":
            backends.append(DryRunBackend())
        elif name == "command":
            backends.append(CommandBackend(command))
        elif name == "mcp-agent":
            backends.append(McpAgentBackend(mcp_agent_server, mcp_agent_tool))
        elif name == "sampling":
            from mcp_server_jobs.scheduler.sampling_backend import SamplingBackend

            backends.append(SamplingBackend(agent_servers=agent_servers))
        elif name == "model" and model is None:
            backends.append(NotConfigured(name, NO_MODEL))
        elif name == "model":
            # Imported here, and only with a model: pydantic-ai and the provider SDKs take seconds to load.
            from mcp_server_jobs.scheduler.model_backend import ModelBackend

            backends.append(ModelBackend(model, agent_servers))
        else:
            backends.append(NotConfigured(name, "not available in this version of the server"))
    return backends


def first_problem(backends: Sequence[Backend]) -> str | None:
    """None if some backend can take runs; otherwise why none can."""
    reasons = []
    for backend in backends:
        reason = backend.unavailable()
        if reason is None:
            return None
        reasons.append(f"{backend.name}: {reason}")
    return "; ".join(reasons) or "no backend is configured (--backends)"
