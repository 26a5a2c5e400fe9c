"""The `command` backend: a CLI agent (`claude -p`, `codex exec`, `llm`...) started under the supervisor."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream

from mcp_server_jobs.errors import AgentError
from mcp_server_jobs.models import Job
from mcp_server_jobs.scheduler.backends.base import AgentResult, PidSink, agent_pid_sink
from mcp_server_jobs.scheduler.backends.supervisor import PID_PREFIX

log = logging.getLogger(__name__)

# `python -I -S`: the supervisor needs only the standard library, and starts in ~15 ms without `site`.
SUPERVISOR = (sys.executable, "-I", "-S", str(Path(__file__).with_name("supervisor.py")))


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
                group.start_soon(_drain_stderr, stderr, err, agent_pid_sink())
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
