"""`execute_python` in normal use: results, exit codes, captured and capped output, fail-closed setup."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
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


def test_the_code_runs_as_a_script_and_its_traceback_is_its_own(registry: ToolRegistry, ctx: ToolContext) -> None:
    """The child isolates itself and then runs the code as `python main.py` would: nothing of the sandbox shows."""
    code = ("import sys\nprint(__name__, sys.argv, __file__, sorted(k for k in globals() if not k.startswith('__')))\n"
            "def fail():\n    raise KeyError('deep')\nfail()\n")
    out = run(registry, ctx, code)
    assert out.stdout == "__main__ ['main.py'] main.py ['sys']\n"
    assert out.stderr == ('Traceback (most recent call last):\n  File "main.py", line 5, in <module>\n    fail()\n'
                          '  File "main.py", line 4, in fail\n    raise KeyError(\'deep\')\nKeyError: \'deep\'\n')
    syntax = run(registry, ctx, "x = (\n")
    assert syntax.exit_code == 1 and syntax.stderr.startswith('  File "main.py", line 1\n')
    assert syntax.stderr.endswith("SyntaxError: '(' was never closed\n")


def test_a_layer_failing_in_the_child_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child applies the isolation itself; when the kernel refuses a layer there, nothing runs."""
    monkeypatch.setattr(linux, "landlock_ruleset", lambda *args: os.open("/dev/null", os.O_RDONLY))  # not a ruleset
    marker = Path(tempfile.gettempdir()) / f"cognos-ran-{os.getpid()}"
    with pytest.raises(ToolError, match="the sandbox could not be set up: Landlock: landlock_restrict_self"):
        PythonSandbox(SandboxConfig()).run(f"open({str(marker)!r}, 'w').close()", timeout_seconds=5)
    assert not marker.exists()


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
