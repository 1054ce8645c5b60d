"""The spec's complete example loads, with every key understood, against a permissive and a real catalog."""

from __future__ import annotations

import pytest

from cognitionos_dagster.dsl import Catalog, RetrySpec, WorkflowSpec, load_spec_file, load_spec_text
from cognitionos_dagster.errors import SpecError

from .catalog_support import GOLDEN, real_catalog

EXAMPLE = GOLDEN / "deploy_web_app.yaml"


@pytest.fixture(params=["permissive", "real"])
def spec(request: pytest.FixtureRequest) -> WorkflowSpec:
    catalog = Catalog.permissive() if request.param == "permissive" else real_catalog()
    return load_spec_file(EXAMPLE, catalog=catalog)


def test_top_level_keys(spec: WorkflowSpec) -> None:
    assert (spec.id, spec.version, spec.name) == ("deploy_web_app", "1.2.0", "Deploy a web app")
    assert spec.description == "Plan, build, review and summarise a deployment."
    assert spec.schedule == "0 3 * * *"
    assert spec.tags == {"team": "platform"}
    assert spec.job_name == "deploy_web_app__v1_2_0"
    assert spec.version_tuple == (1, 2, 0, 1, ())
    assert spec.source_path == str(EXAMPLE)
    assert len(spec.sha256) == 64
    assert list(spec.outputs) == ["summary"]


def test_inputs(spec: WorkflowSpec) -> None:
    repo, env, services, cost = (spec.inputs[k] for k in ("repo_url", "environment", "services", "max_cost_usd"))
    assert (repo.type, repo.required, repo.default) == ("string", True, None)
    assert (env.enum, env.default) == (["staging", "prod"], "staging")
    assert (services.type, services.items, services.default) == ("array", "string", ["web", "api"])
    assert (cost.type, cost.default) == ("number", 1.0)


def test_defaults_and_effective_values(spec: WorkflowSpec) -> None:
    assert spec.defaults.retry == RetrySpec(max_attempts=3, backoff="exponential", delay_seconds=2, jitter=True)
    assert spec.defaults.timeout_seconds == 300
    build, review = spec.step("build"), spec.step("review")
    assert build.effective_timeout(spec.defaults) == 60
    assert review.effective_timeout(spec.defaults) == 300
    assert review.effective_on_failure(spec.defaults) == "escalate"
    assert build.effective_on_failure(spec.defaults) == "retry"
    assert build.effective_retry(spec.defaults).max_attempts == 3


def test_steps(spec: WorkflowSpec) -> None:
    plan, build, deploy, review, summary, rollout = spec.steps
    assert [s.kind for s in spec.steps] == ["agent", "tool", "agent", "agent", "agent", "workflow"]
    assert plan.quality_gate == "strict"
    assert plan.input["constraints"] == ["budget {{ inputs.max_cost_usd }} USD"]
    assert build.tool == "execute_python" and build.input == {"code": "print('building')"}
    assert (deploy.foreach, deploy.concurrency) == ("{{ inputs.services }}", 4)
    assert review.when == "{{ inputs.environment == 'prod' }}"
    assert summary.reassign_to is not None and summary.reassign_to.model == "fallback"
    assert "\n" in summary.input["content"]  # YAML's "\n" escape reaches the expression
    assert rollout.workflow is not None and (rollout.workflow.id, rollout.workflow.version) == ("health_check", "1.0.0")
    assert (plan.position.line, plan.position.column) == (17, 5)


def test_dependencies_combine_depends_on_and_expressions(spec: WorkflowSpec) -> None:
    assert spec.step("review").needs == ("plan",)  # only through `steps.plan.output.plan`
    assert spec.step("summary").needs == ("deploy_each", "review")
    assert spec.topological_order() == ["plan", "build", "deploy_each", "review", "summary", "rollout"]


def test_model_dump_round_trips(spec: WorkflowSpec) -> None:
    dumped = spec.model_dump(mode="json")
    assert dumped["steps"][5]["workflow"] == "health_check@1.0.0"
    assert WorkflowSpec.model_validate(dumped) == spec


def test_same_text_same_sha_and_positions_use_the_given_path() -> None:
    text = EXAMPLE.read_text()
    a = load_spec_text(text, path="a.yaml", catalog=Catalog.permissive())
    b = load_spec_text(text + "\n# comment\n", path="b.yaml", catalog=Catalog.permissive())
    assert a.sha256 != b.sha256
    assert a.step("plan").position.file == "a.yaml"


def test_step_retry_merges_over_defaults_key_by_key() -> None:
    text = """
id: merge
version: 0.1.0
defaults: {retry: {max_attempts: 4, backoff: linear, delay_seconds: 5}}
steps:
  - {id: a, agent: planner, input: {goal: x}, retry: {max_attempts: 2}}
  - {id: b, agent: planner, input: {goal: x}}
"""
    spec = load_spec_text(text, path="m.yaml", catalog=real_catalog())
    assert spec.step("a").effective_retry(spec.defaults) == RetrySpec(max_attempts=2, backoff="linear",
                                                                       delay_seconds=5)
    assert spec.step("b").effective_retry(spec.defaults).max_attempts == 4
    assert spec.step("a").effective_on_failure(spec.defaults) == "retry"


def test_anchors_under_x_keys_and_merge_keys_are_understood() -> None:
    text = """
id: anchors
version: 1.0.0
x-common: &common {agent: planner, timeout_seconds: 10}
steps:
  - <<: *common
    id: a
    input: {goal: one}
"""
    spec = load_spec_text(text, path="x.yaml", catalog=real_catalog())
    assert spec.step("a").agent == "planner" and spec.step("a").timeout_seconds == 10


def test_all_errors_of_a_file_are_reported_together() -> None:
    text = "id: two\nversion: 1.0.0\nsteps:\n  - {id: a, agent: nobody, input: {}}\n  - {id: b, tool: nothing}\n"
    with pytest.raises(SpecError) as info:
        load_spec_text(text, path="t.yaml", catalog=real_catalog())
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("t.yaml:4:") and "unknown agent role `nobody`" in lines[0]
    assert lines[1].startswith("t.yaml:5:") and "unknown tool `nothing`" in lines[1]


def test_custom_role_without_schema_skips_input_validation() -> None:
    text = "id: c\nversion: 1.0.0\nsteps:\n  - {id: a, agent: custom, input: {anything: [1, 2]}}\n"
    assert load_spec_text(text, path="c.yaml", catalog=real_catalog()).step("a").input == {"anything": [1, 2]}


def test_yaml_timestamps_stay_strings_and_keys_are_text() -> None:
    text = "id: t\nversion: 1.0.0\nsteps:\n  - {id: a, agent: custom, input: {on: 2024-01-01, 1: yes}}\n"
    spec = load_spec_text(text, path="t.yaml", catalog=real_catalog())
    assert spec.step("a").input == {"on": "2024-01-01", "1": True}


def test_recursive_alias_is_an_error_not_a_hang() -> None:
    text = "id: r\nversion: 1.0.0\nsteps:\n  - &s {id: a, agent: custom, input: {me: *s}}\n"
    with pytest.raises(SpecError) as info:
        load_spec_text(text, path="r.yaml", catalog=real_catalog())
    assert info.value.line is not None


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i-1}'] * 10)}]" for i in range(1, 7)]
    text = "id: bomb\nversion: 1.0.0\ntags:\n  " + "\n  ".join(lines) + "\nsteps: []\n"
    with pytest.raises(SpecError, match="too large"):
        load_spec_text(text, path="b.yaml", catalog=real_catalog())
