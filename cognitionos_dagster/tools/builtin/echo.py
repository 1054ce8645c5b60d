"""`echo`: hands its input back. Useful to name an intermediate value, to shape outputs for the
next step, and as the cheapest real step (benchmarks measure the platform's own overhead with it)."""

from __future__ import annotations

from typing import Any

from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext


class EchoInput(ToolInput):
    value: Any = None


class EchoTool(Tool):
    name = "echo"
    description = "Returns `value` unchanged as `result`."
    input_model = EchoInput
    output_model = ToolOutput
    permissions_required = []

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        assert isinstance(data, EchoInput)
        return ToolOutput(success=True, result=data.value)
