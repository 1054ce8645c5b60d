"""A WorkflowSpec as a Dagster graph: `_inputs` → one node per step → `_outputs`.

A sub-workflow step becomes a nested graph node (visible and expandable in the UI) holding a
`_call` op that renders the child's inputs, then the child's own `_inputs`, steps and
`_outputs`. Dagster wants op definition names unique in the whole repository, so every definition
is named after its spec's job name (`deploy_web_app__v1_2_0__plan`) while the node keeps the step
id as its alias; one builder serves a whole compile, so the `<id>` job and the versioned job (or
two parents of one child) share the very same definitions.
"""

from collections.abc import Callable, Iterable, Iterator
from functools import partial

import dagster as dg

from cognitionos_dagster.compiler.names import CALL_NODE, INPUTS_NODE, OUTPUTS_NODE, RESULT, nested_prefix
from cognitionos_dagster.compiler.ops import call_op, inputs_op, outputs_op, step_op
from cognitionos_dagster.dsl.expressions import analyze, is_expression, referenced_steps
from cognitionos_dagster.dsl.models import StepSpec, WorkflowRef, WorkflowSpec

Resolver = Callable[[WorkflowRef], WorkflowSpec]
Node = dg.OpDefinition | dg.GraphDefinition  # what a graph is built of, in Dagster's public types
Deps = dict[dg.NodeInvocation, dict[str, dg.DependencyDefinition]]


class GraphBuilder:
    """Builds the node definitions of one job; caches what a job may reuse (a child used twice)."""

    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve
        self._cache: dict[tuple[str, str], Node] = {}

    def _cached(self, key: tuple[str, str], make: Callable[[], Node]) -> Node:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def body(self, spec: WorkflowSpec, *, nested: bool) -> tuple[list[Node], Deps]:
        """The nodes and edges of a workflow: its inputs op, its steps, its outputs op."""
        prefix = nested_prefix(spec.job_name, nested=nested)
        key = "nested" if nested else "top"
        nodes: list[Node] = []
        deps: Deps = {}

        inputs_def = self._cached((spec.job_name, f"{key}:{INPUTS_NODE}"),
                                  lambda: inputs_op(spec, name=f"{prefix}{INPUTS_NODE}", nested=nested))
        nodes.append(inputs_def)
        deps[dg.NodeInvocation(inputs_def.name, alias=INPUTS_NODE)] = {}

        for step_id in spec.topological_order():
            step = spec.step(step_id)
            wired = nested or step.kind == "workflow" or reads_inputs(step)
            node = self._cached((spec.job_name, f"{key}:{step_id}"),
                                partial(self._step_node, spec, step, prefix, wired))
            nodes.append(node)
            deps[dg.NodeInvocation(node.name, alias=step_id)] = _edges(step.needs, with_inputs=wired)

        outputs_def = self._cached((spec.job_name, f"{key}:{OUTPUTS_NODE}"),
                                   lambda: outputs_op(spec, name=f"{prefix}{OUTPUTS_NODE}", nested=nested,
                                                     needs=outputs_needs(spec)))
        nodes.append(outputs_def)
        deps[dg.NodeInvocation(outputs_def.name, alias=OUTPUTS_NODE)] = _edges(outputs_needs(spec))
        return _unique(nodes), deps

    def _step_node(self, spec: WorkflowSpec, step: StepSpec, prefix: str, with_inputs: bool) -> Node:
        if step.kind != "workflow":
            return step_op(spec, step, name=f"{prefix}{step.id}", with_inputs=with_inputs)
        assert step.workflow is not None
        child = self.resolve(step.workflow)
        call = call_op(spec, step, name=f"{prefix}{step.id}__call")
        child_nodes, child_deps = self.body(child, nested=True)
        child_inputs = nested_prefix(child.job_name, nested=True) + INPUTS_NODE
        deps: Deps = {dg.NodeInvocation(call.name, alias=CALL_NODE): {}, **child_deps}
        deps[dg.NodeInvocation(child_inputs, alias=INPUTS_NODE)] = {"call": dg.DependencyDefinition(CALL_NODE)}
        graph_inputs = [INPUTS_NODE, *step.needs]
        return dg.GraphDefinition(
            name=f"{prefix}{step.id}__workflow",
            description=f"Sub-workflow {child.ref} called by step `{step.id}` of {spec.ref} ({step.position})",
            node_defs=_unique([call, *child_nodes]),
            dependencies=deps,
            input_mappings=[
                dg.InputMapping(graph_input_name=name, mapped_node_name=CALL_NODE, mapped_node_input_name=name)
                for name in graph_inputs
            ],
            output_mappings=[dg.OutputMapping(RESULT, OUTPUTS_NODE, RESULT)],
        )


def _edges(needs: Iterable[str], *, with_inputs: bool = True) -> dict[str, dg.DependencyDefinition]:
    edges = {INPUTS_NODE: dg.DependencyDefinition(INPUTS_NODE, RESULT)} if with_inputs else {}
    for need in needs:
        edges[need] = dg.DependencyDefinition(need, RESULT)
    return edges


def outputs_needs(spec: WorkflowSpec) -> list[str]:
    """What `_outputs` waits for: the steps its expressions read and every sink step (one nothing
    depends on). Every step is upstream of a sink, so `_outputs` still runs last, while the run
    loads only these results (each Dagster input costs two events)."""
    needed = {s.id for s in spec.steps} - {n for s in spec.steps for n in s.needs}
    needed |= referenced_steps(spec.outputs)
    return [s.id for s in spec.steps if s.id in needed]


def reads_inputs(step: StepSpec) -> bool:
    """Whether any expression of the step (input, when, foreach) reads the workflow's `inputs`."""
    return any("inputs" in analyze(text).names for text in expressions_of((step.input, step.when, step.foreach)))


def expressions_of(value: object) -> Iterator[str]:
    """Every expression string inside a value (dicts and lists searched recursively)."""
    if isinstance(value, str):
        if is_expression(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from expressions_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from expressions_of(item)


def _unique(nodes: list[Node]) -> list[Node]:
    seen: dict[str, Node] = {}
    for node in nodes:
        seen.setdefault(node.name, node)
    return list(seen.values())


def workflow_graph(builder: GraphBuilder, spec: WorkflowSpec, *, name: str | None = None) -> dg.GraphDefinition:
    nodes, deps = builder.body(spec, nested=False)
    return dg.GraphDefinition(
        name=name or spec.job_name,
        description=spec.description or spec.name,
        node_defs=nodes,
        dependencies=deps,
    )
