"""Rules that need the whole spec: step graph, expressions, catalog names, literal inputs.

Each rule returns errors at the key or value they are about; `lint_spec` runs them all so a
user sees every problem of a file in one pass rather than one per run of `cognos lint`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.expressions import (
    CHECK_NAMES,
    FOREACH_NAMES,
    ROOT_NAMES,
    ExpressionError,
    check,
    has_expression,
    is_expression,
)
from cognitionos_dagster.dsl.graph import find_cycle
from cognitionos_dagster.dsl.models import StepSpec, WorkflowSpec
from cognitionos_dagster.dsl.source import Path_, Source
from cognitionos_dagster.errors import SpecError


def lint_spec(spec: WorkflowSpec, source: Source, catalog: Catalog) -> list[SpecError]:
    errors = _step_ids(spec, source)
    known = {s.id for s in spec.steps}
    for i, step in enumerate(spec.steps):
        path: Path_ = ("steps", i)
        errors += _depends_on(step, path, known, source)
        errors += _expressions(spec, step, path, known, source)
        errors += _kind_rules(spec, step, path, source, catalog)
        errors += _failure_rules(spec, step, path, source)
    for name, value in spec.outputs.items():
        errors += _check_value(value, ("outputs", name), ROOT_NAMES, known, spec, source)
    errors += _assets(spec, source, catalog, known) + _own_assets(spec, source)
    return errors + _cycles(spec, source)


def _close(name: str, known: set[str] | list[str]) -> str:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean `{match[0]}`?" if match else f"; known: {', '.join(sorted(known)) or 'none'}"


def _step_ids(spec: WorkflowSpec, source: Source) -> list[SpecError]:
    seen: dict[str, int] = {}
    errors = []
    for i, step in enumerate(spec.steps):
        if step.id in seen:
            line = source.at(("steps", seen[step.id], "id")).line
            errors.append(source.error(("steps", i, "id"), f"duplicate step id `{step.id}` (first used on line "
                                       f"{line}); step ids must be unique within a workflow"))
        seen.setdefault(step.id, i)
    return errors


def _depends_on(step: StepSpec, path: Path_, known: set[str], source: Source) -> list[SpecError]:
    errors = []
    for j, dep in enumerate(step.depends_on):
        if dep == step.id:
            errors.append(source.error((*path, "depends_on", j), f"step `{step.id}` depends on itself; remove `{dep}`"))
        elif dep not in known:
            errors.append(source.error((*path, "depends_on", j),
                                       f"step `{step.id}` depends on unknown step `{dep}`{_close(dep, known)}"))
    return errors


def _strings(value: Any, path: Path_) -> Iterator[tuple[str, Path_]]:
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _check_value(
    value: Any, path: Path_, names: tuple[str, ...], known: set[str], spec: WorkflowSpec, source: Source
) -> list[SpecError]:
    errors = []
    for text, where in _strings(value, path):
        if not is_expression(text):
            continue
        try:
            check(text, names=names, steps=known, inputs=spec.inputs.keys())
        except ExpressionError as exc:
            errors.append(source.error(where, str(exc)))
    return errors


def _expressions(spec: WorkflowSpec, step: StepSpec, path: Path_, known: set[str], source: Source) -> list[SpecError]:
    input_names = (*ROOT_NAMES, *FOREACH_NAMES) if step.foreach is not None else ROOT_NAMES
    errors = _check_value(step.input, (*path, "input"), input_names, known, spec, source)
    if step.when is not None:
        if not is_expression(step.when):
            errors.append(source.error((*path, "when"), f"step `{step.id}`: `when` must be an expression such as "
                                       "\"{{ inputs.environment == 'prod' }}\""))
        errors += _check_value(step.when, (*path, "when"), ROOT_NAMES, known, spec, source)
    if isinstance(step.foreach, str):
        if not is_expression(step.foreach):
            errors.append(source.error((*path, "foreach"), f"step `{step.id}`: `foreach` must be a list or one "
                                       "expression such as \"{{ inputs.services }}\""))
        errors += _check_value(step.foreach, (*path, "foreach"), ROOT_NAMES, known, spec, source)
    elif isinstance(step.foreach, list):
        errors += _check_value(step.foreach, (*path, "foreach"), ROOT_NAMES, known, spec, source)
    return errors


def _kind_rules(spec: WorkflowSpec, step: StepSpec, path: Path_, source: Source, catalog: Catalog) -> list[SpecError]:
    errors = []
    if step.agent is not None:
        if not catalog.has_agent(step.agent):
            errors.append(source.error((*path, "agent"), f"unknown agent role `{step.agent}`"
                                       f"{_close(step.agent, list(catalog.agents))}"))
        else:
            errors += literal_input_errors(catalog.agent_model(step.agent), step, path, source, f"role {step.agent}")
    elif step.tool is not None:
        if not catalog.has_tool(step.tool):
            errors.append(source.error((*path, "tool"), f"unknown tool `{step.tool}`"
                                       f"{_close(step.tool, list(catalog.tools))}"))
        else:
            errors += literal_input_errors(catalog.tool_model(step.tool), step, path, source, f"tool {step.tool}")
    elif step.workflow is not None and step.workflow.id == spec.id and step.workflow.version in (None, spec.version):
        errors.append(source.error((*path, "workflow"), f"step `{step.id}` runs its own workflow `{step.workflow}`; "
                                   "a workflow may not call itself"))
    if step.quality_gate is not None and not catalog.has_policy(step.quality_gate):
        errors.append(source.error((*path, "quality_gate"), f"unknown quality-gate policy `{step.quality_gate}`"
                                   f"{_close(step.quality_gate, list(catalog.policies))}"))
    errors += _step_tools_rules(step, path, source, catalog)
    if step.memory_namespace is not None and step.agent is None:
        errors.append(source.error((*path, "memory_namespace"), f"step `{step.id}`: `memory_namespace` applies to "
                                   "agent steps only; remove it"))
    if step.reassign_to is not None and step.reassign_to.agent and not catalog.has_agent(step.reassign_to.agent):
        errors.append(source.error((*path, "reassign_to", "agent"), f"unknown agent role "
                                   f"`{step.reassign_to.agent}`{_close(step.reassign_to.agent, list(catalog.agents))}"))
    return errors


def _step_tools_rules(step: StepSpec, path: Path_, source: Source, catalog: Catalog) -> list[SpecError]:
    """A step's `tools:` may only narrow what its role is allowed, and only name registered tools."""
    if step.tools is None:
        return []
    if step.agent is None:
        return [source.error((*path, "tools"), f"step `{step.id}`: `tools` applies to agent steps only; remove it "
                             "(a tool step names its one tool in `tool`)")]
    errors = []
    for index, name in enumerate(step.tools):
        where = (*path, "tools", index)
        if not catalog.has_tool(name):
            errors.append(source.error(where, f"unknown tool `{name}`{_close(name, list(catalog.tools))}"))
        elif not catalog.agent_may_use(step.agent, name):
            allowed = ", ".join(sorted(catalog.agent_tools.get(step.agent, ()))) or "none"
            errors.append(source.error(where, f"role `{step.agent}` may not use tool `{name}` (its allowed_tools: "
                                       f"{allowed}); remove it from `tools` or add it to allowed_tools in "
                                       f"resources/agents/{step.agent}.yaml"))
    return errors


