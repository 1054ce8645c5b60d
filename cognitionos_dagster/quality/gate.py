"""Evaluating one output against a policy; the result is recorded, and a blocking failure raises.

A gate must fail loudly: a blocking policy that rejects an output raises GateFailed after
writing its quality_gate_results row, so the failure is both visible and stored. Each scorer
(built-in or the policy's own) gives a verdict; the gate passes when none fails.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import GateFailed
from cognitionos_dagster.quality.policies import QualityPolicy
from cognitionos_dagster.quality.scorers import quality_score as score_output
from cognitionos_dagster.quality.scoring import ScoringContext, Verdict, resolve_scorer
from cognitionos_dagster.tracing.spans import span

BUILTIN_ORDER = ("schema", "quality", "confidence", "critic", "verifier", "grounding")


class GateResult(BaseModel):
    policy: str
    passed: bool
    quality_score: float
    confidence: float | None
    reason: str | None = None
    blocking: bool = True
    verdicts: list[Verdict] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    verifier_score: float | None = None
    verifier_spread: float | None = None
    verifier_samples: list[float] = Field(default_factory=list)
    critique_rounds: int | None = None
    score_trajectory: list[float] = Field(default_factory=list)
    hallucinated: bool | None = None
    hallucination_score: float | None = None
    grounding_method: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def evaluate(
    policy: QualityPolicy,
    output: dict[str, Any] | BaseModel,
    confidence: float | None,
    *,
    quality_score: float | None = None,
    self_critique: float | None = None,
    cross_verification: float | None = None,
    db: Database | None = None,
    run_id: str | None = None,
    step_id: str | None = None,
    agent_role: str | None = None,
    raise_if_blocked: bool = True,
    context: list[str] | None = None,
    schema_errors: list[str] | None = None,
    verifier_spread: float | None = None,
    verifier_samples: list[float] | None = None,
    verifier_problem: str | None = None,
    verifier_reasons: str | None = None,
    critique_rounds: int | None = None,
    score_trajectory: list[float] | None = None,
    details: dict[str, Any] | None = None,
) -> GateResult:
    """Score the output (a critic's score, when given, is the quality) and run the policy's scorers.

    `self_critique` and `cross_verification` are scores in [0, 1] from reviewing agents; a policy
    requiring one fails when it is missing (`verifier_problem` says why, and `on_unavailable`
    decides). `context` (memories, upstream assets the step used) turns the grounding scorer on.
    """
    with span("quality.gate", policy=policy.name, run_id=run_id, step_id=step_id, agent_role=agent_role) as current:
        data = output.model_dump(mode="json") if isinstance(output, BaseModel) else output
        score = quality_score if quality_score is not None else (
            self_critique if self_critique is not None else score_output(data))
        ctx = ScoringContext(policy=policy, output=data, confidence=confidence, quality_score=score,
                             critic_score=self_critique, verifier_score=cross_verification,
                             schema_errors=list(schema_errors or []), context=list(context or []),
                             extra={"verifier_problem": verifier_problem, "verifier_reasons": verifier_reasons})
        verdicts = [v for name in dict.fromkeys([*BUILTIN_ORDER, *policy.scorers])
                    if (v := _run(name, ctx)) is not None]
        reasons = [v.reason or f"{v.scorer} failed" for v in verdicts if v.passed is False]
        warnings = [v.reason for v in verdicts if v.passed is not False and v.reason]
        grounding = ctx.extra.get("grounding")
        result = GateResult(
            policy=policy.name, passed=not reasons, quality_score=score, confidence=confidence,
            reason="; ".join(reasons) or None, blocking=policy.blocking, verdicts=verdicts, warnings=warnings,
            verifier_score=cross_verification, verifier_spread=verifier_spread,
            verifier_samples=list(verifier_samples or []), critique_rounds=critique_rounds,
            score_trajectory=list(score_trajectory or []),
            hallucinated=grounding.hallucinated if grounding else None,
            hallucination_score=grounding.hallucination_score if grounding else None,
            grounding_method=grounding.method if grounding else None,
            details={**(details or {}), **({"grounding": grounding.model_dump()} if grounding else {})},
        )
        current.set_attribute("passed", result.passed)
        if db is not None:
            record_result(db, policy, result, run_id=run_id, step_id=step_id, agent_role=agent_role)
        if raise_if_blocked and not result.passed and policy.blocking:
            where = f" for step {step_id!r}" if step_id else ""
            raise GateFailed(f"quality gate {policy.name!r} rejected the output{where}: {result.reason}",
                             hint="improve the prompt or model, or relax the policy in "
                             f"resources/policies/quality/{policy.name}.yaml")
        return result


def _run(name: str, ctx: ScoringContext) -> Verdict | None:
    """A scorer that raises is a failed verdict naming the error, never a pass."""
    try:
        verdict = resolve_scorer(name)(ctx)
    except Exception as exc:  # a custom scorer's bug must fail the gate visibly
        return Verdict(scorer=name, passed=False, reason=f"scorer {name} raised {type(exc).__name__}: {exc}")
    if verdict is not None and not isinstance(verdict, Verdict):
        return Verdict(scorer=name, passed=False, reason=f"scorer {name} returned {type(verdict).__name__}, "
                       "not a Verdict")
    return verdict


_UPSERT_POLICY = """
    INSERT INTO quality_gate_policies (name, description, min_quality_score, min_confidence_score,
        require_cross_verification, require_self_critique, blocking, config)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description,
        min_quality_score = EXCLUDED.min_quality_score, min_confidence_score = EXCLUDED.min_confidence_score,
        require_cross_verification = EXCLUDED.require_cross_verification,
        require_self_critique = EXCLUDED.require_self_critique, blocking = EXCLUDED.blocking,
        config = EXCLUDED.config
    RETURNING id
"""


def _policy_params(policy: QualityPolicy) -> tuple[Any, ...]:
    return (policy.name, policy.description, policy.min_quality_score, policy.min_confidence_score,
            policy.require_cross_verification, policy.require_self_critique, policy.blocking,
            Jsonb(policy.model_dump(mode="json")))


def sync_policies(db: Database, policies: dict[str, QualityPolicy]) -> int:
    """Make `quality_gate_policies` match the files (the whole policy in `config`); returns the count."""
    with db.connection() as conn:
        for policy in policies.values():
            conn.execute(_UPSERT_POLICY, _policy_params(policy))
    return len(policies)


def record_result(db: Database, policy: QualityPolicy, result: GateResult, *, run_id: str | None,
                  step_id: str | None, agent_role: str | None) -> None:
    """Keep the policy row in step with its file, then write the result pointing at it."""
    with db.connection() as conn:
        row = conn.execute(_UPSERT_POLICY, _policy_params(policy)).fetchone()
        conn.execute(
            """
            INSERT INTO quality_gate_results (run_id, step_id, agent_role, policy_id, policy_name, passed,
                quality_score, confidence_score, failure_reason, verifier_score, verifier_spread, critique_rounds,
                hallucinated, hallucination_score, details)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (run_id, step_id, agent_role, row["id"] if row else None, policy.name, result.passed,
             result.quality_score, result.confidence, result.reason, result.verifier_score, result.verifier_spread,
             result.critique_rounds, result.hallucinated, result.hallucination_score,
             Jsonb({"verdicts": [v.model_dump() for v in result.verdicts], "warnings": result.warnings,
                    "score_trajectory": result.score_trajectory, "verifier_samples": result.verifier_samples,
                    **result.details})),
        )
