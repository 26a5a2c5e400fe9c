"""Helpers for benchmarks that start a real server process."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, seconds: float = 60) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; raise after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start listening within {seconds:g} s")
        time.sleep(0.1)
