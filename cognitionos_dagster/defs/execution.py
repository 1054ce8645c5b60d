"""Run and replay compiled workflows now, on the configured Dagster instance (`cognos run/replay`).

Runs go through `execute_job` with a reconstructable job, so they are real runs of the
instance (stored in PostgreSQL, visible in the UI) and Dagster's re-execution works on them.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.jobs import make_resolver
from cognitionos_dagster.compiler.names import TAG_REPLAY_OF, TAG_WORKFLOW_ID, TAG_WORKFLOW_VERSION
from cognitionos_dagster.db import migrate, server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.executions import ExecutionRepository
from cognitionos_dagster.defs.instance_config import write_instance_config
from cognitionos_dagster.defs.reconstruct import reconstructable_workflow_job
from cognitionos_dagster.defs.workflows import load_workflow, load_workflows
from cognitionos_dagster.dsl.models import WorkflowRef, WorkflowSpec
from cognitionos_dagster.errors import ReplayError, SpecError
from cognitionos_dagster.settings import Settings


@dataclass
class RunReport:
    run_id: str
    workflow_id: str
    version: str
    status: str  # "success" | "failure"
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workflow_id": self.workflow_id, "version": self.version,
                "status": self.status, "outputs": self.outputs, "steps": self.steps}


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """Database up and migrated, `dagster.yaml` current, the instance opened on it."""
    target = migrate.ready(settings)
    write_instance_config(settings.dagster_home, target.dagster_url)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def find_spec(settings: Settings, ref_text: str) -> WorkflowSpec:
    """The workflow `ref_text` names, checked against the registry with the workflows it calls;
    the rest of the folder is read only to say what is known when nothing matches."""
    ref = WorkflowRef.parse(ref_text)
    loaded = load_workflow(settings, ref)
    try:
        return make_resolver(loaded.specs)(ref)
    except SpecError:
        if not loaded.specs and not loaded.errors:
            loaded = load_workflows(settings, sync_registry=False)
        known = ", ".join(sorted(f"{s.ref}" for s in loaded.specs)) or "none"
        bad = [str(e) for e in loaded.errors if ref.id in str(e)]
        raise SpecError(f"no workflow {ref} (known: {known})" + (f"; left out: {bad[0]}" if bad else ""),
                        hint="check the id/version, or run `cognos lint`") from None


def run_workflow(settings: Settings, instance: dg.DagsterInstance, spec: WorkflowSpec,
                 inputs: dict[str, Any], *, tags: dict[str, str] | None = None) -> RunReport:
    spec.validate_inputs(inputs)  # fail before a run is created, naming the input
    result = dg.execute_job(
        reconstructable_workflow_job(spec.job_name, str(settings.workflow_specs)), instance,
        run_config=inputs, tags=tags or {},
    )
    return report(settings, instance, result.run_id)


def replay(settings: Settings, instance: dg.DagsterInstance, run_id: str, *, from_failure: bool,
           deterministic: bool) -> RunReport:
    parent = instance.get_run_by_id(run_id)
    if parent is None:
        raise ReplayError(f"no run {run_id} in this Dagster instance", hint="copy the id from `cognos run` or the UI")
    if TAG_WORKFLOW_ID not in parent.tags:
        raise ReplayError(f"run {run_id} is not a workflow run ({parent.job_name})")
    if from_failure and parent.status != dg.DagsterRunStatus.FAILURE:
        raise ReplayError(f"run {run_id} did not fail ({parent.status.value}); replay it without --from-failure")
    options = (dg.ReexecutionOptions.from_failure(run_id, instance) if from_failure
               else dg.ReexecutionOptions(parent_run_id=run_id))
    tags = {TAG_REPLAY_OF: parent.tags.get(TAG_REPLAY_OF, run_id)} if deterministic else {}
    result = dg.execute_job(
        reconstructable_workflow_job(parent.job_name, str(settings.workflow_specs)), instance,
        run_config=parent.run_config, tags=tags, reexecution_options=options,
    )
    return report(settings, instance, result.run_id)


def report(settings: Settings, instance: dg.DagsterInstance, run_id: str) -> RunReport:
    """What a run did, from the execution records, completed by Dagster's step failures."""
    run = instance.get_run_by_id(run_id)
    assert run is not None
    target = server.resolve(settings)
    executions = ExecutionRepository(Database(target.app_url))
    row = executions.get(run_id)
    steps = {
        r["step_id"]: {"status": r["status"], "attempts": r["attempts"], "output": r["output"], "error": r["error"]}
        for r in executions.steps(run_id)
    }
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        key = (event.step_key or "").split("[")[0]
        if key and not key.startswith("_") and key not in steps:
            error = event.dagster_event.step_failure_data.error if event.dagster_event else None
            steps[key] = {"status": "failed", "attempts": 1, "output": None,
                          "error": error.message.strip() if error else "failed"}
    status = "success" if run.status == dg.DagsterRunStatus.SUCCESS else "failure"
    outputs = (row or {}).get("outputs") or {}
    return RunReport(run_id, run.tags.get(TAG_WORKFLOW_ID, ""), run.tags.get(TAG_WORKFLOW_VERSION, ""),
                     status, outputs if isinstance(outputs, dict) else {"value": outputs}, steps)


def parse_inputs(pairs: list[str], input_file: Path | None) -> dict[str, Any]:
    """`--input k=v` values are YAML scalars or flow values (`n=3`, `items=[1,2]`); a file is a mapping."""
    import yaml

    values: dict[str, Any] = {}
    if input_file is not None:
        loaded = yaml.safe_load(input_file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise SpecError("the input file must hold a mapping of input names to values", file=str(input_file))
        values.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SpecError(f"--input {pair!r}: write it as name=value")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise SpecError(f"--input {key}: {raw!r} is not a YAML value ({exc.problem})") from None
    return values
