"""Read a child's stdout and stderr up to a cap until it ends or its wall clock runs out.

Both pipes are drained to the end (what is over the cap is dropped, not buffered), so a
chatty child never blocks on a full pipe and never fills the parent's memory.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

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


def collect_output(
    proc: subprocess.Popen[bytes], deadline: float, cap: int, reap: Callable[[], object] | None
) -> Collected:
    """Drain the pipes; at the deadline kill the process group (and, via `reap`, every
    process of the sandbox uid); when the main process has exited but descendants keep
    the pipes open, kill those too instead of waiting for the deadline."""
    assert proc.stdout is not None and proc.stderr is not None
    buffers = {proc.stdout.fileno(): _Capped(cap), proc.stderr.fileno(): _Capped(cap)}
    timed_out = False
    with selectors.DefaultSelector() as sel:
        for fd in buffers:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                timed_out = True
                _kill(proc, reap)
                deadline = time.perf_counter() + 2.0  # read what is left, but never hang
                remaining = 2.0
            events = sel.select(min(remaining, 0.2))
            if not events and _exited(proc):
                _kill(proc, reap)  # descendants hold the pipes open after the main process ended
            for key, _ in events:
                chunk = os.read(key.fd, _CHUNK)
                if chunk:
                    buffers[key.fd].add(chunk)
                else:
                    sel.unregister(key.fd)
    _kill(proc, reap)  # background children that closed their pipes; the unreaped leader keeps the pgid ours
    exit_code, cpu_ms = _wait(proc)
    out, err = buffers[proc.stdout.fileno()], buffers[proc.stderr.fileno()]
    proc.stdout.close()
    proc.stderr.close()
    return Collected(exit_code, out.text(), err.text(), out.truncated, err.truncated, timed_out, cpu_ms)


def _kill(proc: subprocess.Popen[bytes], reap: Callable[[], object] | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if reap is not None:
        reap()


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the main process ended, without reaping it (wait4 later reads its CPU time)."""
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait with wait4 to learn the child's CPU time (the CPU-limit classification needs it)."""
    if proc.returncode is not None:
        return proc.returncode, 0.0
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, (usage.ru_utime + usage.ru_stime) * 1000
