"""The fork server behind `execute_python`: it reaps what it forks, survives nothing it should not,
and ends with the worker that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cognitionos_dagster.settings import PROJECT_ROOT
from cognitionos_dagster.tools.sandbox import PythonSandbox, SandboxConfig, served


def _children_of(pid: int) -> list[int]:
    """Direct children of `pid`, zombies included."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_until(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_every_child_is_reaped(quick_config: SandboxConfig) -> None:
    sandbox = PythonSandbox(quick_config)
    codes = ["print(1)", "import sys; sys.exit(4)", "raise ValueError('x')", "import time; time.sleep(30)"]
    results = [sandbox.run(code, timeout_seconds=0.5 if "sleep" in code else 5) for code in codes]
    assert [r.exit_code for r in results[:3]] == [0, 4, 1] and results[3].limit == "wall_clock"
    server = served.server_for(sandbox.interpreter())._server
    assert server is not None and server.alive
    assert _children_of(server.process.pid) == []  # no zombie left behind, nothing still running
    assert server.children == {} and server.requests == {}


def test_a_run_whose_server_is_killed_ends_killed_and_the_next_run_gets_a_new_server(
    quick_config: SandboxConfig,
) -> None:
    sandbox = PythonSandbox(quick_config)
    assert sandbox.run("print(1)", timeout_seconds=5).exit_code == 0
    first = served.server_for(sandbox.interpreter())._server
    assert first is not None
    killer = threading.Timer(0.5, lambda: os.kill(first.process.pid, signal.SIGKILL))
    killer.start()
    result = sandbox.run("import time; time.sleep(20)", timeout_seconds=10)
    killer.join()
    assert result.exit_code == -signal.SIGKILL and result.limit is None and result.duration_ms < 5000
    assert sandbox.run("print(2)", timeout_seconds=5).stdout == "2\n"
    assert served.server_for(sandbox.interpreter())._server is not first


def test_a_server_killed_between_runs_is_replaced_without_failing_the_next_run(quick_config: SandboxConfig) -> None:
    sandbox = PythonSandbox(quick_config)
    forks = served.server_for(sandbox.interpreter())
    for n in range(5):
        assert sandbox.run(f"print({n})", timeout_seconds=5).stdout == f"{n}\n"
        server = forks._server
        assert server is not None
        os.kill(server.process.pid, signal.SIGKILL)  # the next run starts at once, racing the reader
    assert sandbox.run("print('after')", timeout_seconds=5).stdout == "after\n"


WORKER = """
import sys, threading
sys.path.insert(0, {root!r})
from cognitionos_dagster.tools.sandbox import PythonSandbox, SandboxConfig, served
sandbox = PythonSandbox(SandboxConfig())
threading.Thread(target=sandbox.run, args=("import time; time.sleep(60)",), kwargs={{"timeout_seconds": 60}},
                 daemon=True).start()
def started():
    server = next(iter(served._servers.values()), None)
    server = server and server._server
    return server if server is not None and server.children else None
while (server := started()) is None:
    threading.Event().wait(0.02)
print(server.process.pid, next(iter(server.children)), flush=True)
threading.Event().wait(60)
"""


def test_the_server_and_its_children_end_with_the_worker() -> None:
    worker = subprocess.Popen([sys.executable, "-c", WORKER.format(root=str(PROJECT_ROOT))],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        server_pid, child_pid = (int(x) for x in worker.stdout.readline().split())
        assert _alive(server_pid) and _alive(child_pid)
    finally:
        worker.kill()  # SIGKILL: no cleanup of its own runs
        worker.wait()
    assert _wait_until(lambda: not _alive(server_pid) and not _alive(child_pid))
