"""Code that tries to get out of `execute_javascript` is refused or killed, as in `execute_python`'s sandbox."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from cognitionos_dagster.settings import PROJECT_ROOT
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin import ExecuteJavascriptTool
from cognitionos_dagster.tools.builtin.javascript_tool import node_binary
from cognitionos_dagster.tools.builtin.python_tool import ExecutePythonOutput
from cognitionos_dagster.tools.sandbox import SandboxConfig, identity

from .conftest import Listener


@pytest.fixture
def js(quick_config: SandboxConfig) -> ToolRegistry:
    return ToolRegistry([ExecuteJavascriptTool(quick_config)])


def run(registry: ToolRegistry, ctx: ToolContext, code: str, **extra: object) -> ExecutePythonOutput:
    out = registry.run("execute_javascript", {"code": code, **extra}, ctx)
    assert isinstance(out, ExecutePythonOutput)
    return out


def test_node_runs_and_prints(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, "console.log(6 * 7); console.error('warned')")
    assert out.success and out.stdout == "42\n" and out.stderr == "warned\n" and out.result == "42\n"
    failed = run(js, ctx, "throw new Error('bad value')")
    assert not failed.success and failed.exit_code == 1 and "Error: bad value" in (failed.error or "")


def test_a_connection_to_a_listening_loopback_port_fails(js: ToolRegistry, ctx: ToolContext,
                                                         tcp_listener: Listener) -> None:
    code = (f"require('net').connect({tcp_listener.port}, '127.0.0.1', () => console.log('in'))"
            ".on('error', e => { console.log(e.code); process.exit(3) })")
    out = run(js, ctx, code)
    assert not out.success and out.exit_code == 3 and "in" not in out.stdout.split()
    assert out.stdout.strip() in ("EACCES", "ENETUNREACH", "EPERM")
    assert tcp_listener.accepted == 0
    socket.create_connection(("127.0.0.1", tcp_listener.port), timeout=2).close()  # the host can
    deadline = time.monotonic() + 2
    while tcp_listener.accepted == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tcp_listener.accepted == 1


def test_fetch_cannot_reach_the_network(js: ToolRegistry, ctx: ToolContext) -> None:
    code = ("fetch('http://127.0.0.1:9/')"
            ".then(() => console.log('in'), e => { console.log('blocked'); process.exit(4) })")
    out = run(js, ctx, code, timeout_seconds=10)
    assert out.exit_code == 4 and out.stdout == "blocked\n"


@pytest.mark.parametrize("target", ["'/tmp/cognos-escape-ID'", f"'{PROJECT_ROOT}/cognos-escape-ID'",
                                    "require('path').join(process.env.HOME, '..', 'cognos-escape-ID')"])
def test_writes_outside_the_working_directory_are_refused(js: ToolRegistry, ctx: ToolContext, target: str) -> None:
    path = target.replace("ID", uuid.uuid4().hex)
    out = run(js, ctx, f"require('fs').writeFileSync({path}, 'escaped')")
    assert not out.success and "EACCES" in out.stderr
    assert not list(Path("/tmp").glob("cognos-escape-*")) and not list(PROJECT_ROOT.glob("cognos-escape-*"))


def test_reading_the_repository_is_refused(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, f"console.log(require('fs').readFileSync('{PROJECT_ROOT / 'pyproject.toml'}', 'utf8'))")
    assert not out.success and "EACCES" in out.stderr


def test_parent_secrets_are_not_in_the_environment(js: ToolRegistry, ctx: ToolContext,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-do-not-leak")
    monkeypatch.setenv("COGNITIONOS_DATABASE_URL", "postgresql://u:secret-pw@db/x")
    out = run(js, ctx, "console.log(JSON.stringify(process.env))")
    assert out.success
    assert set(json.loads(out.stdout)) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}
    assert "sk-test-do-not-leak" not in out.stdout and "secret-pw" not in out.stdout


def test_spinning_forever_hits_the_cpu_limit(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, "while (true) {}", timeout_seconds=20)
    assert not out.success and out.limit == "cpu_time" and out.duration_ms < 6000
    assert "CPU-time limit" in (out.error or "")


def test_filling_the_heap_hits_the_memory_limit(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, "const a = []; while (true) a.push(new Array(1e6).fill(1.5))", timeout_seconds=20)
    assert not out.success and out.limit == "memory" and "256 MB" in (out.error or "")


def test_a_huge_buffer_is_refused(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, "const b = Buffer.alloc(8 * 1024 ** 3); console.log(b.length)")
    assert not out.success and "8589934592" not in out.stdout


def test_sleeping_forever_hits_the_wall_clock(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, "setTimeout(() => {}, 3600 * 1000)", timeout_seconds=0.5)
    assert out.limit == "wall_clock" and 400 < out.duration_ms < 4000


def test_child_processes_are_bounded_and_run_unprivileged(js: ToolRegistry, ctx: ToolContext) -> None:
    out = run(js, ctx, "console.log(process.getuid(), process.geteuid(), process.getgid())")
    uid, euid, gid = (int(x) for x in out.stdout.split())
    if identity.is_root():
        assert uid >= identity.EPHEMERAL_UID_BASE and euid == uid and gid != 0
    else:
        assert euid != 0
    spawn = run(js, ctx, "const r = require('child_process').spawnSync('/bin/sh', ['-c', 'echo hi']);"
                         "console.log(r.error ? r.error.code : String(r.stdout).trim())")
    assert spawn.success  # a shell may run inside the sandbox, with the same walls around it
    host = subprocess.run([str(node_binary()), "-e", "console.log('alive')"], capture_output=True, text=True)
    assert host.stdout == "alive\n"
