"""The supervisor behind `cognos dev` with real processes: nothing it started outlives `stop`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import psutil

from cognitionos_dagster.cli.supervisor import Supervisor

# A parent that dies on SIGTERM, with a child in its process group that ignores SIGTERM
# (like a code server finishing an RPC, or a run worker in the middle of a step).
PARENT = """
import subprocess, sys, time
CHILD = '''
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(600)
'''
subprocess.Popen([sys.executable, "-c", CHILD, sys.argv[1]])
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for_file(path: Path, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_stop_kills_what_ignores_sigterm_in_a_childs_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    sup = Supervisor({"svc": [sys.executable, "-c", PARENT, str(marker)]}, dict(os.environ), tmp_path,
                     grace_seconds=2)
    sup.start()
    child = int(_wait_for_file(marker))
    parent = sup.procs["svc"].pid
    assert os.getpgid(child) == parent  # the child shares its parent's group, not ours

    started = time.monotonic()
    try:
        sup.stop()
        assert time.monotonic() - started < 8
        assert _gone(parent)
        deadline = time.monotonic() + 2  # SIGKILL is delivered asynchronously
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _gone(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_stop_is_quick_when_everything_obeys(tmp_path: Path) -> None:
    sup = Supervisor({"a": [sys.executable, "-c", "import time; time.sleep(600)"],
                      "b": [sys.executable, "-c", "import time; time.sleep(600)"]}, dict(os.environ), tmp_path,
                     grace_seconds=10)
    sup.start()
    time.sleep(0.3)
    started = time.monotonic()
    sup.stop()
    assert time.monotonic() - started < 5
    assert all(p.poll() is not None for p in sup.procs.values())