def _failure_rules(spec: WorkflowSpec, step: StepSpec, path: Path_, source: Source) -> list[SpecError]:
    errors = []
    if step.effective_on_failure(spec.defaults) == "reassign" and step.effective_reassign_to() is None:
        where = (*path, "on_failure") if step.on_failure else path
        errors.append(source.error(where, f"step `{step.id}` has on_failure: reassign but no `reassign_to`; add "
                                   "reassign_to: {agent: <role>, model: <model>}"))
    if step.concurrency is not None and step.foreach is None:
        errors.append(source.error((*path, "concurrency"), f"step `{step.id}`: `concurrency` only applies to foreach "
                                   "steps; remove it or add `foreach`"))
    return errors


def literal_input_errors(
    model: type[BaseModel] | None, step: StepSpec, path: Path_, source: Source, what: str
) -> list[SpecError]:
    """`input` checked against `model` where literal; keys holding expressions are left to run time."""
    if model is None:
        return []
    dynamic = {key for key, value in step.input.items() if has_expression(value)}
    literal = {key: value for key, value in step.input.items() if key not in dynamic}
    try:
        model.model_validate(literal)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if loc and loc[0] in dynamic:
                continue
            field = ".".join(map(str, loc)) or "input"
            where = (*path, "input", *loc) if loc and loc[0] in step.input else (*path, "input")
            message = f"step `{step.id}`: input `{field}` does not fit the {what}: {err['msg']}"
            errors.append(source.error(where, message, key=err["type"] in ("extra_forbidden", "missing")))
        return errors
    return []


