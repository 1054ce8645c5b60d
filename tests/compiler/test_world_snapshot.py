"""A snapshot of the compiled world from the shipped specs: a change to the graph shows in review."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from cognitionos_dagster.defs.workflows import workflow_definitions
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings


@pytest.fixture
def shipped_defs(database_url: str) -> dg.Definitions:
    return workflow_definitions(load_settings(workflow_specs=PROJECT_ROOT / "workflow_specs"))


def _nodes(job: dg.JobDefinition) -> list[str]:
    return sorted(node.name for node in job.graph.nodes)


def test_jobs_schedules_and_tags(shipped_defs: dg.Definitions) -> None:
    repo = shipped_defs.get_repository_def()
    jobs = sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__"))
    assert {"deploy_web_app", "deploy_web_app__v1_2_0", "health_check", "health_check__v1_0_0"} <= set(jobs)
    schedules = {s.name: (s.cron_schedule, s.job_name, s.default_status) for s in repo.schedule_defs}
    assert schedules["deploy_web_app_schedule"] == ("0 3 * * *", "deploy_web_app", dg.DefaultScheduleStatus.STOPPED)

    deploy = repo.get_job("deploy_web_app__v1_2_0")
    assert _nodes(deploy) == ["_inputs", "_outputs", "build", "deploy_each", "plan", "review", "rollout", "summary"]
    assert deploy.tags["team"] == "platform"
    assert deploy.tags["cognitionos/workflow_id"] == "deploy_web_app"
    assert deploy.tags["cognitionos/workflow_version"] == "1.2.0"
    assert len(deploy.tags["cognitionos/spec_sha256"]) == 64

    rollout = deploy.graph.node_named("rollout")
    assert isinstance(rollout.definition, dg.GraphDefinition)
    assert sorted(n.name for n in rollout.definition.nodes) == [
        "_call", "_inputs", "_outputs", "daemon", "database", "model_endpoint", "pgvector", "tool_sandbox"
    ]
    plan = deploy.graph.node_named("plan").definition
    assert isinstance(plan, dg.OpDefinition)
    assert plan.retry_policy is not None and plan.retry_policy.max_retries == 2
    assert plan.retry_policy.backoff == dg.Backoff.EXPONENTIAL and plan.retry_policy.jitter == dg.Jitter.PLUS_MINUS
    source = (PROJECT_ROOT / "workflow_specs" / "deploy_web_app.yaml").read_text().splitlines()
    plan_line = next(i for i, line in enumerate(source, 1) if line.strip() == "- id: plan")
    assert plan.tags["cognitionos/source"].endswith(f"deploy_web_app.yaml:{plan_line}:5")
    assert plan._version and len(plan._version) == 16  # code_version: the step content hash
    # foreach retries per item inside the op, never by re-running every item
    assert deploy.graph.node_named("deploy_each").definition.retry_policy is None

    inputs = deploy.run_config_schema.config_type.fields
    assert set(inputs) == {"repo_url", "environment", "services", "max_cost_usd"}
    assert inputs["repo_url"].is_required
    assert inputs["environment"].default_value == "staging"


def test_every_op_of_a_job_depends_on_what_its_expressions_name(shipped_defs: dg.Definitions) -> None:
    deploy = shipped_defs.resolve_job_def("deploy_web_app")
    deps = deploy.graph.dependency_structure
    upstream = {
        node.name: sorted({o.node_name for o in deps.all_upstream_outputs_from_node(node.name)})
        for node in deploy.graph.nodes
    }
    assert upstream["review"] == ["_inputs", "plan"]
    assert upstream["summary"] == ["deploy_each", "review"]  # reads no `inputs`: no edge, two events saved
    assert upstream["rollout"] == ["_inputs", "summary"]


def test_workflow_assets_checks_and_lineage(shipped_defs: dg.Definitions) -> None:
    repo = shipped_defs.get_repository_def()
    graph = repo.asset_graph
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"research_notes/notes", "research_digest/digest", "workflow_specs"} <= keys
    checks = {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}
    assert checks == {"workflow_specs:all_specs_valid", "research_notes/notes:quality_gate_default",
                      "research_notes/notes:has_content", "research_digest/digest:quality_gate_default",
                      "research_digest/digest:long_enough"}
    assert graph.get(dg.AssetKey(["research_digest", "digest"])).parent_keys == {
        dg.AssetKey(["research_notes", "notes"])}
    assert {graph.get(dg.AssetKey(k.split("/"))).group_name for k in ("research_notes/notes",
                                                                      "research_digest/digest")} == {"research"}
    assert repo.get_job("research_notes").tags["cognitionos/workflow_id"] == "research_notes"
    assert repo.get_sensor_def("workflow_assets_automation").default_status == dg.DefaultSensorStatus.RUNNING


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                if line.split("#")[0].strip() == text)


def test_jobs_and_assets_link_to_their_yaml(shipped_defs: dg.Definitions) -> None:
    """`dagster/code_references` points the UI at the spec file and line of the job, each step and each asset."""
    repo = shipped_defs.get_repository_def()
    deploy_file = PROJECT_ROOT / "workflow_specs" / "deploy_web_app.yaml"
    for name in ("deploy_web_app", "deploy_web_app__v1_2_0"):
        refs = repo.get_job(name).metadata["dagster/code_references"]
        assert isinstance(refs, dg.CodeReferencesMetadataValue)
        by_label = {r.label: r for r in refs.code_references}
        assert isinstance(by_label["plan"], dg.LocalFileCodeReference)
        assert {r.file_path for r in refs.code_references} == {str(deploy_file)}  # type: ignore[union-attr]
        assert by_label["deploy_web_app@1.2.0"].line_number == _line_of(deploy_file, "id: deploy_web_app")
        assert all(isinstance(r, dg.LocalFileCodeReference) for r in refs.code_references)
        assert by_label["plan"].line_number == _line_of(deploy_file, "- id: plan")  # type: ignore[union-attr]
        assert by_label["review"].line_number == _line_of(deploy_file, "- id: review")  # type: ignore[union-attr]
        lines = [r.line_number for r in refs.code_references]  # type: ignore[union-attr]
        assert lines == sorted(lines) and len(lines) == 1 + 6  # the spec, then its 6 steps in file order

    digest_file = PROJECT_ROOT / "workflow_specs" / "research_digest.yaml"
    spec = repo.asset_graph.get(dg.AssetKey(["research_digest", "digest"]))
    [asset_ref] = spec.metadata["dagster/code_references"].code_references
    assert (asset_ref.file_path, asset_ref.line_number) == (str(digest_file), _line_of(digest_file, "digest:"))
