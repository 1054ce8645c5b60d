"""Workflow specs → the code location's jobs, schedules, spec inventory asset and escalation sensor.

Loading never fails the whole location: a bad file (or one whose id+version was registered
with other content) is left out, logged, named in the `workflow_specs` asset's description and
failed by its asset check, while every good file still becomes a job.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from cognitionos_dagster.compiler.assets import HANDOFF_TAG
from cognitionos_dagster.compiler.catalog import build_catalog
from cognitionos_dagster.compiler.jobs import compile_workflows, make_resolver
from cognitionos_dagster.compiler.names import TAG_WORKFLOW_ID
from cognitionos_dagster.compiler.resource import SERVICES, WorkflowServicesResource
from cognitionos_dagster.db.repositories.escalations import EscalationRepository
from cognitionos_dagster.db.repositories.executions import ExecutionRepository
from cognitionos_dagster.dsl.loader import LoadResult, SpecErrors, load_closure, load_specs
from cognitionos_dagster.dsl.models import WorkflowRef, WorkflowSpec
from cognitionos_dagster.dsl.spec_cache import SpecCache
from cognitionos_dagster.errors import CognitionOSError, DatabaseError, SpecError
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.integrations.notifier import EscalationNotifier
from cognitionos_dagster.integrations.workflow_assets import IO_MANAGER_KEY, WorkflowAssetIOManager
from cognitionos_dagster.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class LoadedWorkflows:
    specs: list[WorkflowSpec] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_workflows(settings: Settings, *, sync_registry: bool = True) -> LoadedWorkflows:
    """Load every spec, drop the bad ones (keeping their errors), and register the good ones.
    Files unchanged since their last load come from the spec cache under COGNITIONOS_HOME."""
    catalog = build_catalog(settings)
    result = load_specs([settings.workflow_specs], catalog=catalog, cache=SpecCache.under(settings.home_dir, catalog))
    return _loaded(settings, result, sync_registry)


def load_workflow(settings: Settings, root: WorkflowRef | str, *, sync_registry: bool = True) -> LoadedWorkflows:
    """Only what one job needs: the workflow `root` (a ref or a job name) and those it calls; the
    rest of the folder is looked at through the spec cache's index, never parsed."""
    catalog = build_catalog(settings)
    result = load_closure([settings.workflow_specs], root, catalog=catalog,
                          cache=SpecCache.under(settings.home_dir, catalog))
    return _loaded(settings, result, sync_registry)


def _loaded(settings: Settings, result: LoadResult, sync_registry: bool) -> LoadedWorkflows:
    loaded = LoadedWorkflows(specs=list(result.specs), errors=list(result.errors))
    if sync_registry and loaded.specs:
        _sync(settings, loaded)
    for error in loaded.errors:
        log.warning("workflow spec left out: %s", error)
    return loaded


def _sync(settings: Settings, loaded: LoadedWorkflows) -> None:
    """Check specs against the registry when the platform database is already up.

    Loading never starts a server and never depends on one: with the embedded server stopped,
    the check is left to `cognos lint` and `cognos run` and the asset says so.
    """
    from cognitionos_dagster.db import embedded
    from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry

    if settings.uses_embedded_database and not embedded.status(settings.pg_dir).running:
        loaded.warnings.append("workflow registry not checked at load: the embedded database is not running "
                               "(`cognos db up` starts it; `cognos lint` checks the registry too)")
        return
    try:
        registry = WorkflowRegistry(DatabaseResource(database_url=settings.database_url).database())
    except DatabaseError as exc:
        loaded.warnings.append(f"workflow registry not checked (database unavailable): {exc}")
        return
    loaded.specs, refused = registry.sync_all(loaded.specs)
    loaded.errors.extend(refused)
    loaded.specs = _without_missing_children(loaded.specs, loaded.errors)


def _without_missing_children(specs: list[WorkflowSpec], errors: list[SpecError]) -> list[WorkflowSpec]:
    """Leave out every spec that calls a workflow no longer there (transitively), naming the call;
    otherwise one refused child would stop the whole code location from compiling."""
    kept = list(specs)
    while True:
        resolve = make_resolver(kept)
        missing: dict[str, SpecError] = {}
        for spec in kept:
            for step in spec.steps:
                if step.workflow is None:
                    continue
                try:
                    resolve(step.workflow)
                except SpecError:
                    missing.setdefault(spec.job_name, SpecError(
                        f"step `{step.id}` calls workflow {step.workflow}, which was left out",
                        file=step.position.file, line=step.position.line, column=step.position.column,
                        hint="fix the called workflow's spec first"))
        if not missing:
            return kept
        errors.extend(missing.values())
        kept = [s for s in kept if s.job_name not in missing]


def _specs_asset(loaded: LoadedWorkflows) -> dg.AssetsDefinition:
    problems = [str(e) for e in loaded.errors] + loaded.warnings
    description = "The workflow specs this code location compiled."
    if problems:
        description += "\n\n**Left out or not checked:**\n\n" + "\n".join(f"- `{p}`" for p in problems)

    @dg.asset(
        name="workflow_specs",
        group_name="workflows",
        description=description,
        check_specs=[dg.AssetCheckSpec("all_specs_valid", asset="workflow_specs",
                                       description="Fails while any spec file is left out; lists each error.")],
    )
    def workflow_specs() -> dg.MaterializeResult:
        rows = [f"| {s.id} | {s.version} | {s.source_path} | {s.sha256[:12]} |" for s in loaded.specs]
        table = "| id | version | file | sha256 |\n|---|---|---|---|\n" + "\n".join(rows)
        return dg.MaterializeResult(
            metadata={"loaded": len(loaded.specs), "left_out": len(loaded.errors), "specs": dg.MetadataValue.md(table)},
            check_results=[
                dg.AssetCheckResult(
                    check_name="all_specs_valid",
                    passed=not loaded.errors,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"errors": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in problems) or "none")},
                )
            ],
        )

    return workflow_specs


