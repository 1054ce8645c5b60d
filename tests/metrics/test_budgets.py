"""Budgets in quality policies: loaded, range-checked with the file's position, and named by roles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.metrics.budgets import role_policies
from cognitionos_dagster.quality.policies import load_quality_policies
from cognitionos_dagster.settings import PROJECT_ROOT


def _resources(tmp_path: Path) -> Path:
    root = tmp_path / "resources"
    shutil.copytree(PROJECT_ROOT / "resources", root)
    return root


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


@pytest.mark.parametrize(("line", "field"), [
    ("min_success_rate: 1.5", "min_success_rate"),
    ("max_p95_latency_ms: 0", "max_p95_latency_ms"),
    ("max_cost_per_task_usd: -0.01", "max_cost_per_task_usd"),
    ("min_avg_quality: -1", "min_avg_quality"),
    ("max_hallucination_rate: 2", "max_hallucination_rate"),
])
def test_a_budget_out_of_range_is_a_load_error_at_its_line(tmp_path: Path, line: str, field: str) -> None:
    root = _resources(tmp_path)
    path = root / "policies" / "quality" / "default.yaml"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, line]) + "\n")
    with pytest.raises(ConfigError, match=rf"default\.yaml:{len(lines) + 1}: {field}: "):
        load_quality_policies(root)


def test_roles_name_their_policy_and_default_to_default(tmp_path: Path) -> None:
    root = _resources(tmp_path)
    _append(root / "policies" / "quality" / "strict.yaml", "max_p95_latency_ms: 2500")
    _append(root / "agents" / "critic.yaml", "quality_policy: strict")
    policy_of = role_policies(root)
    assert policy_of("critic").name == "strict" and policy_of("critic").max_p95_latency_ms == 2500
    assert policy_of("planner").name == "default" and policy_of("planner").max_p95_latency_ms is None
    assert policy_of("retired_role").name == "default"


def test_a_role_naming_an_unknown_policy_is_reported(tmp_path: Path) -> None:
    root = _resources(tmp_path)
    _append(root / "agents" / "critic.yaml", "quality_policy: nope")
    with pytest.raises(ConfigError, match="unknown quality gate policy 'nope'"):
        role_policies(root)("critic")
