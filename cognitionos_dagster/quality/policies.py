"""Named quality-gate policies, one YAML file each in resources/policies/quality/."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.llm.yaml_source import load_yaml_source

POLICY_DIR = Path("policies") / "quality"


class QualityPolicy(BaseModel):
    """The seed's quality_gate_policies row, plus whether a failure stops the output (blocking)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    description: str | None = None
    min_quality_score: float = Field(default=0.7, ge=0, le=1)
    min_confidence_score: float = Field(default=0.7, ge=0, le=1)
    require_self_critique: bool = False
    require_cross_verification: bool = False
    blocking: bool = True
    # Budgets the daily `agent_metrics` checks hold each role's day to; unset = no budget.
    min_success_rate: float | None = Field(default=None, ge=0, le=1)
    max_p95_latency_ms: float | None = Field(default=None, gt=0)
    max_cost_per_task_usd: float | None = Field(default=None, ge=0)
    min_avg_quality: float | None = Field(default=None, ge=0, le=1)
    max_hallucination_rate: float | None = Field(default=None, ge=0, le=1)


def load_quality_policies(resources_dir: Path) -> dict[str, QualityPolicy]:
    """Every policy file; the file name (without .yaml) must equal the policy's name."""
    folder = resources_dir / POLICY_DIR
    policies: dict[str, QualityPolicy] = {}
    if not folder.is_dir():
        return policies
    for path in sorted(folder.glob("*.y*ml")):
        source = load_yaml_source(path)
        data = source.data if isinstance(source.data, dict) else None
        if data is None:
            raise source.error("a quality policy file holds one mapping", hint="see docs/agents.md#quality-gates")
        data = {"name": path.stem, **data}
        try:
            policy = QualityPolicy.model_validate(data)
        except ValidationError as exc:
            raise source.validation_error(exc, hint="see docs/agents.md#quality-gates") from exc
        if policy.name != path.stem:
            raise source.error(f"policy name {policy.name!r} differs from its file name {path.stem!r}", ("name",),
                               hint=f"rename the file to {policy.name}.yaml or the policy to {path.stem}")
        policies[policy.name] = policy
    return policies


def get_policy(policies: dict[str, QualityPolicy], name: str) -> QualityPolicy:
    try:
        return policies[name]
    except KeyError:
        known = ", ".join(sorted(policies)) or "none"
        raise ConfigError(f"unknown quality gate policy {name!r} (known: {known})",
                          hint="add resources/policies/quality/<name>.yaml or use a known name") from None
