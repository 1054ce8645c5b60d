"""Named quality-gate policies, one YAML file each in resources/policies/quality/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.llm.yaml_source import load_yaml_source
from cognitionos_dagster.quality.scoring import check_scorer_name

POLICY_DIR = Path("policies") / "quality"


def _known_scorer(name: str) -> str:
    check_scorer_name(name)
    return name


ScorerName = Annotated[str, AfterValidator(_known_scorer)]


class SelfCritiqueSpec(BaseModel):
    """`self_critique: {max_rounds: N}`: up to N revisions, each reviewed by the critic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_rounds: int = Field(default=1, ge=1, le=10)


class VerifierSpec(BaseModel):
    """The independent judge of `require_cross_verification`; K samples, the median decides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = "critic"
    model: str | None = None  # None: the role's own model; name another for a real second opinion
    samples: int = Field(default=1, ge=1, le=15)
    min_score: float | None = Field(default=None, ge=0, le=1)  # None: the policy's min_quality_score


class GroundingSpec(BaseModel):
    """How the grounding scorer judges claims against the context a step used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_support: float = Field(default=0.5, ge=0, le=1)  # a claim's share of words found in the context
    max_hallucination_score: float = Field(default=0.25, ge=0, le=1)  # share of unsupported claims allowed
    fail_on_hallucination: bool = False  # True: a hallucinated output fails the gate; else only flagged


class QualityPolicy(BaseModel):
    """The seed's quality_gate_policies row, plus whether a failure stops the output (blocking),
    and the quality engine's settings: scorers, self-critique rounds, verifier, grounding."""

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
    scorers: list[ScorerName] = Field(default_factory=list)  # more scorers, by name or import path
    self_critique: SelfCritiqueSpec | None = None
    critic_role: str = "critic"
    critic_model: str | None = None
    verifier: VerifierSpec | None = None
    on_unavailable: Literal["fail", "pass_with_warning"] = "fail"
    grounding: GroundingSpec = Field(default_factory=GroundingSpec)

    @model_validator(mode="after")
    def _verifier_default(self) -> QualityPolicy:
        if self.require_cross_verification and self.verifier is None:
            object.__setattr__(self, "verifier", VerifierSpec())
        return self

    @property
    def critique_rounds(self) -> int:
        """0: no critic; `require_self_critique: true` alone means one round."""
        if self.self_critique is not None:
            return self.self_critique.max_rounds
        return 1 if self.require_self_critique else 0

    @property
    def verifier_threshold(self) -> float:
        v = self.verifier
        return v.min_score if v is not None and v.min_score is not None else self.min_quality_score


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
