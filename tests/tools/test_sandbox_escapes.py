"""Code that tries to get out of `execute_python` is refused or killed, and the host is unharmed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cognitionos_dagster.settings import PROJECT_ROOT
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin.python_tool import ExecutePythonOutput
from cognitionos_dagster.tools.sandbox import PythonSandbox, SandboxConfig, identity, isolation

from .conftest import Listener


def run(registry: ToolRegistry, ctx: ToolContext, code: str, **extra: object) -> ExecutePythonOutput:
    out = registry.run("execute_python", {"code": code, **extra}, ctx)
    assert isinstance(out, ExecutePythonOutput)
    return out


def test_socket_to_a_listening_loopback_port_fails(registry: ToolRegistry, ctx: ToolContext,
                                                   tcp_listener: Listener) -> None:
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {tcp_listener.port}), timeout=2)\nprint('in')"
    out = run(registry, ctx, code)
    assert not out.success
    assert "PermissionError" in out.stderr and "in" not in out.stdout
    assert tcp_listener.accepted == 0
    # The same connection from the host works: the refusal is the sandbox's, not a dead listener.
    socket.create_connection(("127.0.0.1", tcp_listener.port), timeout=2).close()
    deadline = time.monotonic() + 2
    while tcp_listener.accepted == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tcp_listener.accepted == 1


def test_network_namespace_alone_has_no_route(tcp_listener: Listener) -> None:
    """The namespace layer on its own (without seccomp) already cuts loopback off."""
    if not identity.is_root():
        pytest.skip("creating a bare network namespace needs root")
    pid = os.fork()
    if pid == 0:  # child: new namespace, then try the listener the parent can reach
        code = 0
        try:
            isolation.unshare(isolation.CLONE_NEWNET)
            socket.create_connection(("127.0.0.1", tcp_listener.port), timeout=1).close()
            code = 1
        except OSError:
            code = 0
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert tcp_listener.accepted == 0


def test_fork_bomb_is_contained_and_cleaned_up(quick_config: SandboxConfig) -> None:
    sandbox = PythonSandbox(quick_config)
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    res = sandbox.run(code, timeout_seconds=1.5)
    assert res.limit == "wall_clock"
    if res.uid is not None:
        assert identity.processes_of(res.uid) == []
    # The host still spawns processes.
    assert subprocess.run([sys.executable, "-c", "print('alive')"], capture_output=True, text=True).stdout == "alive\n"


def test_fork_bomb_hits_the_process_limit(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import os\nwhile True:\n    os.fork()\n", timeout_seconds=5)
    assert not out.success
    assert "Resource temporarily unavailable" in out.stderr
    assert "BlockingIOError" in (out.error or "")


def test_process_that_escapes_its_session_is_killed(quick_config: SandboxConfig) -> None:
    if not identity.is_root():
        pytest.skip("per-run uids (and finding escaped processes by uid) need root")
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nprint('parent done')\n"
    res = PythonSandbox(quick_config).run(code, timeout_seconds=10)
    assert res.exit_code == 0 and res.stdout == "parent done\n"
    assert res.duration_ms < 5000  # did not wait for the detached sleeper
    assert res.uid is not None and identity.processes_of(res.uid) == []


def test_allocating_4_gb_fails_with_a_memory_error(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "buf = bytearray(4 * 1024 ** 3)\nprint(len(buf))")
    assert not out.success
    assert out.limit == "memory"
    assert "ran out of memory" in (out.error or "") and "256 MB" in (out.error or "")


def test_spinning_forever_hits_the_cpu_limit(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "while True:\n    pass\n", timeout_seconds=20)
    assert not out.success
    assert out.limit == "cpu_time"
    assert out.duration_ms < 5000
    assert "CPU-time limit" in (out.error or "")


def test_sleeping_forever_hits_the_wall_clock(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import time\ntime.sleep(3600)\n", timeout_seconds=0.5)
    assert not out.success
    assert out.limit == "wall_clock"
    assert 400 < out.duration_ms < 4000
    assert "wall-clock limit of 0.5 s" in (out.error or "")


def test_step_timeout_caps_the_tool_timeout(registry: ToolRegistry, ctx: ToolContext) -> None:
    ctx.timeout_seconds = 0.5
    out = run(registry, ctx, "import time\ntime.sleep(3600)\n", timeout_seconds=600)
    assert out.limit == "wall_clock" and out.duration_ms < 4000


def test_parent_secrets_are_not_in_the_environment(registry: ToolRegistry, ctx: ToolContext,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-do-not-leak")
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", "postgresql://u:secret-pw@db/x")
    out = run(registry, ctx, "import os\nfor k, v in sorted(os.environ.items()):\n    print(k, v)")
    assert out.success
    assert "sk-test-do-not-leak" not in out.stdout and "secret-pw" not in out.stdout
    names = {line.split(" ", 1)[0] for line in out.stdout.splitlines()}
    assert names <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}


@pytest.mark.parametrize("target", ["'/tmp/cognos-escape-ID'", f"'{PROJECT_ROOT}/cognos-escape-ID'",
                                    "os.path.join(os.environ['HOME'], '..', 'cognos-escape-ID')"])
def test_writes_outside_the_working_directory_are_refused(registry: ToolRegistry, ctx: ToolContext,
                                                          target: str) -> None:
    path = target.replace("ID", uuid.uuid4().hex)
    out = run(registry, ctx, f"import os\nopen({path}, 'w').write('escaped')\n")
    assert not out.success
    assert "PermissionError" in (out.error or "")
    assert not list(Path("/tmp").glob("cognos-escape-*")) and not list(PROJECT_ROOT.glob("cognos-escape-*"))


def test_reading_the_repository_is_refused(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, f"print(open('{PROJECT_ROOT / 'pyproject.toml'}').read())")
    assert not out.success and "PermissionError" in out.stderr


def test_the_working_directory_is_private_and_removed(registry: ToolRegistry, ctx: ToolContext) -> None:
    code = "import os\nopen('notes.txt', 'w').write('kept')\nprint(os.getcwd())\nprint(open('notes.txt').read())"
    out = run(registry, ctx, code)
    assert out.success, out.error
    workdir, content = out.stdout.splitlines()
    assert content == "kept"
    assert not Path(workdir).exists()


def test_the_child_runs_unprivileged(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import os\nprint(os.getuid(), os.geteuid(), os.getgid())")
    uid, euid, gid = (int(x) for x in out.stdout.split())
    if identity.is_root():
        assert uid >= identity.EPHEMERAL_UID_BASE and euid == uid and gid != 0
    else:
        assert euid != 0
