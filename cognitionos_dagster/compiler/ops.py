"""Op factories: the `_inputs` and `_outputs` ends of a workflow, and one op per agent/tool step.

Op bodies use Dagster's raw compute signature `(context, inputs)` so one factory serves any set
of upstream steps. They stay thin: the step runner does the work, these map its outcome to
Dagster (outputs with metadata, `Failure`, retries through `RetryPolicy`).
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.context import (
    build_scope,
    is_skipped_workflow,
    parent_path,
    preview,
    record_path,
    replay_source,
)
from cognitionos_dagster.compiler.names import (
    INPUTS_NODE,
    RESULT,
    TAG_ESCALATIONS,
    TAG_SOURCE,
    UPSTREAM_PREFIX,
    step_code_version,
)
from cognitionos_dagster.compiler.outcomes import StepFailed, StepOutcome
from cognitionos_dagster.compiler.resource import SERVICES, WorkflowServicesResource, services_of
from cognitionos_dagster.compiler.step_runner import StepInvocation, StepRunner
from cognitionos_dagster.db.repositories.executions import StepRecord
from cognitionos_dagster.dsl.expressions import render
from cognitionos_dagster.dsl.models import RetrySpec, StepSpec, WorkflowSpec
from cognitionos_dagster.errors import CognitionOSError
from cognitionos_dagster.tracing.spans import run_trace, span

_RESOURCES = frozenset({SERVICES})


def retry_policy(retry: RetrySpec, on_failure: str) -> dg.RetryPolicy | None:
    if retry.max_attempts <= 1 or on_failure == "fail":
        return None
    delay = retry.delay_seconds or None  # Dagster allows backoff and jitter only with a delay
    backoff = {"linear": dg.Backoff.LINEAR, "exponential": dg.Backoff.EXPONENTIAL}.get(retry.backoff)
    return dg.RetryPolicy(
        max_retries=retry.max_attempts - 1,
        delay=delay,
        backoff=backoff if delay else None,
        jitter=dg.Jitter.PLUS_MINUS if retry.jitter and delay else None,
    )


def _emit(outcome: StepOutcome) -> dg.Output:
    return dg.Output(
        outcome.as_result(),
        metadata={"status": outcome.status, "attempts": outcome.attempts, "output": preview(outcome.output)},
    )


def _fail_run(context: dg.OpExecutionContext, message: str,
              metadata: dict[str, Any] | None = None) -> dg.Failure:
    """Close the run's execution row as failed and give the `Failure` to raise: a failing op must
    never leave the row `running`, and Dagster must not retry what the step runner gave up on."""
    getattr(context.resources, SERVICES).fail_execution(context.run_id, message)
    return dg.Failure(description=message, metadata=metadata, allow_retries=False)


def _fail_step(context: dg.OpExecutionContext, failed: StepFailed) -> dg.Failure:
    if failed.status == "escalated":
        existing = context.run.tags.get(TAG_ESCALATIONS)
        steps = ",".join(filter(None, [existing, failed.step_id]))
        context.instance.add_run_tags(context.run_id, {TAG_ESCALATIONS: steps})
    return _fail_run(context, str(failed), {"status": failed.status, "step": failed.step_id})


def inputs_op(spec: WorkflowSpec, *, name: str, nested: bool) -> dg.OpDefinition:
    """Top level: validates the run config and opens the execution row. Nested: receives the parent
    step's rendered input and validates it against the child's `inputs:`."""

    def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[dg.Output]:
        services = services_of(context)
        given = inputs["call"] if nested else dict(context.op_config or {})
        if nested and is_skipped_workflow(given):
            yield dg.Output(given, metadata={"status": "skipped"})
            return
        try:
            if not nested:
                given = {**given, **read_upstream_assets(services, spec)}
            validated = spec.validate_inputs(given)
        except CognitionOSError as exc:
            if not nested:
                services.start_execution(context, spec, given)
            raise _fail_run(context, str(exc)) from exc
        if not nested:
            services.start_execution(context, spec, validated)
        yield dg.Output(validated, metadata={"inputs": preview(validated)})

    return dg.OpDefinition(
        compute_fn=compute,
        name=name,
        ins={"call": dg.In()} if nested else {f"{UPSTREAM_PREFIX}{n}": dg.In(dg.Nothing) for n in spec.upstream_assets},
        outs={RESULT: dg.Out()},
        config_schema=None if nested else dg.Permissive(),
        required_resource_keys=set(_RESOURCES),
        description=f"Validates the inputs of {spec.ref}" + (" (sub-workflow)" if nested else ""),
        tags={TAG_SOURCE: str(spec.position)},
    )


def read_upstream_assets(services: WorkflowServicesResource, spec: WorkflowSpec) -> dict[str, Any]:
    """The `from_asset` inputs: each upstream's newest value; AssetError when there is none or it failed a check."""
    if not spec.upstream_assets:
        return {}
    store = services.asset_store()
    return {name: store.read_for_consumer(key) for name, key in spec.upstream_assets.items()}


