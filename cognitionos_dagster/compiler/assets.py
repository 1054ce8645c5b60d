"""`assets:` of a spec as a graph-backed multi-asset: the workflow's own graph plus one op for its assets.

One `_assets` op renders each value, hands it to the PostgreSQL IO manager (the materialisation), then
runs that asset's checks and yields their results. Dagster fails the step after a
failed blocking check, so the run fails and everything downstream of the asset in that run stops,
while the stored value stays, marked failed, for `from_asset` consumers to refuse.
"""


import json
import re
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.asset_checks import CheckOutcome, run_check
from cognitionos_dagster.compiler.code_references import asset_references
from cognitionos_dagster.compiler.context import build_scope, preview
from cognitionos_dagster.compiler.graphs import Node, expressions_of
from cognitionos_dagster.compiler.names import (
    ASSET_GRAPH_SUFFIX,
    ASSETS_NODE,
    INPUTS_NODE,
    OUTPUTS_NODE,
    RESULT,
    UPSTREAM_PREFIX,
)
from cognitionos_dagster.compiler.resource import SERVICES, WorkflowServicesResource, services_of
from cognitionos_dagster.dsl.expressions import analyze, referenced_steps, render
from cognitionos_dagster.dsl.models import AssetCheck, AssetSpec, WorkflowSpec
from cognitionos_dagster.errors import CognitionOSError
from cognitionos_dagster.integrations.workflow_assets import IO_MANAGER_KEY


def asset_key(spec: WorkflowSpec, name: str) -> dg.AssetKey:
    return dg.AssetKey([spec.id, name])


def graph_name(spec: WorkflowSpec) -> str:
    return f"{spec.id}{ASSET_GRAPH_SUFFIX}"


def is_blocking(check: AssetCheck, blocking_policies: frozenset[str]) -> bool:
    """Blocking when the check says so or its policy is blocking (a policy's blocking cannot be loosened)."""
    return bool(check.blocking) or (check.quality_gate is not None and check.quality_gate in blocking_policies)


def _check_out(name: str, check: AssetCheck) -> str:
    return f"check__{name}__{check.check_name}"


def _value_out(name: str) -> str:
    return f"value__{name}"


def _expressions(asset: AssetSpec) -> list[Any]:
    return [asset.value, [c.expect for c in asset.checks if c.expect],
            asset.memory.namespace if asset.memory else None]


def _needs(spec: WorkflowSpec) -> list[str]:
    named = set().union(*(referenced_steps(_expressions(a)) for a in spec.assets.values()))
    return [s.id for s in spec.steps if s.id in named]


def _reads_inputs(spec: WorkflowSpec) -> bool:
    return any("inputs" in analyze(text).names for a in spec.assets.values()
               for text in expressions_of(_expressions(a)))


def producing_step(spec: WorkflowSpec, asset: AssetSpec) -> str | None:
    """The step whose scores a quality-gate check uses: the last agent step (in run order) the value reads,
    else the last step it reads."""
    named = [s for s in spec.topological_order() if s in referenced_steps(asset.value)]
    candidates = [s for s in named if spec.step(s).kind == "agent"] or named
    return candidates[-1] if candidates else None


def assets_op(spec: WorkflowSpec, blocking_policies: frozenset[str]) -> dg.OpDefinition:
    """One op for all assets of the workflow: a step per asset costs events and input loads on
    PostgreSQL, more than the values and checks themselves (docs/benchmarks.md, "Measurements behind
    the code")."""
    producers = {name: producing_step(spec, asset) for name, asset in spec.assets.items()}
    with_inputs = _reads_inputs(spec)

    def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
        services = services_of(context)
        scope = build_scope(context, spec, inputs)
        failed: list[str] = []
        for name, asset in spec.assets.items():
            key = asset_key(spec, name)
            try:
                value = render(asset.value, scope)
            except CognitionOSError as exc:
                services.fail_execution(context.run_id, f"asset {key.to_user_string()}: {exc}")
                raise dg.Failure(description=f"asset {key.to_user_string()}: {exc}", allow_retries=False) from exc
            text = json.dumps(value, default=str)
            yield dg.Output(value, output_name=_value_out(name), metadata={
                "preview": preview(value), "size_bytes": len(text.encode()), "run_id": context.run_id,
                "workflow_version": spec.version, "spec_sha256": spec.sha256,
            })
            blocked = yield from _checks(services, spec, name, asset, value, scope, context.run_id,
                                         producers[name], blocking_policies)
            if blocked is not None:
                failed.append(f"{key.to_user_string()}: blocking check `{blocked}` failed")
            elif asset.memory is not None:
                namespace = str(render(asset.memory.namespace, scope))
                services.store_asset_memory(namespace, key.to_user_string(), text, run_id=context.run_id)
        if failed:
            services.fail_execution(context.run_id, "; ".join(failed))

    outs: dict[str, dg.Out] = {}
    for name, asset in spec.assets.items():
        outs[_value_out(name)] = dg.Out(io_manager_key=IO_MANAGER_KEY, metadata={
            "workflow_id": spec.id, "workflow_version": spec.version, "spec_sha256": spec.sha256})
        outs.update({_check_out(name, c): dg.Out(dg.Nothing) for c in asset.checks})
    ins = {OUTPUTS_NODE: dg.In(dg.Nothing), **{n: dg.In() for n in _needs(spec)}}
    if with_inputs:
        ins[INPUTS_NODE] = dg.In()
    return dg.OpDefinition(
        compute_fn=compute,
        name=f"{spec.job_name}__assets",
        ins=ins,
        outs=outs,
        required_resource_keys={SERVICES},
        description=f"Materialises the assets of {spec.ref} and runs their checks",
        tags={"cognitionos/kind": "asset"},
    )


