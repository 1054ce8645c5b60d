"""The tool registry: lookup, input validation, the run-time permission check, recording and replay.

Agents may call only the tools their role allows; the spec loader checks that against
`names()` at load time and `run` checks it again at run time, because a role's allowed
tools and the registry can change between load and run.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from pydantic import ValidationError

from cognitionos_dagster.errors import PermissionDenied, ToolError
from cognitionos_dagster.tools import recording
from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext
from cognitionos_dagster.tracing.spans import span


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ToolError(f"tool '{tool.name}' is already registered", hint="give the new tool another name")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(f"unknown tool '{name}'", hint=f"registered tools: {', '.join(self.names())}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return sorted(self._tools)

    def describe(self) -> list[dict[str, Any]]:
        return [self._tools[name].describe() for name in self.names()]

    def run(self, name: str, raw_input: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        """Validate, check permission, then serve from the replayed run or run and record the tool.

        Unknown tool, invalid input → ToolError; a role without the tool → PermissionDenied;
        a missing recording in replay → ReplayError. A tool that raises becomes a failed
        (and recorded) output, so the step fails through its `on_failure` strategy.
        """
        tool = self.get(name)
        check_permission(tool, ctx)
        data = validate_input(tool, raw_input)
        request, req_hash = recording.request_of(tool, data.model_dump(mode="json"))
        with span(f"tool {name}", **{"cognitionos.tool": name, "cognitionos.run_id": ctx.run_id,
                                     "cognitionos.step_id": ctx.step_id}) as current:
            started = time.perf_counter()
            raised = False
            if ctx.replay_run_id:
                current.set_attribute("cognitionos.replayed_from", ctx.replay_run_id)
                output = recording.replayed(tool, req_hash, ctx)
            else:
                try:
                    output = tool.run(data, ctx)
                except Exception as exc:  # a tool's failure is the step's failure, recorded, never swallowed
                    raised = True
                    output = failed_output(tool, f"{type(exc).__name__}: {exc}")
            current.set_attribute("cognitionos.tool.success", output.success)
            if not output.success:
                current.set_status(trace.StatusCode.ERROR, output.error or "tool failed")
            recording.record(tool, request, req_hash, output, ctx,
                             latency_ms=(time.perf_counter() - started) * 1000, raised=raised)
        return output


def check_permission(tool: Tool, ctx: ToolContext) -> None:
    if ctx.allowed_tools is None or tool.name in ctx.allowed_tools:
        return
    role = ctx.caller_role or "this caller"
    allowed = ", ".join(sorted(ctx.allowed_tools)) or "none"
    raise PermissionDenied(
        f"role '{role}' may not use tool '{tool.name}' (allowed: {allowed})",
        hint=f"add '{tool.name}' to allowed_tools of the role in resources/agents/, or use a role that has it",
    )


def validate_input(tool: Tool, raw_input: dict[str, Any]) -> ToolInput:
    try:
        return tool.input_model.model_validate(raw_input)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<input>'}: {err['msg']}" for err in exc.errors()
        )
        fields = ", ".join(tool.input_model.model_fields)
        raise ToolError(f"invalid input for tool '{tool.name}': {problems}",
                        hint=f"the input fields of '{tool.name}' are: {fields}") from None


def failed_output(tool: Tool, error: str) -> ToolOutput:
    """A failure in the tool's own output type when its other fields have defaults (they do for built-ins)."""
    try:
        return tool.output_model(success=False, error=error)
    except ValidationError:
        return ToolOutput(success=False, error=error)


def default_registry() -> ToolRegistry:
    """A registry with the built-in tools (cheap: nothing starts until a tool runs)."""
    from cognitionos_dagster.tools.builtin import builtin_tools

    return ToolRegistry(builtin_tools())