def step_op(spec: WorkflowSpec, step: StepSpec, *, name: str, with_inputs: bool) -> dg.OpDefinition:
    """Build the op of one agent or tool step.

    The op reads its upstream results, runs the step through `StepRunner` and hands
    `{status, output, attempts}` downstream. Plain steps retry through Dagster's `RetryPolicy`
    (built from the step's `retry:`); `foreach` steps retry each item inside the op.

    Args:
        spec (WorkflowSpec): The workflow the step belongs to (defaults, ref, inputs).
        step (StepSpec): The agent or tool step.
        name (str): The op's name, unique within the job.
        with_inputs (bool): Wire the workflow's inputs in. A top-level step whose expressions
            never read `inputs` goes without: each Dagster input costs two events per step.

    Returns:
        dg.OpDefinition: The op, tagged with the step's `file:line:col` and kind. When it runs it
        raises `dg.Failure` (no Dagster retry) once the step failed for good or escalated, after
        closing the execution row as failed.
    """

    def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[dg.Output]:
        services = services_of(context)
        path = record_path(context)
        if is_skipped_workflow(inputs.get(INPUTS_NODE)):
            yield _emit(StepOutcome("skipped", None, 1))
            return
        invocation = StepInvocation(
            workflow=spec, step=step, step_id=path, run_id=context.run_id,
            scope=build_scope(context, spec, inputs), attempt=context.retry_number + 1,
            replay_run_id=replay_source(context),
        )
        try:
            with run_trace(context.run_id), span(
                f"step {path}", **{"cognitionos.run_id": context.run_id, "cognitionos.step_id": path,
                                   "cognitionos.workflow": spec.ref, "cognitionos.step_kind": step.kind,
                                   "cognitionos.attempt": invocation.attempt},
            ):
                outcome = StepRunner(services.step_services()).execute(invocation)
        except StepFailed as failed:
            if failed.retryable:
                context.log.warning(f"{failed}; attempt {invocation.attempt} of {invocation.max_attempts}")
                raise
            raise _fail_step(context, failed) from failed
        except CognitionOSError as exc:  # e.g. an expression that fails on this run's values
            raise _fail_run(context, f"step {path}: {exc}") from exc
        except Exception as exc:  # a bug: the execution row must not stay `running`; Dagster shows the trace
            services.fail_execution(context.run_id, f"step {path}: {type(exc).__name__}: {exc}")
            raise
        if outcome.status == "skipped":
            context.log.info(f"step {path} skipped")
        yield _emit(outcome)

    retry = step.effective_retry(spec.defaults)
    policy = None if step.foreach is not None else retry_policy(retry, step.effective_on_failure(spec.defaults))
    kind = f"{step.kind} `{step.agent or step.tool}`"
    return dg.OpDefinition(
        compute_fn=compute,
        name=name,
        ins={**({INPUTS_NODE: dg.In()} if with_inputs else {}), **{need: dg.In() for need in step.needs}},
        outs={RESULT: dg.Out()},
        required_resource_keys=set(_RESOURCES),
        description=step.description or f"{kind} step `{step.id}` of {spec.ref} ({step.position})",
        tags={TAG_SOURCE: str(step.position), "cognitionos/kind": step.kind},
        retry_policy=policy,
        code_version=step_code_version(step.model_dump(mode="json", exclude={"position"})),
    )


def call_op(spec: WorkflowSpec, step: StepSpec, *, name: str) -> dg.OpDefinition:
    """The entry of a sub-workflow step: evaluates `when` and renders the child's inputs."""
    from cognitionos_dagster.compiler.context import SKIP_MARKER

    def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[dg.Output]:
        if is_skipped_workflow(inputs.get(INPUTS_NODE)):
            yield dg.Output({SKIP_MARKER: True})
            return
        scope = build_scope(context, spec, inputs)
        try:
            if step.when is not None and not render(step.when, scope):
                yield dg.Output({SKIP_MARKER: True}, metadata={"status": "skipped", "reason": "`when` was false"})
                return
            rendered = render(step.input, scope)
        except CognitionOSError as exc:
            raise _fail_run(context, f"step {step.id}: {exc}") from exc
        yield dg.Output(rendered, metadata={"child": str(step.workflow), "inputs": preview(rendered)})

    return dg.OpDefinition(
        compute_fn=compute,
        name=name,
        ins={INPUTS_NODE: dg.In(), **{need: dg.In() for need in step.needs}},
        outs={RESULT: dg.Out()},
        required_resource_keys=set(_RESOURCES),
        description=f"Calls sub-workflow {step.workflow} from step `{step.id}` ({step.position})",
        tags={TAG_SOURCE: str(step.position), "cognitionos/kind": "workflow"},
    )


def outputs_op(spec: WorkflowSpec, *, name: str, nested: bool, needs: list[str]) -> dg.OpDefinition:
    """Renders the declared `outputs:` once every step is done; closes the execution row (top level)
    or records the parent step (sub-workflow)."""

    def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[dg.Output]:
        services = services_of(context)
        if is_skipped_workflow(inputs.get(INPUTS_NODE)):
            outcome = StepOutcome("skipped", None, 1)
        else:
            try:
                outputs = render(spec.outputs, build_scope(context, spec, inputs))
            except CognitionOSError as exc:
                raise _fail_run(context, f"outputs of {spec.ref}: {exc}") from exc
            outcome = StepOutcome("succeeded", outputs, 1)
        if nested:
            parent = parent_path(context)
            if parent is not None:
                services.record_step(StepRecord(context.run_id, parent, "workflow", outcome.status,
                                                output=outcome.output))
        else:
            services.finish_execution(context, "success", outcome.output)
        yield _emit(outcome)

    return dg.OpDefinition(
        compute_fn=compute,
        name=name,
        ins={INPUTS_NODE: dg.In(), **{step_id: dg.In() for step_id in needs}},
        outs={RESULT: dg.Out()},
        required_resource_keys=set(_RESOURCES),
        description=f"Collects the declared outputs of {spec.ref}",
    )
