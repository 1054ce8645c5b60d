"""Specs that once crashed lint (deep expressions) or registration (values PostgreSQL cannot store)
are refused by lint with file:line:col; values at each limit still lint, register and run."""

from __future__ import annotations

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry
from cognitionos_dagster.dsl import Catalog, WorkflowSpec, load_spec_text
from cognitionos_dagster.dsl.expression_analysis import MAX_EXPRESSION_DEPTH
from cognitionos_dagster.dsl.expressions import render
from cognitionos_dagster.dsl.formats import MAX_NAME_LENGTH, MAX_SCHEDULE_LENGTH, MAX_VERSION_LENGTH
from cognitionos_dagster.dsl.loader import flatten
from cognitionos_dagster.errors import SpecError

SPEC = 'id: limits\nversion: {version}\n{extra}steps:\n  - id: s\n    tool: echo\n    input: {{x: "{expr}"}}\n'


def spec_text(version: str = "1.0.0", extra: str = "", expr: str = "x") -> str:
    return SPEC.format(version=version, extra=extra, expr=expr)


def load(text: str) -> WorkflowSpec:
    return load_spec_text(text, path="limits.yaml", catalog=Catalog.permissive())


def refused(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load(text)
    (error,) = flatten(info.value)
    assert error.file == "limits.yaml" and error.line and error.column, error
    return error


DEEP = {
    "200 parentheses": "(" * 200 + "1" + ")" * 200,
    "5,000 nots": "not " * 5000 + "true",
    "5,000 minus signs": "-" * 5000 + "1",
    "300 attributes": "inputs" + ".a" * 300,
    "300 filters": "'a'" + " | upper" * 300,
    "300 additions": " + ".join(["1"] * 300),
    "200 nested lists": "[" * 200 + "1" + "]" * 200,
    "100 calls": "range(" * 100 + "1" + ")" * 100,
    "100 conditionals": "1 if true else " * 100 + "2",
}


@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_deep_expressions_are_refused_with_a_position(body: str) -> None:
    error = refused(spec_text(expr="{{ " + body + " }}"))
    assert (error.line, error.column) == (6, 16)
    assert f"nested more than {MAX_EXPRESSION_DEPTH} levels deep" in error.message
    assert len(error.message) < 300  # the expression is cut, not printed in full


@pytest.mark.parametrize("template", ["{%% if true %%}{{ %s }}{%% endif %%}", "{{ %s }}{# a comment #}"])
def test_deep_expressions_are_refused_on_the_jinja2_path_too(template: str) -> None:
    assert "nested more than" in refused(spec_text(expr=template % ("x" + ".a" * 300))).message
    assert "nested more than" in refused(spec_text(expr=template % ("(" * 300 + "1" + ")" * 300))).message


def test_an_expression_at_the_depth_limit_loads_and_renders() -> None:
    lookups = MAX_EXPRESSION_DEPTH - 2  # `inputs`, `.x` and these: a tree exactly at the limit
    inputs = "inputs: {x: {type: object}}\n"
    spec = load(spec_text(extra=inputs, expr="{{ inputs.x" + ".a" * lookups + " }}"))
    nested: object = "deep"
    for _ in range(lookups):
        nested = {"a": nested}
    assert render(spec.steps[0].input["x"], {"inputs": {"x": nested}}) == "deep"
    too_deep = spec_text(extra=inputs, expr="{{ inputs.x" + ".a" * (lookups + 1) + " }}")
    assert "nested more than" in refused(too_deep).message


UNSTORABLE = {
    "NUL in a string": (spec_text(extra='description: "nul\\0byte"\n'), (3, 14), "NUL character"),
    "NUL in a key": (spec_text(extra='tags: {"k\\0": v}\n'), (3, 8), "NUL character"),
    "NUL in an input": (spec_text(expr="a\\0b"), (6, 16), "NUL character"),
    ".inf": (spec_text(extra="defaults: {timeout_seconds: .inf}\n"), (3, 29), "`.inf` is not a finite number"),
    ".nan": (spec_text(extra="outputs: {x: .NaN}\n"), (3, 14), "`.NaN` is not a finite number"),
    "float overflow": (spec_text(extra="defaults: {timeout_seconds: 1.0e+400}\n"), (3, 29), "not a finite"),
    "version too long": (spec_text(version="1.0.0+" + "a" * 60), (2, 10), f"use at most {MAX_VERSION_LENGTH}"),
    "version number over int4": (spec_text(version="2147483648.0.0"), (2, 10), "at most 2147483647"),
    "name too long": (spec_text(extra=f"name: {'n' * (MAX_NAME_LENGTH + 1)}\n"), (3, 7), "at most 200 characters"),
    "schedule too long": (
        spec_text(extra=f'schedule: "{",".join(map(str, range(60)))} * * * *"\n'), (3, 11), "at most 100",
    ),
}


@pytest.mark.parametrize(("text", "position", "message"), UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_values_postgresql_cannot_store_are_refused_by_lint(
    text: str, position: tuple[int, int], message: str
) -> None:
    error = refused(text)
    assert (error.line, error.column) == position and message in error.message, error


def test_values_at_each_column_limit_register(db: Database) -> None:
    version = "1.0.0+" + "b" * (MAX_VERSION_LENGTH - 6)
    schedule = ",".join(map(str, range(0, 60, 2)))[: MAX_SCHEDULE_LENGTH - 8].rstrip(",") + " * * * *"
    spec = load(spec_text(version=version, extra=f"name: {'n' * MAX_NAME_LENGTH}\nschedule: '{schedule}'\n"
                          "description: 'ünïcode ✓'\n", expr="2147483647.0.0"))
    assert len(spec.version) == MAX_VERSION_LENGTH and len(spec.schedule or "") <= MAX_SCHEDULE_LENGTH
    registry = WorkflowRegistry(db)
    assert registry.sync(spec) == "registered"
    assert [row["version"] for row in registry.list(versions=True)] == [version]


def test_the_registry_refuses_what_slipped_past_lint_with_a_position(db: Database) -> None:
    spec = load(spec_text()).model_copy(update={"version": "1.0.0+" + "c" * 80})  # skips the validators
    with pytest.raises(SpecError) as info:
        WorkflowRegistry(db).sync(spec)
    assert "the registry cannot store workflow limits" in info.value.message
    assert (info.value.file, info.value.line, info.value.column) == ("limits.yaml", 1, 1)
