"""`execute_python`: run a snippet of Python in the sandbox and report what it printed."""

from __future__ import annotations

from pydantic import Field

from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext
from cognitionos_dagster.tools.sandbox import Program, PythonSandbox, SandboxConfig, SandboxResult

_LIMIT_MESSAGES = {
    "wall_clock": "killed: wall-clock limit of {timeout:g} s reached",
    "cpu_time": "killed: CPU-time limit reached (COGNITIONOS_SANDBOX_CPU_SECONDS)",
    "memory": "ran out of memory: limit {memory} MB (COGNITIONOS_SANDBOX_MEMORY_MB)",
    "file_size": "killed: a file grew over {file} MB (COGNITIONOS_SANDBOX_MAX_FILE_MB)",
}


class ExecutePythonInput(ToolInput):
    code: str = Field(min_length=1, description="Python source; runs as a script with the standard library only")
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="wall clock (capped by the step)")
    stdin: str | None = Field(default=None, max_length=1024 * 1024, description="text fed to standard input")


class ExecutePythonOutput(ToolOutput):
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    limit: str | None = Field(default=None, description="wall_clock | cpu_time | memory | file_size when one hit")
    duration_ms: float = 0.0


class ExecutePythonTool(Tool):
    name = "execute_python"
    description = (
        "Run Python code in a sandbox: no network, no secrets, writes only in a private temporary directory, "
        "CPU/memory/process/wall-clock limits. Succeeds when the code exits 0; result is its stdout."
    )
    input_model = ExecutePythonInput
    output_model = ExecutePythonOutput
    permissions_required = ["code_execution"]

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self._config = config
        self._sandbox: PythonSandbox | None = None

    @property
    def sandbox(self) -> PythonSandbox:
        if self._sandbox is None:  # the environment is read when the tool first runs, not at import
            self._sandbox = PythonSandbox(self._config or SandboxConfig())
        return self._sandbox

    def run(self, data: ToolInput, ctx: ToolContext) -> ExecutePythonOutput:
        assert isinstance(data, ExecutePythonInput)
        return self.execute(data.code, data.timeout_seconds, data.stdin, ctx)

    def execute(self, code: str, timeout_seconds: float, stdin: str | None, ctx: ToolContext,
                program: Program | None = None) -> ExecutePythonOutput:
        """Run `code` (with `program` instead of Python when given) and report it in this tool's output."""
        timeout = ctx.cap_timeout(timeout_seconds)
        res = self.sandbox.run(code, timeout_seconds=timeout, stdin=stdin, program=program)
        limit = self._limit(res)
        success = res.exit_code == 0 and limit is None
        return ExecutePythonOutput(
            success=success, result=res.stdout, error=None if success else self._error(res, limit, timeout),
            stdout=res.stdout, stderr=res.stderr, exit_code=res.exit_code, stdout_truncated=res.stdout_truncated,
            stderr_truncated=res.stderr_truncated, limit=limit, duration_ms=round(res.duration_ms, 2),
        )

    def _limit(self, res: SandboxResult) -> str | None:
        """Which limit ended the run, if one did (a runtime may report running out of memory its own way)."""
        return res.limit

    def _error(self, res: SandboxResult, limit: str | None, timeout: float) -> str:
        cfg = self.sandbox.config
        if limit:
            return _LIMIT_MESSAGES[limit].format(timeout=timeout, memory=cfg.memory_mb, file=cfg.max_file_mb)
        last = next((line for line in reversed(res.stderr.splitlines()) if line.strip()), "")
        how = f"killed by signal {-res.exit_code}" if res.exit_code < 0 else f"exited with code {res.exit_code}"
        return f"{how}: {last}" if last else how