def escalation_reporter(settings: Settings) -> dg.SensorDefinition:
    """On by default when a webhook is configured: then each escalation reaches a person."""
    status = dg.DefaultSensorStatus.RUNNING if settings.escalation_webhook else dg.DefaultSensorStatus.STOPPED

    @dg.run_failure_sensor(name="escalation_reporter", default_status=status,
                           description="Posts the escalations a failed workflow run left to the webhook.")
    def _reporter(context: dg.RunFailureSensorContext, db: DatabaseResource, notifier: EscalationNotifier) -> None:
        run = context.dagster_run
        if "cognitionos/escalations" not in run.tags:
            return
        escalations = EscalationRepository(db.database()).for_run(run.run_id)
        delivered = 0
        for esc in escalations:
            context.log.warning(
                f"ESCALATION {esc['id']} run {run.run_id} ({esc['workflow_id']}@{esc['workflow_version']}) "
                f"step {esc['step_id']}: {esc['error']}"
            )
            delivered += notifier.notify(esc)
        context.instance.add_run_tags(run.run_id, {"cognitionos/escalations_reported": str(len(escalations)),
                                                   "cognitionos/escalations_delivered": str(delivered)})

    return _reporter


@dg.run_failure_sensor(name="execution_closer", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Marks a failed run's workflow execution failed when its worker could not "
                                   "(killed, out of memory): run monitoring failed the run from outside.")
def execution_closer(context: dg.RunFailureSensorContext, db: DatabaseResource) -> None:
    run = context.dagster_run
    if TAG_WORKFLOW_ID not in run.tags:
        return
    executions = ExecutionRepository(db.database())
    row = executions.get(run.run_id)
    if row is not None and row["status"] == "running":
        message = context.failure_event.message or "the run failed outside its worker"
        executions.finish(run.run_id, status="failure", error=message)
        context.log.info(f"workflow execution {run.run_id} marked failure: {message}")


def workflow_definitions(settings: Settings, *, specs: Sequence[WorkflowSpec] | None = None) -> dg.Definitions:
    """The whole location's workflow definitions: every spec, the inventory asset and the sensor."""
    loaded = LoadedWorkflows(specs=list(specs)) if specs is not None else _load_or_report(settings)
    sensors: list[dg.SensorDefinition] = [escalation_reporter(settings), execution_closer]
    compiled = _compiled(settings, loaded.specs)
    eager = [a for a in compiled.assets or () if isinstance(a, dg.AssetsDefinition)
             and any(c is not None for c in a.automation_conditions_by_key.values())]
    if eager:
        sensors.append(dg.AutomationConditionSensorDefinition(
            "workflow_assets_automation", target=dg.AssetSelection.assets(*eager),
            default_status=dg.DefaultSensorStatus.RUNNING,
            description="Re-materialises workflow assets marked `automation: eager` when an upstream asset updates.",
        ))
    inventory = dg.Definitions(assets=[_specs_asset(loaded)], sensors=sensors)
    return dg.Definitions.merge(compiled, inventory)


def job_definitions(settings: Settings, job_name: str) -> dg.Definitions | None:
    """What a run of `job_name` needs, compiled from its spec, the workflows it calls and those whose
    assets it reads (None when no spec makes that job); the same job the whole location compiles,
    at a cost independent of the folder."""
    loaded = load_workflow(settings, job_name, sync_registry=False)
    defs = _compiled(settings, loaded.specs)
    if any(job.name == job_name for job in defs.jobs or ()):
        return defs
    if loaded.errors:  # the spec is there but no longer loads: say why rather than "no such job"
        raise SpecErrors(loaded.errors)
    return None


def _compiled(settings: Settings, specs: Sequence[WorkflowSpec]) -> dg.Definitions:
    compiled = compile_workflows(specs, blocking_policies=_blocking_policies(settings, specs))
    return dg.Definitions(jobs=compiled.jobs, schedules=compiled.schedules, assets=compiled.assets,
                          resources={SERVICES: WorkflowServicesResource(db=DatabaseResource()),
                                     "notifier": EscalationNotifier(),
                                     IO_MANAGER_KEY: WorkflowAssetIOManager(db=DatabaseResource())})





def memory_handoffs(defs: dg.Definitions) -> list[dg.AssetKey]:
    """Workflow assets with a `memory:` hand-off (tagged by the compiler), for the `memories` asset's lineage."""
    return sorted((spec.key for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
                   for spec in a.specs if HANDOFF_TAG in spec.tags), key=lambda k: tuple(k.path))


def _blocking_policies(settings: Settings, specs: Sequence[WorkflowSpec]) -> frozenset[str]:
    """Only read when some spec declares assets: their checks need to know which policies block."""
    if not any(s.assets for s in specs):
        return frozenset()
    from cognitionos_dagster.quality.policies import load_quality_policies

    return frozenset(name for name, p in load_quality_policies(settings.resources_dir).items() if p.blocking)


def _load_or_report(settings: Settings) -> LoadedWorkflows:
    try:
        return load_workflows(settings)
    except CognitionOSError as exc:  # e.g. a broken agent definition: report it, keep the location up
        log.error("workflows not loaded: %s", exc)
        return LoadedWorkflows(warnings=[f"no workflows loaded: {exc}"])
