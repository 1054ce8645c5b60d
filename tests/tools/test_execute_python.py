"""`execute_python` in normal use: results, exit codes, captured and capped output, fail-closed setup."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin import ExecutePythonTool
from cognitionos_dagster.tools.builtin.python_tool import ExecutePythonOutput
from cognitionos_dagster.tools.sandbox import PythonSandbox, SandboxConfig, identity, linux


def run(registry: ToolRegistry, ctx: ToolContext, code: str, **extra: object) -> ExecutePythonOutput:
    out = registry.run("execute_python", {"code": code, **extra}, ctx)
    assert isinstance(out, ExecutePythonOutput)
    return out


def test_success_returns_stdout_as_result(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import json\nprint(json.dumps({'sum': sum(range(10))}))")
    assert out.success and out.exit_code == 0 and out.error is None
    assert out.result == out.stdout == '{"sum": 45}\n'


def test_non_zero_exit_fails_with_the_last_stderr_line(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import sys\nprint('partial')\nsys.stderr.write('boom happened\\n')\nsys.exit(3)")
    assert not out.success
    assert out.exit_code == 3 and out.stdout == "partial\n" and out.stderr == "boom happened\n"
    assert out.error == "exited with code 3: boom happened"


def test_uncaught_exception_reports_its_message(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "raise ValueError('bad value 17')")
    assert not out.success and out.exit_code == 1
    assert out.error == "exited with code 1: ValueError: bad value 17"


def test_both_streams_are_capped_and_flagged(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import sys\nprint('a' * 100000)\nsys.stderr.write('b' * 9000)\nprint('ok')")
    assert out.success
    assert out.stdout_truncated and out.stderr_truncated
    assert out.stdout == "a" * 4096 and out.stderr == "b" * 4096  # quick_config caps at 4096 bytes


def test_small_output_is_not_flagged(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "print('x' * 4000)")
    assert out.success and not out.stdout_truncated and len(out.stdout) == 4001


def test_stdin_is_fed_to_the_program(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "import sys\nprint(sys.stdin.read().upper())", stdin="hello\nworld")
    assert out.stdout == "HELLO\nWORLD\n"


def test_unicode_round_trips(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = run(registry, ctx, "print('gr\\u00fc\\u00dfe \\u2713')")
    assert out.stdout == "grüße ✓\n"


def test_code_over_the_size_limit_is_refused(ctx: ToolContext) -> None:
    registry = ToolRegistry([ExecutePythonTool(SandboxConfig(max_code_bytes=1024))])
    out = registry.run("execute_python", {"code": "#" * 2000}, ctx)
    assert not out.success and "larger than 1024 bytes" in (out.error or "")


def test_missing_isolation_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without Landlock must stop the run, not run it with write access everywhere."""

    def no_landlock(*args: object) -> int:
        raise OSError(errno.ENOSYS, "Landlock is not available in this kernel")

    monkeypatch.setattr(linux, "landlock_ruleset", no_landlock)
    with pytest.raises(ToolError, match="refuses to run without isolation: missing Landlock") as info:
        PythonSandbox(SandboxConfig()).run("print(1)", timeout_seconds=5)
    assert "COGNITIONOS_SANDBOX_REQUIRE_ISOLATION" in str(info.value)
    # The explicit opt-out runs it (the other layers still apply).
    res = PythonSandbox(SandboxConfig(require_isolation=False)).run("print(1)", timeout_seconds=5)
    assert res.exit_code == 0 and res.stdout == "1\n"


def test_an_interpreter_the_sandbox_user_cannot_run_is_reported() -> None:
    if not identity.is_root():
        pytest.skip("only a dropped uid can be refused an interpreter")
    hidden = Path(sys.executable).resolve()
    if identity.usable_by_other(hidden):
        pytest.skip("this machine's interpreter is world-executable")
    with pytest.raises(ToolError, match="no Python interpreter the sandbox user can execute"):
        PythonSandbox(SandboxConfig(python=hidden)).run("print(1)", timeout_seconds=5)


def test_sandbox_config_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_SANDBOX_MEMORY_MB", "128")
    monkeypatch.setenv("COGNITIONOS_SANDBOX_REQUIRE_ISOLATION", "false")
    cfg = SandboxConfig()
    assert cfg.memory_mb == 128 and cfg.require_isolation is False


def test_concurrent_runs_are_independent(registry: ToolRegistry, ctx: ToolContext) -> None:
    """foreach steps run tools in parallel: each run gets its own uid, directory and output."""
    from concurrent.futures import ThreadPoolExecutor

    code = "import os, time\ntime.sleep(0.2)\nprint({n}, os.getuid(), os.getcwd())"
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda n: run(registry, ctx, code.format(n=n)), range(4)))
    rows = [out.stdout.split() for out in outs]
    assert [row[0] for row in rows] == ["0", "1", "2", "3"]
    assert len({row[2] for row in rows}) == 4
    if identity.is_root():
        assert len({row[1] for row in rows}) == 4
