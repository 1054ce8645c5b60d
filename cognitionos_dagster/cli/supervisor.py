"""Runs the code server, the Dagster webserver and the daemon as child processes and stops them for sure.

`dagster dev` does not exit on SIGTERM/SIGINT on this kind of machine (its daemon hangs
after "Daemon threads shut down"); `dagster-webserver` and `dagster-daemon run` started
separately both exit within seconds. So we start those two ourselves, forward the
signal, wait a bounded time, kill what is left, and only then stop PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Supervisor:
    commands: dict[str, Sequence[str]]
    env: dict[str, str]
    cwd: Path
    grace_seconds: float = 10.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ready: dict[str, Callable[[], bool]] = field(default_factory=dict)
    ready_seconds: float = 120.0
    _stopping: bool = False

    def start(self) -> None:
        """Start the commands in order; one with a `ready` probe must pass it before the next starts
        (the webserver and daemon load the code server's location as soon as they start)."""
        for name, cmd in self.commands.items():
            self.procs[name] = subprocess.Popen(
                list(cmd), env=self.env, cwd=self.cwd, start_new_session=True
            )
            probe = self.ready.get(name)
            deadline = time.monotonic() + self.ready_seconds
            while probe is not None and not probe():
                if self.procs[name].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become ready (exit code {self.procs[name].poll()})")
                time.sleep(0.2)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def wait(self) -> int:
        """Block until a signal arrives or a child exits; return the exit code to use."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        code = 0
        try:
            while not self._stopping:
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        print(f"cognos dev: {name} exited with {proc.returncode}; stopping", file=sys.stderr)
                        code = proc.returncode or 1
                        self._stopping = True
                        break
                time.sleep(0.2)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for proc in self.procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        # A group outlives its leader: a code server finishing an RPC waits up to 60 s after
        # SIGTERM, and a run worker may ignore it. Whatever is left at the deadline is killed.
        for proc in self.procs.values():
            while _group_alive(proc) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _group_alive(proc):
                _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    """Does any process other than a zombie remain in the child's process group?"""
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    import psutil  # a dependency of pgserver

    for member in psutil.process_iter(["status"]):
        try:
            if os.getpgid(member.pid) == proc.pid and member.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, PermissionError):
            continue
    return False


def run_supervised(
    commands: dict[str, Sequence[str]], env: dict[str, str], cwd: Path, on_exit: Callable[[], None],
    ready: dict[str, Callable[[], bool]] | None = None,
) -> int:
    sup = Supervisor(commands, env, cwd, ready=ready or {})
    try:
        try:
            sup.start()
        except RuntimeError as exc:
            print(f"cognos dev: {exc}; stopping", file=sys.stderr)
            sup.stop()
            return 1
        return sup.wait()
    finally:
        on_exit()