def _checks(services: WorkflowServicesResource, spec: WorkflowSpec, name: str, asset: AssetSpec, value: Any,
            scope: dict[str, Any], run_id: str, producer: str | None,
            blocking_policies: frozenset[str]) -> Generator[Any, None, str | None]:
    """Yields each check's result; returns the name of the first failed blocking check (and marks the value)."""
    key = asset_key(spec, name)
    failed: CheckOutcome | None = None
    for check in asset.checks:
        outcome = run_check(services, spec, check, value, scope, run_id=run_id, key=key.to_user_string(),
                            producer=producer)
        blocking = is_blocking(check, blocking_policies)
        yield dg.AssetCheckResult(
            asset_key=key, check_name=check.check_name, passed=outcome.passed, metadata=outcome.metadata,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        )
        if blocking and not outcome.passed and failed is None:
            failed = outcome
    if failed is None:
        return None
    reason = str(failed.metadata.get("reason") or failed.metadata.get("error") or "check failed")
    services.asset_store().mark_failed(key.to_user_string(), run_id, failed.name, reason)
    return failed.name


def workflow_assets(
    spec: WorkflowSpec,
    nodes: list[Node],
    deps: Mapping[Any, dict[str, dg.DependencyDefinition]],
    blocking_policies: frozenset[str],
) -> dg.AssetsDefinition:
    """The workflow's graph with its asset ops, as one multi-asset keyed `<workflow id>/<name>`."""
    op = assets_op(spec, blocking_policies)
    alias = ASSETS_NODE
    edges = {OUTPUTS_NODE: dg.DependencyDefinition(OUTPUTS_NODE, RESULT),
             **{n: dg.DependencyDefinition(n, RESULT) for n in _needs(spec)}}
    if INPUTS_NODE in op.ins:
        edges[INPUTS_NODE] = dg.DependencyDefinition(INPUTS_NODE, RESULT)
    all_nodes, all_deps = [*nodes, op], {**deps, dg.NodeInvocation(op.name, alias=alias): edges}
    output_mappings: list[dg.OutputMapping] = []
    check_specs: list[dg.AssetCheckSpec] = []
    for name, asset in spec.assets.items():
        output_mappings.append(dg.OutputMapping(name, alias, _value_out(name)))
        for check in asset.checks:
            check_spec = dg.AssetCheckSpec(check.check_name, asset=asset_key(spec, name),
                                           blocking=is_blocking(check, blocking_policies),
                                           description=check.description or _describe(check))
            check_specs.append(check_spec)
            output_mappings.append(dg.OutputMapping(check_spec.get_python_identifier(), alias,
                                                    _check_out(name, check)))
    upstream = {f"{UPSTREAM_PREFIX}{n}": dg.AssetKey(key.split("/")) for n, key in spec.upstream_assets.items()}
    graph = dg.GraphDefinition(
        name=graph_name(spec),
        description=spec.description or spec.name,
        node_defs=all_nodes,
        dependencies=all_deps,
        input_mappings=[dg.InputMapping(graph_input_name=n, mapped_node_name=INPUTS_NODE, mapped_node_input_name=n)
                        for n in upstream],
        output_mappings=output_mappings,
    )
    eager = dg.AutomationCondition.eager() if spec.automation == "eager" else None
    return dg.AssetsDefinition.from_graph(
        graph,
        keys_by_input_name=upstream,
        keys_by_output_name={name: asset_key(spec, name) for name in spec.assets},
        group_names_by_output_name={name: a.group or spec.id for name, a in spec.assets.items()},
        descriptions_by_output_name={name: a.description or f"Asset `{name}` of {spec.ref}"
                                     for name, a in spec.assets.items()},
        automation_conditions_by_output_name={name: eager for name in spec.assets} if eager else None,
        metadata_by_output_name={name: asset_references(spec, name) for name in spec.assets},
        tags_by_output_name={name: {HANDOFF_TAG: _tag_value(a.memory.namespace)} if a.memory else {}
                             for name, a in spec.assets.items()},
        check_specs=check_specs,
    )


HANDOFF_TAG = "cognitionos/memory_namespace"


def _tag_value(namespace: str) -> str:
    """Tag values allow only letters, digits, `-_.`; an expression namespace shows as `dynamic`."""
    return namespace if re.fullmatch(r"[\w.-]{1,63}", namespace) else "dynamic"


def _describe(check: AssetCheck) -> str:
    if check.quality_gate is not None:
        return f"Quality-gate policy `{check.quality_gate}` on the value, with the producing step's scores."
    return f"Expect `{check.expect}`."