def _cycles(spec: WorkflowSpec, source: Source) -> list[SpecError]:
    graph = {s.id: list(s.needs) for s in spec.steps}
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    index = next(i for i, s in enumerate(spec.steps) if s.id == cycle[0])
    return [source.error(("steps", index), f"steps form a cycle: {' -> '.join(cycle)}; remove one of these "
                         "dependencies (depends_on or a steps.<id> reference)")]


def _assets(spec: WorkflowSpec, source: Source, catalog: Catalog, known: set[str]) -> list[SpecError]:
    errors = []
    for name, asset in spec.assets.items():
        path: Path_ = ("assets", name)
        errors += _check_value(asset.value, (*path, "value"), ROOT_NAMES, known, spec, source)
        if asset.memory is not None:
            errors += _check_value(asset.memory.namespace, (*path, "memory", "namespace"), ROOT_NAMES, known, spec,
                                   source)
        first: dict[str, int] = {}
        for j, check_ in enumerate(asset.checks):
            where: Path_ = (*path, "checks", j)
            if check_.expect is not None:
                if check_.name is None:
                    errors.append(source.error(where, f"asset `{name}`: an `expect` check needs a `name`; add "
                                               "name: <what it checks>"))
                if not is_expression(check_.expect):
                    errors.append(source.error((*where, "expect"), f"asset `{name}`: `expect` must be an expression "
                                               "such as \"{{ value.summary | length > 200 }}\""))
                errors += _check_value(check_.expect, (*where, "expect"), (*ROOT_NAMES, *CHECK_NAMES), known, spec,
                                       source)
            elif check_.quality_gate is not None and not catalog.has_policy(check_.quality_gate):
                policy = check_.quality_gate
                errors.append(source.error((*where, "quality_gate"), f"unknown quality-gate policy `{policy}`"
                                           f"{_close(policy, list(catalog.policies))}"))
            if check_.name is None and check_.expect is not None:
                continue
            if check_.check_name in first:
                line = source.at((*path, "checks", first[check_.check_name])).line
                errors.append(source.error(where, f"asset `{name}`: duplicate check name `{check_.check_name}` (first "
                                           f"on line {line}); give each check of an asset its own `name`"))
            first.setdefault(check_.check_name, j)
    return errors


def _own_assets(spec: WorkflowSpec, source: Source) -> list[SpecError]:
    errors = []
    for input_name, key in spec.upstream_assets.items():
        if key.split("/")[0] == spec.id:
            errors.append(source.error(("inputs", input_name, "from_asset"), f"input `{input_name}` reads `{key}`, an "
                                       "asset of this same workflow; a workflow may not read its own asset (use "
                                       "`steps.<id>.output` inside the workflow instead)"))
    return errors
