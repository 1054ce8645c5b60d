"""WorkflowSpecs → Dagster jobs and schedules: one job per id+version, the newest also as `<id>`."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.assets import graph_name, workflow_assets
from cognitionos_dagster.compiler.code_references import job_references
from cognitionos_dagster.compiler.graphs import GraphBuilder, Resolver, workflow_graph
from cognitionos_dagster.compiler.names import TAG_SPEC_SHA256, TAG_WORKFLOW_ID, TAG_WORKFLOW_VERSION
from cognitionos_dagster.compiler.run_config import inputs_config_mapping
from cognitionos_dagster.dsl.models import WorkflowRef, WorkflowSpec
from cognitionos_dagster.errors import SpecError


def run_tags(spec: WorkflowSpec) -> dict[str, str]:
    """Tags on the job, hence on every run: the spec's own plus id, version and content hash."""
    return {**spec.tags, TAG_WORKFLOW_ID: spec.id, TAG_WORKFLOW_VERSION: spec.version, TAG_SPEC_SHA256: spec.sha256}


def workflow_job(spec: WorkflowSpec, graph: dg.GraphDefinition, *, name: str | None = None) -> dg.JobDefinition:
    """One job. In-process executor: agent work is I/O-bound and a process per step costs more than
    most steps (docs/benchmarks.md, "Measurements behind the code"); parallelism comes from `foreach`
    threads (and from running many jobs at once)."""
    name = name or spec.job_name
    return graph.to_job(
        name=name,
        description=(spec.description or spec.name or spec.id) + f" — {spec.ref} from {spec.source_path}",
        config=inputs_config_mapping(spec),
        tags=run_tags(spec),
        metadata={"workflow": spec.ref, "source": spec.source_path, "spec_sha256": spec.sha256,
                  **job_references(spec)},
        executor_def=dg.in_process_executor,
    )


def newest_by_id(specs: Sequence[WorkflowSpec]) -> dict[str, WorkflowSpec]:
    newest: dict[str, WorkflowSpec] = {}
    for spec in specs:
        if spec.id not in newest or spec.version_tuple > newest[spec.id].version_tuple:
            newest[spec.id] = spec
    return newest


def make_resolver(specs: Sequence[WorkflowSpec]) -> Resolver:
    by_ref = {(s.id, s.version): s for s in specs}
    newest = newest_by_id(specs)

    def resolve(ref: WorkflowRef) -> WorkflowSpec:
        spec = by_ref.get((ref.id, ref.version)) if ref.version else newest.get(ref.id)
        if spec is None:
            raise SpecError(f"unknown sub-workflow {ref}", hint="add its spec or fix the reference")
        return spec

    return resolve


def asset_job(spec: WorkflowSpec, assets: dg.AssetsDefinition) -> Any:
    """The `<id>` job of a workflow with `assets:`: runs the whole workflow graph and materialises
    (and checks) its assets; same name, tags, inputs and executor as a plain workflow job."""
    return dg.define_asset_job(
        name=spec.id,
        selection=dg.AssetSelection.assets(assets),
        description=(spec.description or spec.name or spec.id) + f" — {spec.ref} from {spec.source_path}",
        config=inputs_config_mapping(spec, graph_node=graph_name(spec)),
        tags=run_tags(spec),
        metadata={"workflow": spec.ref, "source": spec.source_path, "spec_sha256": spec.sha256,
                  **job_references(spec)},
        executor_def=dg.in_process_executor,
    )


@dataclass
class CompiledWorkflows:
    jobs: list[Any] = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    assets: list[dg.AssetsDefinition] = field(default_factory=list)


def compile_workflows(
    specs: Sequence[WorkflowSpec], *, blocking_policies: frozenset[str] = frozenset()
) -> CompiledWorkflows:
    """Compile loaded workflow specs into Dagster jobs, asset definitions and schedules.

    Every version of a workflow gets its own job (`<id>__v1_2_0` for 1.2.0), so a run of an old version
    can still be launched and replayed; the newest version also gets the job named by its id
    (an asset job when it declares `assets:`) and its schedule, which starts stopped.

    Args:
        specs (Sequence[WorkflowSpec]): Specs that passed loading (`load_specs`); sub-workflow
            references among them are resolved here.
        blocking_policies (frozenset[str]): Quality policies that block. The asset checks of
            those policies are blocking, so a failing check stops downstream assets.

    Returns:
        CompiledWorkflows: The jobs, assets and schedules to put in a `Definitions`.

    Raises:
        SpecError: A `workflow:` step names a workflow or version that is not among `specs`.
    """
    builder = GraphBuilder(make_resolver(specs))
    out = CompiledWorkflows()
    newest = newest_by_id(specs)
    graphs = {spec.job_name: workflow_graph(builder, spec) for spec in specs}  # one graph, two jobs for the newest
    for spec in sorted(specs, key=lambda s: (s.id, s.version_tuple)):
        out.jobs.append(workflow_job(spec, graphs[spec.job_name]))
    for spec in newest.values():
        job: Any
        if spec.assets:
            nodes, deps = builder.body(spec, nested=False)
            assets = workflow_assets(spec, nodes, deps, blocking_policies)
            out.assets.append(assets)
            job = asset_job(spec, assets)
        else:
            job = workflow_job(spec, graphs[spec.job_name], name=spec.id)
        out.jobs.append(job)
        schedule = spec.schedule_spec
        if schedule:
            out.schedules.append(
                dg.ScheduleDefinition(
                    name=f"{spec.id}_schedule",
                    job=job,
                    cron_schedule=schedule.cron,
                    run_config=spec.validate_inputs(schedule.inputs) if schedule.inputs else None,
                    default_status=dg.DefaultScheduleStatus.STOPPED,
                    description=f"`schedule:` of {spec.ref}; stopped until turned on in the UI",
                )
            )
    return out
