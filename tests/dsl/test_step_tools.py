"""A step's `tools:` narrows what its role may call; lint refuses what it cannot offer, with positions."""

from __future__ import annotations

import pytest

from cognitionos_dagster.dsl import load_spec_text
from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.errors import SpecError

from .catalog_support import ExecutorInput, PlannerInput, PythonInput

CATALOG = Catalog(
    agents={"executor": ExecutorInput, "planner": PlannerInput},
    tools={"execute_python": PythonInput, "http_request": None, "search": None},
    agent_tools={"executor": frozenset({"execute_python", "http_request"}), "planner": frozenset({"search"})},
)


def spec(step: str) -> str:
    return f"id: t\nversion: 1.0.0\nsteps:\n{step}"


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, path="t.yaml", catalog=CATALOG)
    return [str(e) for e in getattr(caught.value, "errors", [caught.value])]


def test_a_step_may_narrow_its_roles_tools() -> None:
    loaded = load_spec_text(spec("  - id: a\n    agent: executor\n    tools: [execute_python]\n"
                                 "    input: {task_description: x}\n"), path="t.yaml", catalog=CATALOG)
    assert loaded.steps[0].tools == ["execute_python"]


def test_unknown_and_not_allowed_tools_are_refused_at_their_position() -> None:
    found = errors_of(spec("  - id: a\n    agent: executor\n    tools: [execute_pyton, search]\n"
                           "    input: {task_description: x}\n"))
    assert any(e.startswith("t.yaml:6:13: unknown tool `execute_pyton`") and "execute_python" in e for e in found)
    assert any(e.startswith("t.yaml:6:28: role `executor` may not use tool `search`") and
               "execute_python, http_request" in e and "resources/agents/executor.yaml" in e for e in found)


def test_tools_on_a_tool_step_is_refused() -> None:
    found = errors_of(spec("  - id: a\n    tool: execute_python\n    tools: [execute_python]\n"
                           "    input: {code: x}\n"))
    assert any(e.startswith("t.yaml:6:12: step `a`: `tools` applies to agent steps only") for e in found)
