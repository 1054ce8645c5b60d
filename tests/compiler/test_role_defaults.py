"""A step's failure settings come from the first level that gives them: the step, the workflow's
`defaults`, the role's file (`failure_strategy`, `max_retries`, `retry_delay_seconds`), the platform."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from cognitionos_dagster.compiler.catalog import build_catalog
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.executions import ExecutionRepository
from cognitionos_dagster.dsl.loader import load_spec_text
from cognitionos_dagster.dsl.models import StepSpec
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings

ROLE = """
role: careful
failure_strategy: skip
max_retries: 2
retry_delay_seconds: 0
input_schema: {type: object, properties: {text: {type: string}}, required: [text]}
output_schema: {type: object, properties: {answer: {type: string}}, required: [answer]}
"""
SILENT = """
role: silent
input_schema: {type: object, properties: {text: {type: string}}, required: [text]}
output_schema: {type: object, properties: {answer: {type: string}}, required: [answer]}
"""


@pytest.fixture
def resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "resources"
    shutil.copytree(PROJECT_ROOT / "resources", target)
    for role, text in (("careful", ROLE), ("silent", SILENT)):
        (target / "agents" / f"{role}.yaml").write_text(text)
        (target / "prompts" / role).mkdir()
        (target / "prompts" / role / "v1.md").write_text("Answer {{ input.text }} as JSON.")
    monkeypatch.setenv("COGNITIONOS_RESOURCES_DIR", str(target))
    return target


def _step(resources: Path, step: str, defaults: str = "{}", role: str = "careful") -> tuple[StepSpec, object]:
    text = textwrap.dedent(f"""
        id: levels
        version: 1.0.0
        defaults: {defaults}
        steps:
          - id: s
            agent: {role}
            input: {{text: hi}}
    """) + textwrap.indent(textwrap.dedent(step), " " * 4)
    spec = load_spec_text(text, path="levels.yaml", catalog=build_catalog(load_settings(resources_dir=resources)))
    return spec.steps[0], spec.defaults


def test_the_step_wins(resources: Path) -> None:
    step, defaults = _step(resources, "on_failure: fail\nretry: {max_attempts: 5, delay_seconds: 3}\n",
                           "{on_failure: escalate, retry: {max_attempts: 9}}")
    assert step.effective_on_failure(defaults) == "fail"
    retry = step.effective_retry(defaults)
    assert (retry.max_attempts, retry.delay_seconds) == (5, 3)


def test_workflow_defaults_come_before_the_role(resources: Path) -> None:
    step, defaults = _step(resources, "", "{on_failure: escalate, retry: {max_attempts: 4}}")
    assert step.effective_on_failure(defaults) == "escalate"
    retry = step.effective_retry(defaults)
    assert retry.max_attempts == 4 and retry.delay_seconds == 0  # the delay is still the role's


def test_the_role_fills_what_step_and_workflow_leave_out(resources: Path) -> None:
    step, defaults = _step(resources, "retry: {backoff: constant}\n")
    assert step.effective_on_failure(defaults) == "skip"
    retry = step.effective_retry(defaults)
    assert (retry.max_attempts, retry.delay_seconds, retry.backoff) == (3, 0, "constant")


def test_the_platform_default_when_nobody_says(resources: Path) -> None:
    step, defaults = _step(resources, "", role="silent")
    assert step.effective_on_failure(defaults) == "retry"
    retry = step.effective_retry(defaults)
    assert (retry.max_attempts, retry.delay_seconds) == (1, 1.0)


def test_a_run_follows_the_roles_strategy(resources: Path, write_spec: Callable[[str, str], Path], run_job,
                                          db: Database) -> None:
    """The input breaks the role's schema at run time (not a literal, so load time cannot see it):
    the role says skip, so the run succeeds with the step skipped after one attempt (no retry
    can fix an input)."""
    write_spec("levels", """
        id: levels
        version: 1.0.0
        inputs: {n: {type: number, default: 3}}
        steps:
          - id: s
            agent: careful
            input: {text: "{{ inputs.n }}"}
    """)
    res = run_job("levels")
    assert res.success
    row = {r["step_id"]: r for r in ExecutionRepository(db).steps(res.run_id)}["s"]
    assert row["status"] == "skipped" and "invalid" in row["error"]
