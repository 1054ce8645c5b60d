"""The registry: lookup, input validation, run-time permission checks, failures as outputs, the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.errors import PermissionDenied, ToolError
from cognitionos_dagster.tools import ToolContext, ToolRegistry, default_registry

from .sample_tools import CountingAdd, Exploding


@pytest.fixture
def reg() -> ToolRegistry:
    return ToolRegistry([CountingAdd(), Exploding()])


BUILTINS = {"execute_python", "execute_javascript", "http_request", "search", "retrieve_memory", "store_memory"}


def test_default_registry_has_the_builtins() -> None:
    names = default_registry().names()
    assert set(names) >= BUILTINS and names == sorted(names)


def test_unknown_tool_lists_the_known_ones(reg: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="unknown tool 'nope'") as info:
        reg.get("nope")
    assert "add, explode" in str(info.value)


def test_duplicate_registration_is_refused(reg: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="already registered"):
        reg.register(CountingAdd())


def test_role_without_the_tool_is_denied(reg: ToolRegistry, ctx: ToolContext) -> None:
    ctx.caller_role, ctx.allowed_tools = "planner", frozenset({"retrieve_memory", "search"})
    with pytest.raises(PermissionDenied, match=r"role 'planner' may not use tool 'add' \(allowed: retrieve_memory, "
                       r"search\)") as info:
        reg.run("add", {"a": 1, "b": 2}, ctx)
    assert "allowed_tools" in str(info.value)
    assert reg.get("add").calls == 0


def test_role_with_the_tool_and_workflow_steps_may_call(reg: ToolRegistry, ctx: ToolContext) -> None:
    ctx.caller_role, ctx.allowed_tools = "executor", frozenset({"add"})
    assert reg.run("add", {"a": 1, "b": 2}, ctx).result == 3
    ctx.caller_role, ctx.allowed_tools = None, None  # a workflow tool step
    assert reg.run("add", {"a": 2, "b": 2}, ctx).result == 4


@pytest.mark.parametrize(("raw", "expected"), [
    ({"a": 1}, "b: Field required"),
    ({"a": 1, "b": "two"}, "b: Input should be a valid integer"),
    ({"a": 1, "b": 2, "c": 3}, "c: Extra inputs are not permitted"),
])
def test_invalid_input_names_the_field(reg: ToolRegistry, ctx: ToolContext, raw: dict[str, object],
                                       expected: str) -> None:
    with pytest.raises(ToolError, match="invalid input for tool 'add'") as info:
        reg.run("add", raw, ctx)
    assert expected in str(info.value) and "the input fields of 'add' are: a, b" in str(info.value)


def test_builtin_input_validation(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="timeout_seconds: Input should be greater than 0"):
        default_registry().run("execute_python", {"code": "print(1)", "timeout_seconds": 0}, ctx)
    with pytest.raises(ToolError, match="url: String should match pattern"):
        default_registry().run("http_request", {"url": "ftp://x"}, ctx)


def test_a_raising_tool_becomes_a_failed_output(reg: ToolRegistry, ctx: ToolContext) -> None:
    out = reg.run("explode", {}, ctx)
    assert not out.success and out.error == "RuntimeError: the tool blew up"


def test_describe_gives_schemas_and_permissions(reg: ToolRegistry) -> None:
    add = next(d for d in reg.describe() if d["name"] == "add")
    assert add["permissions"] == ["math"]
    assert add["input_schema"]["required"] == ["a", "b"]
    assert add["input_schema"]["additionalProperties"] is False
    assert "total" in add["output_schema"]["properties"]


def test_cli_lists_tools_as_json() -> None:
    result = CliRunner().invoke(app, ["tools", "--json"])
    assert result.exit_code == 0, result.output
    tools = {t["name"]: t for t in json.loads(result.stdout)}
    assert set(tools) >= BUILTINS
    assert tools["execute_python"]["input_schema"]["required"] == ["code"]
    assert "exit_code" in tools["execute_python"]["output_schema"]["properties"]
    assert tools["execute_javascript"]["roles"] == ["executor"] == tools["http_request"]["roles"]
    assert tools["echo"]["roles"] == []
    assert tools["search"]["roles"] == ["planner"] == tools["retrieve_memory"]["roles"]
    assert tools["search"]["input_schema"]["required"] == ["query"]


def test_cli_table_and_unknown_tool() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["tools"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "http_request" in table.stdout and "code: string *" in table.stdout
    unknown = runner.invoke(app, ["tools", "nope"])
    assert unknown.exit_code == 1 and "unknown tool 'nope'" in unknown.output
