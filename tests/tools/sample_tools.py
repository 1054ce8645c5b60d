"""Small tools for registry tests: one that counts its calls, one that raises."""

from __future__ import annotations

from cognitionos_dagster.tools import Tool, ToolContext, ToolInput, ToolOutput


class AddInput(ToolInput):
    a: int
    b: int


class AddOutput(ToolOutput):
    total: int = 0


class CountingAdd(Tool):
    name = "add"
    description = "Add two integers and count how often it really ran."
    input_model = AddInput
    output_model = AddOutput
    permissions_required = ["math"]

    def __init__(self) -> None:
        self.calls = 0

    def run(self, data: ToolInput, ctx: ToolContext) -> AddOutput:
        assert isinstance(data, AddInput)
        self.calls += 1
        if data.a < 0:
            return AddOutput(success=False, error="negative numbers are not supported")
        return AddOutput(success=True, total=data.a + data.b + 1000 * (self.calls - 1), result=data.a + data.b)


class Exploding(Tool):
    name = "explode"
    description = "Always raises."
    input_model = ToolInput
    output_model = ToolOutput

    def run(self, data: ToolInput, ctx: ToolContext) -> ToolOutput:
        raise RuntimeError("the tool blew up")
