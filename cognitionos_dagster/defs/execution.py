"""Run and replay compiled workflows now, on the configured Dagster instance (`cognos run/replay`).

Runs go through `execute_job` with a reconstructable job, so they are real runs of the
instance (stored in PostgreSQL, visible in the UI) and Dagster's re-execution works on them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.jobs import make_resolver
from cognitionos_dagster.compiler.names import TAG_REPLAY_OF, TAG_WORKFLOW_ID, TAG_WORKFLOW_VERSION, step_path
from cognitionos_dagster.compiler.run_owner import fail_orphaned, owner_tags
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
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workflow_id": self.workflow_id, "version": self.version,
                "status": self.status, "outputs": self.outputs, "steps": self.steps, "assets": self.assets}


def open_instance(settings: Settings) -> dg.DagsterInstance:
    """Database up and migrated, `dagster.yaml` current, the instance opened on it."""
    target = migrate.ready(settings)
    write_instance_config(settings.dagster_home, target.dagster_url)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def find_spec(settings: Settings, ref_text: str, *, sync_registry: bool = True) -> WorkflowSpec:
    return find_job(settings, ref_text, sync_registry=sync_registry)[0]


def find_job(settings: Settings, ref_text: str, *, sync_registry: bool = True) -> tuple[WorkflowSpec, str]:
    """The spec and the job to launch: `<id>` for the newest version (it materialises the assets).
    Only the workflow, the newest version of its id and the workflows they call are read; the rest of
    the folder only to say what is known when nothing matches."""
    ref = WorkflowRef.parse(ref_text)
    loaded = load_workflow(settings, ref, sync_registry=sync_registry)
    try:
        spec = make_resolver(loaded.specs)(ref)
        if ref.version is None:
            return spec, spec.id
        latest = load_workflow(settings, WorkflowRef(id=ref.id), sync_registry=False)  # only its closure too
        newest = make_resolver(latest.specs)(WorkflowRef(id=spec.id))
        return spec, spec.id if newest.version == spec.version else spec.job_name
    except SpecError:
        if not loaded.specs and not loaded.errors:
            loaded = load_workflows(settings, sync_registry=False)
        known = ", ".join(sorted(f"{s.ref}" for s in loaded.specs)) or "none"
        bad = _own_errors(loaded.errors, ref.id)
        raise SpecError(f"no workflow `{ref}` (known: {known})" + (f"; left out: {bad[0]}" if bad else ""),
                        hint="check the id/version, or run `cognos lint`") from None


def _own_errors(errors: list[SpecError], workflow_id: str) -> list[str]:
    """The errors of the workflow's own file first (`<id>.yaml`, or naming `id: <id>`), never
    another file's error that merely mentions the id (a caller of it, say)."""
    own = [e for e in errors if e.file and Path(e.file).stem == workflow_id]
    if not own:
        own = [e for e in errors if e.file and _declares(Path(e.file), workflow_id)]
    return [str(e) for e in own]


def _declares(path: Path, workflow_id: str) -> bool:
    import re

    try:
        return re.search(rf"^id:\s*['\"]?{re.escape(workflow_id)}['\"]?\s*$", path.read_text(), re.M) is not None
    except OSError:
        return False


def run_workflow(settings: Settings, instance: dg.DagsterInstance, spec: WorkflowSpec,
                 inputs: dict[str, Any], *, tags: dict[str, str] | None = None,
                 job_name: str | None = None) -> RunReport:
    """`job_name` defaults to the versioned job; `find_job` names `<id>` for the newest version."""
    spec.validate_inputs(inputs)  # fail before a run is created, naming the input
    result = dg.execute_job(
        reconstructable_workflow_job(job_name or spec.job_name, str(settings.workflow_specs)), instance,
        run_config={k: v for k, v in inputs.items() if k not in spec.upstream_assets},
        tags={**(tags or {}), **owner_tags()},
    )
    return report(settings, instance, result.run_id)


def replay(settings: Settings, instance: dg.DagsterInstance, run_id: str, *, from_failure: bool,
           deterministic: bool, notify: Callable[[str], None] = print) -> RunReport:
    """A run whose `cognos run` process is gone (killed) is first marked failed, said through `notify`."""
    parent = instance.get_run_by_id(run_id)
    if parent is None:
        raise ReplayError(f"no run {run_id} in this Dagster instance", hint="copy the id from `cognos run` or the UI")
    if TAG_WORKFLOW_ID not in parent.tags:
        raise ReplayError(f"run {run_id} is not a workflow run ({parent.job_name})")
    if from_failure and parent.status != dg.DagsterRunStatus.FAILURE:
        marked = fail_orphaned(instance, parent, ExecutionRepository(Database(server.resolve(settings).app_url)))
        if marked is None:
            raise ReplayError(
                f"run {run_id} did not fail ({parent.status.value}); replay it without --from-failure",
                hint="a run still STARTED whose process was killed on another host: mark it failed in the UI "
                     "(Terminate) first, then resume it with --from-failure")
        notify(marked)
        parent = instance.get_run_by_id(run_id)
        assert parent is not None
    options = (dg.ReexecutionOptions.from_failure(run_id, instance) if from_failure
               else dg.ReexecutionOptions(parent_run_id=run_id))
    tags = {TAG_REPLAY_OF: parent.tags.get(TAG_REPLAY_OF, run_id)} if deterministic else {}
    tags.update(owner_tags())
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
        key = step_path((event.step_key or "").split("[")[0])
        if key and not key.startswith("_") and key not in steps:
            error = event.dagster_event.step_failure_data.error if event.dagster_event else None
            steps[key] = {"status": "failed", "attempts": 1, "output": None,
                          "error": error.message.strip() if error else "failed"}
    status = "success" if run.status == dg.DagsterRunStatus.SUCCESS else "failure"
    outputs = (row["outputs"] if row is not None else None) or {}
    return RunReport(run_id, run.tags.get(TAG_WORKFLOW_ID, ""), run.tags.get(TAG_WORKFLOW_VERSION, ""),
                     status, outputs if isinstance(outputs, dict) else {"value": outputs}, steps,
                     asset_report(instance, run))


def asset_report(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, dict[str, Any]]:
    """`{"<wf>/<name>": {"materialized", "checks": {name: {"passed", "blocking", "metadata"}}}}` of the run's
    job: every asset it targets (materialised or not) and every check evaluated in the run."""
    keys = run.asset_selection or set()
    report: dict[str, dict[str, Any]] = {k.to_user_string(): {"materialized": False, "checks": {}} for k in keys}
    for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        key = event.dagster_event.asset_key if event.dagster_event else None
        if key is not None:
            report.setdefault(key.to_user_string(), {"materialized": False, "checks": {}})["materialized"] = True
    for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        data = event.dagster_event.event_specific_data if event.dagster_event else None
        if not isinstance(data, dg.AssetCheckEvaluation):
            continue
        entry = report.setdefault(data.asset_key.to_user_string(), {"materialized": False, "checks": {}})
        entry["checks"][data.check_name] = {
            "passed": data.passed, "blocking": bool(data.blocking),
            "metadata": {k: _plain(v) for k, v in data.metadata.items()},
        }
    return report


def _plain(value: Any) -> Any:
    raw = getattr(value, "value", value)
    return raw if isinstance(raw, str | int | float | bool | type(None) | list | dict) else str(raw)


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
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else exc  # a reader error has no mark
            raise SpecError(f"--input {key}: {raw!r} is not a YAML value ({reason})") from None
    return values
