"""Workflow assets on the real PostgreSQL-backed Dagster instance: materialisation, lineage, checks, hand-off."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.workflow_assets import WorkflowAssetRepository

Writer = Callable[[str, str], Path]

NOTES = """
    id: notes
    version: 1.0.0
    inputs:
      text: {type: string, default: "a first note about agent memory"}
      min_length: {type: integer, default: 5}
    steps:
      - id: collect
        tool: execute_python
        input: {code: "print({{ inputs.text | tojson }})"}
    assets:
      notes:
        value: "{{ steps.collect.output.stdout | trim }}"
        group: research
        checks:
          - name: long_enough
            expect: "{{ value | length >= inputs.min_length }}"
            blocking: true
          - name: mentions_memory
            expect: "{{ 'memory' in value }}"
"""

DIGEST = """
    id: digest
    version: 1.0.0
    inputs:
      notes: {type: string, from_asset: notes/notes}
    steps:
      - id: draft
        tool: execute_python
        input: {code: "print('digest:', {{ inputs.notes | tojson }})"}
    outputs:
      text: "{{ steps.draft.output.stdout | trim }}"
    assets:
      digest:
        value: "{{ steps.draft.output.stdout | trim }}"
"""


def _materialized(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    return {e.dagster_event.asset_key.to_user_string() for e in events if e.dagster_event and e.dagster_event.asset_key}


def _checks(instance: dg.DagsterInstance, run_id: str) -> dict[str, dg.AssetCheckEvaluation]:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
            for e in events if e.dagster_event}


def test_id_job_materialises_and_consumer_reads_latest_value(
    write_spec: Writer, run_job, dagster_instance: dg.DagsterInstance, db: Database
) -> None:
    write_spec("notes", NOTES)
    write_spec("digest", DIGEST)
    res = run_job("notes")
    assert res.success
    assert _materialized(dagster_instance, res.run_id) == {"notes/notes"}
    checks = _checks(dagster_instance, res.run_id)
    assert checks["long_enough"].passed and checks["mentions_memory"].passed
    row = WorkflowAssetRepository(db).latest("notes/notes")
    assert row is not None and row["value"] == "a first note about agent memory"
    assert row["run_id"] == res.run_id and row["workflow_version"] == "1.0.0" and len(row["spec_sha256"]) == 64
    mat = dagster_instance.get_latest_materialization_event(dg.AssetKey(["notes", "notes"]))
    assert mat is not None and mat.asset_materialization is not None
    meta = mat.asset_materialization.metadata
    assert meta["run_id"].value == res.run_id and meta["workflow_version"].value == "1.0.0"
    assert meta["size_bytes"].value == len(json.dumps("a first note about agent memory"))

    consumer = run_job("digest")
    assert consumer.success
    assert consumer.output_for_node("digest__assets", "digest") == "digest: a first note about agent memory"


def test_lineage_in_the_asset_graph(write_spec: Writer, compile_defs) -> None:
    write_spec("notes", NOTES)
    write_spec("digest", DIGEST)
    graph = compile_defs().get_repository_def().asset_graph
    assert graph.get(dg.AssetKey(["digest", "digest"])).parent_keys == {dg.AssetKey(["notes", "notes"])}
    notes = graph.get(dg.AssetKey(["notes", "notes"]))
    assert {k.name for k in notes.check_keys} == {"long_enough", "mentions_memory"}
    assert notes.group_name == "research"


def test_never_materialised_upstream_says_what_to_run(write_spec: Writer, run_job) -> None:
    write_spec("notes", NOTES)
    write_spec("digest", DIGEST)
    res = run_job("digest")
    assert not res.success
    failure = next(e for e in res.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "asset `notes/notes` has never been materialised" in message and "cognos run notes" in message


def test_blocking_check_fails_run_keeps_value_and_consumer_refuses(
    write_spec: Writer, run_job, dagster_instance: dg.DagsterInstance, db: Database
) -> None:
    write_spec("notes", NOTES)
    write_spec("digest", DIGEST)
    res = run_job("notes", {"text": "short memory", "min_length": 100})
    assert not res.success
    assert _materialized(dagster_instance, res.run_id) == {"notes/notes"}  # the value stays visible
    checks = _checks(dagster_instance, res.run_id)
    assert not checks["long_enough"].passed and checks["long_enough"].blocking
    row = WorkflowAssetRepository(db).latest("notes/notes")
    assert row is not None and row["value"] == "short memory" and row["failed_check"] == "long_enough"

    consumer = run_job("digest")
    assert not consumer.success
    failure = next(e for e in consumer.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "notes/notes" in message and "long_enough" in message and res.run_id in message


def test_blocking_check_stops_the_downstream_asset_in_the_same_run(
    write_spec: Writer, compile_defs, dagster_instance: dg.DagsterInstance
) -> None:
    write_spec("notes", NOTES)
    write_spec("digest", DIGEST)
    defs = compile_defs()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(["notes", "notes"]), dg.AssetKey(["digest", "digest"])})
    res = job.execute_in_process(
        run_config={"ops": {"notes__assets": {"ops": {"_inputs": {"config": {"text": "tiny", "min_length": 50}}}}}},
        instance=dagster_instance, raise_on_error=False)
    assert not res.success
    assert _materialized(dagster_instance, res.run_id) == {"notes/notes"}
    started = {e.step_key or "" for e in res.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert "notes__assets._assets" in started
    assert not any(k.startswith("digest__assets") for k in started)  # the consumer never began


def test_expect_that_raises_is_a_failed_check_with_the_error(
    write_spec: Writer, run_job, dagster_instance: dg.DagsterInstance
) -> None:
    write_spec("odd", """
        id: odd
        version: 1.0.0
        steps:
          - id: make
            tool: execute_python
            input: {code: "print('x')"}
        assets:
          thing:
            value: "{{ steps.make.output.stdout | trim }}"
            checks:
              - name: divides
                expect: "{{ (1 / 0) > 0 }}"
              - name: not_a_bool
                expect: "{{ value }}"
    """)
    res = run_job("odd")
    assert res.success  # neither check blocks
    checks = _checks(dagster_instance, res.run_id)
    assert not checks["divides"].passed and "division by zero" in checks["divides"].metadata["error"].value
    assert not checks["not_a_bool"].passed and "not true or false" in checks["not_a_bool"].metadata["error"].value


def test_quality_gate_check_writes_a_gate_row_with_scores(
    write_spec: Writer, run_job, dagster_instance: dg.DagsterInstance, db: Database
) -> None:
    write_spec("summ", """
        id: summ
        version: 1.0.0
        steps:
          - id: sum
            agent: summarizer
            input: {content: "Agent memory keeps what agents learned across runs.", style: concise}
        assets:
          summary:
            value: "{{ steps.sum.output }}"
            checks:
              - quality_gate: default
            memory: {namespace: summaries}
    """)
    res = run_job("summ")
    assert res.success
    check = _checks(dagster_instance, res.run_id)["quality_gate_default"]
    assert check.metadata["policy"].value == "default" and "quality_score" in check.metadata
    assert check.metadata["producing_step"].value == "sum"
    rows = db.fetch_all("SELECT * FROM quality_gate_results WHERE run_id = %s AND step_id = %s",
                        (res.run_id, "summ/summary"))
    assert len(rows) == 1 and rows[0]["passed"] == check.passed
    memories = db.fetch_all(
        "SELECT m.* FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id WHERE n.name = 'summaries'")
    assert len(memories) == 1


@pytest.mark.parametrize("job", ["notes"])
def test_asset_job_keeps_tags_and_inputs(write_spec: Writer, compile_defs, job: str) -> None:
    write_spec("notes", NOTES)
    resolved = compile_defs().resolve_job_def(job)
    assert resolved.tags["cognitionos/workflow_id"] == "notes"
    assert set(resolved.run_config_schema.config_type.fields) == {"text", "min_length"}


def test_cognos_run_json_reports_assets_and_checks(write_spec: Writer) -> None:
    from typer.testing import CliRunner

    from cognitionos_dagster.cli.main import app

    write_spec("notes", NOTES)
    write_spec("plain", """
        id: plain
        version: 1.0.0
        steps:
          - id: only
            tool: execute_python
            input: {code: "print(1)"}
    """)
    result = CliRunner().invoke(app, ["run", "notes", "--json", "--input", "min_length=500"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "failure"
    notes = report["assets"]["notes/notes"]
    assert notes["materialized"] is True
    assert notes["checks"]["long_enough"]["passed"] is False and notes["checks"]["long_enough"]["blocking"] is True
    assert notes["checks"]["mentions_memory"] == {"passed": True, "blocking": False,
                                                  "metadata": notes["checks"]["mentions_memory"]["metadata"]}
    assert report["steps"]["collect"]["status"] == "succeeded"  # step ids as in the spec, not the asset graph's

    ok = CliRunner().invoke(app, ["run", "notes", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["assets"]["notes/notes"]["checks"]["long_enough"]["passed"]
    plain = CliRunner().invoke(app, ["run", "plain", "--json"])
    assert plain.exit_code == 0 and json.loads(plain.stdout)["assets"] == {}


def test_dagster_asset_materialize_from_the_command_line(write_spec: Writer, db: Database) -> None:
    import os
    import subprocess
    import sys

    from cognitionos_dagster.defs.execution import open_instance
    from cognitionos_dagster.settings import load_settings

    write_spec("notes", NOTES)
    settings = load_settings()
    instance = open_instance(settings)  # writes dagster.yaml for the configured PostgreSQL
    env = {**os.environ, "DAGSTER_HOME": str(settings.dagster_home)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    done = subprocess.run([dagster, "asset", "materialize", "--select", "notes/notes", "-m",
                           "cognitionos_dagster.definitions"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    row = WorkflowAssetRepository(db).latest("notes/notes")
    assert row is not None and row["value"] == "a first note about agent memory"
    run = instance.get_run_by_id(row["run_id"])
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    evaluation = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey(["notes", "notes"]), "long_enough")])
    assert evaluation[dg.AssetCheckKey(dg.AssetKey(["notes", "notes"]), "long_enough")].run_id == run.run_id
    instance.dispose()


def test_memory_handoff_and_eager_automation_in_the_asset_graph(
    write_spec: Writer, dagster_instance: dg.DagsterInstance
) -> None:
    from cognitionos_dagster.defs.assembly import build_definitions

    write_spec("notes", NOTES)
    write_spec("digest", DIGEST.replace("        value: \"{{ steps.draft.output.stdout | trim }}\"",
                                        "        value: \"{{ steps.draft.output.stdout | trim }}\"\n"
                                        "        memory: {namespace: digests}") + "    automation: eager\n")
    repo = build_definitions().get_repository_def()
    assert repo.asset_graph.get(dg.AssetKey("memories")).parent_keys == {dg.AssetKey(["digest", "digest"])}
    digest = repo.asset_graph.get(dg.AssetKey(["digest", "digest"]))
    assert digest.automation_condition is not None
    sensor = repo.get_sensor_def("workflow_assets_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert dagster_instance.auto_materialize_use_sensors  # the generated dagster.yaml turns the sensors on


def test_a_check_blocks_when_it_says_so_or_its_policy_blocks(write_spec: Writer, compile_defs) -> None:
    write_spec("gated", """
        id: gated
        version: 1.0.0
        steps:
          - id: sum
            agent: summarizer
            input: {content: "text", style: concise}
        assets:
          out:
            value: "{{ steps.sum.output }}"
            checks:
              - quality_gate: strict
              - quality_gate: strict
                name: strict_said_false
                blocking: false
              - quality_gate: default
              - quality_gate: default
                name: default_said_true
                blocking: true
    """)
    graph = compile_defs().get_repository_def().asset_graph
    blocking = {k.name: graph.get_check_spec(k).blocking for k in graph.asset_check_keys if k.name != "all_specs_valid"}
    assert blocking == {"quality_gate_strict": True, "strict_said_false": True, "quality_gate_default": False,
                        "default_said_true": True}
