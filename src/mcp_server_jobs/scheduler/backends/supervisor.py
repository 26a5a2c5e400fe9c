"""Starts a `command` agent on behalf of the server and ties the agent's life to the server's.

Run as a script (`python -I -S supervisor.py AGENT ARGV...`), standard library only, so it starts in
milliseconds. The protocol with the server (`CommandBackend`):

- stdin: the context's length in bytes on one line, then the context; then nothing, held open by the
  server for as long as it lives. The agent starts only once the whole context is here.
- stderr: its first line is ``PID_PREFIX<pid>``, written by the agent's process just before it becomes
  the agent; then the agent's own stderr. stdout is the agent's.
- exit: the agent's status, or the signal that killed it.

When stdin ends after the context (the server died, even by kill -9) or this process is told to stop,
the whole process group (this process, the agent and anything it started) is killed.
"""

from __future__ import annotations

import _thread  # not threading: with its imports it doubles the start-up time
import os
import signal
import sys

TYPE_CHECKING = False  # typing, too, costs milliseconds at every start
if TYPE_CHECKING:
    from typing import NoReturn

PID_PREFIX = b"mcp-server-jobs supervisor: agent pid "
# The exit status when the agent could not be started; what a shell uses for "command not found".
CANNOT_START = 127


def _read_context() -> bytes | None:
    """The whole context from stdin, or None when it ended first (the server died while sending it)."""
    # Raw reads, never sys.stdin: the watching thread blocks in one, and a buffered reader's lock held at
    # exit aborts the interpreter.
    data = bytearray()
    while b"\n" not in data:
        if not (chunk := os.read(0, 65536)):
            return None
        data.extend(chunk)
    header, _, context = data.partition(b"\n")
    size = int(header)
    while len(context) < size:
        if not (chunk := os.read(0, min(size - len(context), 1 << 20))):
            return None
        context.extend(chunk)
    return bytes(context)


def _kill_everything(*_: object) -> NoReturn:
    # The group is this process's: the agent and its children stay in it unless they leave on purpose.
    os.killpg(0, signal.SIGKILL)
    raise SystemExit(CANNOT_START)  # not reached: SIGKILL cannot be caught


def _watch_server() -> None:
    # The server writes nothing after the context; the end of stdin means it is gone.
    while os.read(0, 4096):
        pass
    _kill_everything()


def _start(argv: list[str]) -> tuple[int, int]:
    """Fork and exec the agent with a pipe on its stdin; return its pid and the pipe's write end."""
    read_end, write_end = os.pipe()  # not inheritable: the agent keeps only the read end, as its stdin
    pid = os.fork()
    if pid:
        os.close(read_end)
        return pid, write_end
    try:
        os.dup2(read_end, 0)
        # As subprocess does: the interpreter ignores these, and ignored signals stay so across exec.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        # Before exec, so this line comes before anything the agent writes.
        os.write(2, PID_PREFIX + str(os.getpid()).encode() + b"\n")
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"cannot start {argv[0]}: {exc}\n".encode())
    os._exit(CANNOT_START)


def _feed(pipe: int, context: bytes) -> None:
    try:
        view = memoryview(context)
        while view:
            view = view[os.write(pipe, view) :]
    except BrokenPipeError:
        pass  # an agent that does not read its input is not an error
    finally:
        os.close(pipe)


def _exit_like(status: int) -> NoReturn:
    """Exit with the agent's status, or die of the signal that killed it, so the server sees the same."""
    if status < 0:
        if -status != signal.SIGKILL:  # the one a process cannot set, nor needs to
            signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    raise SystemExit(status if status >= 0 else 128 - status)


def main(argv: list[str]) -> int:
    """Start `argv` with the context read from stdin; return or mirror its exit status."""
    if not argv:
        sys.stderr.write("usage: supervisor.py AGENT [ARG...] (context on stdin)\n")
        return 2
    if os.getpgrp() != os.getpid():
        os.setsid()  # killing "the group" must never reach whoever started this process
    context = _read_context()
    if context is None:
        return CANNOT_START  # no agent ever starts on a partial or empty prompt
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _kill_everything)
    # Forked before any thread starts: a child of a threaded process may inherit a held lock.
    pid, pipe = _start(argv)
    _thread.start_new_thread(_feed, (pipe, context))
    _thread.start_new_thread(_watch_server, ())
    _exit_like(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
