"""Checks across spec files: duplicate id+version, sub-workflow references, recursion between workflows.

A spec that fails here is left out with an error, and so is every spec that calls it, until
nothing changes: what remains can all be compiled, and what was left out says why.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from cognitionos_dagster.dsl.expressions import has_expression
from cognitionos_dagster.dsl.graph import find_cycle
from cognitionos_dagster.dsl.inputs import value_problem
from cognitionos_dagster.dsl.models import WorkflowRef, WorkflowSpec
from cognitionos_dagster.dsl.source import Source
from cognitionos_dagster.errors import SpecError

Loaded = tuple[WorkflowSpec, Source]


def _precedence(spec: WorkflowSpec) -> tuple[Any, ...]:
    return spec.version_tuple, spec.version


def newest(specs: Iterable[WorkflowSpec], id: str) -> WorkflowSpec:
    """The highest version (semantic-version precedence) of workflow `id`."""
    found = [s for s in specs if s.id == id]
    if not found:
        raise SpecError(f"no workflow with id `{id}`", hint="run `cognos workflows` to list the known workflows")
    return max(found, key=_precedence)


def newest_of_each(specs: Iterable[WorkflowSpec]) -> dict[str, WorkflowSpec]:
    """Id -> its highest version, in one pass (cross-file checks run it over every loaded spec)."""
    found: dict[str, WorkflowSpec] = {}
    for spec in specs:
        best = found.get(spec.id)
        if best is None or _precedence(spec) > _precedence(best):
            found[spec.id] = spec
    return found


def resolve_ref(specs: Iterable[WorkflowSpec], ref: WorkflowRef) -> WorkflowSpec:
    """`id@version` exactly, or the newest version of `id` when the reference has no version."""
    specs = list(specs)
    if ref.version is not None:
        for spec in specs:
            if spec.id == ref.id and spec.version == ref.version:
                return spec
    elif any(s.id == ref.id for s in specs):
        return newest(specs, ref.id)
    versions = sorted((s for s in specs if s.id == ref.id), key=lambda s: s.version_tuple, reverse=True)
    if versions:
        known = f"; known versions: {', '.join(s.version for s in versions)}"
    else:
        close = difflib.get_close_matches(ref.id, sorted({s.id for s in specs}), n=1)
        known = f"; no workflow has id `{ref.id}`" + (f" (did you mean `{close[0]}`?)" if close else "")
    raise SpecError(f"unknown workflow `{ref}`{known}")


def _duplicates(loaded: Sequence[Loaded]) -> tuple[list[Loaded], list[SpecError]]:
    by_ref: dict[str, list[Loaded]] = {}
    for item in loaded:
        by_ref.setdefault(item[0].ref, []).append(item)
    kept, errors = [], []
    for ref, items in by_ref.items():
        if len(items) == 1:
            kept.append(items[0])
            continue
        files = [spec.source_path for spec, _ in items]
        for spec, source in items:
            others = ", ".join(f for f in files if f != spec.source_path) or spec.source_path
            errors.append(source.error(("version",), f"workflow {ref} is also defined in {others}; "
                                       "each id+version must live in one file: bump `version` or change `id`"))
    return kept, errors


def _reference_errors(
    spec: WorkflowSpec, source: Source, good: list[WorkflowSpec], dropped: set[str],
    defined: dict[str, WorkflowSpec],
) -> list[SpecError]:
    errors = []
    for i, step in enumerate(spec.steps):
        if step.workflow is None:
            continue
        try:
            child = resolve_ref(good, step.workflow)
        except SpecError as exc:
            ref = str(step.workflow)
            reason = (f"sub-workflow `{ref}` was left out because of its own errors; fix those first"
                      if ref in dropped or step.workflow.id in {d.split("@")[0] for d in dropped}
                      else f"step `{step.id}`: {exc.message}")
            errors.append(source.error(("steps", i, "workflow"), reason))
            continue
        errors += _child_input_errors(step.id, step.input, child, source, ("steps", i, "input"))
    return errors + _asset_reference_errors(spec, source, defined, dropped)


def _defined_assets(specs: Iterable[WorkflowSpec]) -> dict[str, WorkflowSpec]:
    """Asset key -> the spec defining it: only a workflow's newest version defines assets."""
    found: dict[str, WorkflowSpec] = {}
    for latest in newest_of_each(specs).values():
        for name in latest.assets:
            found[latest.asset_key(name)] = latest
    return found


