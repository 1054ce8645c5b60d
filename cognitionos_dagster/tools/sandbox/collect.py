"""Read a child's stdout and stderr up to a cap until it ends or its wall clock runs out.

Both pipes are drained to the end (what is over the cap is dropped, not buffered), so a
chatty child never blocks on a full pipe and never fills the parent's memory.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

_CHUNK = 65536


@dataclass(frozen=True)
class Collected:
    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    cpu_ms: float


class _Capped:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.truncated = True
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class Child(Protocol):
    """A started process as the output collection sees it."""

    pid: int  # also its process group: children start their own session

    def exited(self) -> bool: ...

    def wait(self) -> tuple[int, float]:
        """Exit code (negative: the signal that killed it) and CPU milliseconds."""
        ...


def collect_output(
    child: Child, stdout_fd: int, stderr_fd: int, deadline: float, cap: int, reap: Callable[[], object] | None
) -> Collected:
    """Drain the pipes (and close them); at the deadline kill the process group (and, via `reap`,
    every process of the sandbox uid); when the main process has exited but descendants keep
    the pipes open, kill those too instead of waiting for the deadline."""
    buffers = {stdout_fd: _Capped(cap), stderr_fd: _Capped(cap)}
    timed_out = False
    try:
        with selectors.DefaultSelector() as sel:
            for fd in buffers:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map():
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    timed_out = True
                    _kill(child, reap)
                    deadline = time.perf_counter() + 2.0  # read what is left, but never hang
                    remaining = 2.0
                events = sel.select(min(remaining, 0.2))
                if not events and child.exited():
                    _kill(child, reap)  # descendants hold the pipes open after the main process ended
                for key, _ in events:
                    chunk = os.read(key.fd, _CHUNK)
                    if chunk:
                        buffers[key.fd].add(chunk)
                    else:
                        sel.unregister(key.fd)
        _kill(child, reap)  # background children that closed their pipes
        exit_code, cpu_ms = child.wait()
    finally:
        for fd in buffers:
            os.close(fd)
    out, err = buffers[stdout_fd], buffers[stderr_fd]
    return Collected(exit_code, out.text(), err.text(), out.truncated, err.truncated, timed_out, cpu_ms)


def _kill(child: Child, reap: Callable[[], object] | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    if reap is not None:
        reap()
