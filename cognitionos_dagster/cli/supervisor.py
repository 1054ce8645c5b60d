"""Runs the Dagster webserver and daemon as two child processes and stops them for sure.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class NotReady(RuntimeError):
    """A child that others depend on exited, or did not answer in time."""


@dataclass
class Supervisor:
    commands: Mapping[str, Sequence[str]]
    env: dict[str, str]
    cwd: Path
    grace_seconds: float = 10.0
    ready: dict[str, Callable[[], bool]] = field(default_factory=dict)
    """Per child, a check that must pass before the next child starts (e.g. the code server answers)."""
    ready_timeout: float = 180.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _stopping: bool = False

    def start(self) -> None:
        for name, cmd in self.commands.items():
            self.procs[name] = subprocess.Popen(
                list(cmd), env=self.env, cwd=self.cwd, start_new_session=True
            )
            if name in self.ready:
                self._await_ready(name, self.ready[name])

    def _await_ready(self, name: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not check():
            if self.procs[name].poll() is not None:
                raise NotReady(f"{name} exited with {self.procs[name].returncode} before it was ready")
            if time.monotonic() > deadline:
                raise NotReady(f"{name} was not ready after {self.ready_timeout:.0f} s")
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
    commands: Mapping[str, Sequence[str]], env: dict[str, str], cwd: Path, on_exit: Callable[[], None],
    ready: dict[str, Callable[[], bool]] | None = None,
) -> int:
    sup = Supervisor(commands, env, cwd, ready=ready or {})
    try:
        try:
            sup.start()
        except NotReady as exc:
            print(f"cognos dev: {exc}; stopping", file=sys.stderr)
            sup.stop()
            return 1
        return sup.wait()
    finally:
        on_exit()