def _asset_reference_errors(
    spec: WorkflowSpec, source: Source, defined: dict[str, WorkflowSpec], dropped: set[str]
) -> list[SpecError]:
    errors = []
    for name, key in spec.upstream_assets.items():
        if key in defined or key.split("/")[0] == spec.id:  # own asset: reported by lint
            continue
        if key.split("/")[0] in {d.split("@")[0] for d in dropped}:
            errors.append(source.error(("inputs", name, "from_asset"), f"input `{name}`: the workflow defining "
                                       f"`{key}` was left out because of its own errors; fix those first"))
            continue
        close = difflib.get_close_matches(key, sorted(defined), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else f"; defined assets: {', '.join(sorted(defined)) or 'none'}"
        errors.append(source.error(("inputs", name, "from_asset"), f"input `{name}`: no workflow defines asset "
                                   f"`{key}` (under `assets:` of its newest version){hint}"))
    return errors


def _asset_cycles(loaded: Sequence[Loaded]) -> list[tuple[str, SpecError]]:
    """One error per workflow on a cycle of `from_asset` reads (newest versions), at the input that continues it."""
    specs = [spec for spec, _ in loaded]
    latest = dict(sorted(newest_of_each(specs).items()))
    graph = {ident: sorted({k.split("/")[0] for k in s.upstream_assets.values()} & set(latest))
             for ident, s in latest.items()}
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    chain = " -> ".join(cycle)
    errors = []
    for spec, source in loaded:
        if spec is not latest.get(spec.id) or spec.id not in cycle[:-1]:
            continue
        upstream = cycle[cycle.index(spec.id) + 1]
        name = next(n for n, k in spec.upstream_assets.items() if k.split("/")[0] == upstream)
        errors.append((spec.ref, source.error(("inputs", name, "from_asset"), f"workflows read each other's assets "
                                              f"in a cycle: {chain}; remove one of these from_asset inputs")))
    return errors


def _child_input_errors(sid: str, given: dict, child: WorkflowSpec, source: Source, path: tuple) -> list[SpecError]:
    errors = []
    for name, value in given.items():
        if name not in child.inputs:
            declared = ", ".join(child.inputs) or "none"
            errors.append(source.error((*path, name), f"step `{sid}`: workflow {child.ref} has no input `{name}` "
                                       f"(declared: {declared})", key=True))
        elif not has_expression(value) and value is not None:
            problem = value_problem(child.inputs[name], value)
            if problem:
                errors.append(source.error((*path, name), f"step `{sid}`: input `{name}` of {child.ref}: {problem}"))
    for name, spec in child.inputs.items():
        if spec.required and spec.default is None and name not in given:
            errors.append(source.error(path[:-1], f"step `{sid}`: workflow {child.ref} requires input `{name}`"))
    return errors


def _recursion(loaded: Sequence[Loaded]) -> list[tuple[str, SpecError]]:
    """One error per workflow on a cycle of sub-workflow calls, at the step that continues the cycle."""
    specs = [spec for spec, _ in loaded]
    graph = {spec.ref: [resolve_ref(specs, s.workflow).ref for s in spec.steps if s.workflow] for spec in specs}
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    chain = " -> ".join(cycle)
    errors = []
    for spec, source in loaded:
        if spec.ref not in cycle[:-1]:
            continue
        callee = cycle[cycle.index(spec.ref) + 1]
        index = next(i for i, s in enumerate(spec.steps) if s.workflow and resolve_ref(specs, s.workflow).ref == callee)
        errors.append((spec.ref, source.error(("steps", index, "workflow"), f"workflows call each other: {chain}; "
                                              "a workflow may not run itself through sub-workflows")))
    return errors


def cross_check(loaded: Sequence[Loaded]) -> tuple[list[WorkflowSpec], list[SpecError]]:
    """The specs that can be compiled together, and the errors of those left out."""
    current, errors = _duplicates(loaded)
    dropped: set[str] = set()
    while True:
        good = [spec for spec, _ in current]
        defined = _defined_assets(good)  # once per round: every spec reading an asset looks it up
        bad: dict[str, list[SpecError]] = {}
        for spec, source in current:
            found = _reference_errors(spec, source, good, dropped, defined)
            if found:
                bad[spec.ref] = found
        if not bad:
            for ref, error in _recursion(current) or _asset_cycles(current):
                bad.setdefault(ref, []).append(error)
        if not bad:
            return good, errors
        for found in bad.values():
            errors += found
        dropped |= set(bad)
        current = [item for item in current if item[0].ref not in bad]
