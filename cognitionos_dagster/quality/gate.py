"""Evaluating one output against a policy; the result is recorded, and a blocking failure raises.

A gate must fail loudly: a blocking policy that rejects an output raises GateFailed after
writing its quality_gate_results row, so the failure is both visible and stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import GateFailed
from cognitionos_dagster.quality.policies import QualityPolicy
from cognitionos_dagster.quality.scorers import quality_score as score_output
from cognitionos_dagster.tracing.spans import span


class GateResult(BaseModel):
    policy: str
    passed: bool
    quality_score: float
    confidence: float | None
    reason: str | None = None
    blocking: bool = True


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
) -> GateResult:
    """Score the output (a critic's score, when given, is the quality) and compare with the policy.

    `self_critique` and `cross_verification` are scores in [0, 1] from a reviewing agent;
    a policy requiring one fails when it is missing.
    """
    with span("quality.gate", policy=policy.name, run_id=run_id, step_id=step_id, agent_role=agent_role) as current:
        score = quality_score if quality_score is not None else (
            self_critique if self_critique is not None else score_output(output))
        reasons: list[str] = []
        if score < policy.min_quality_score:
            reasons.append(f"quality {score:.2f} < {policy.min_quality_score:.2f}")
        if confidence is None:
            if policy.min_confidence_score > 0:
                reasons.append("the output reports no confidence")
        elif confidence < policy.min_confidence_score:
            reasons.append(f"confidence {confidence:.2f} < {policy.min_confidence_score:.2f}")
        if policy.require_self_critique and self_critique is None:
            reasons.append("the policy requires a self-critique and none was made")
        if policy.require_cross_verification:
            if cross_verification is None:
                reasons.append("the policy requires cross-agent verification and none was made")
            elif cross_verification < policy.min_quality_score:
                reasons.append(f"cross-verification {cross_verification:.2f} < {policy.min_quality_score:.2f}")
        result = GateResult(policy=policy.name, passed=not reasons, quality_score=score, confidence=confidence,
                            reason="; ".join(reasons) or None, blocking=policy.blocking)
        current.set_attribute("passed", result.passed)
        if db is not None:
            record_result(db, policy, result, run_id=run_id, step_id=step_id, agent_role=agent_role)
        if raise_if_blocked and not result.passed and policy.blocking:
            where = f" for step {step_id!r}" if step_id else ""
            raise GateFailed(f"quality gate {policy.name!r} rejected the output{where}: {result.reason}",
                             hint="improve the prompt or model, or relax the policy in "
                             f"resources/policies/quality/{policy.name}.yaml")
        return result


def record_result(db: Database, policy: QualityPolicy, result: GateResult, *, run_id: str | None,
                  step_id: str | None, agent_role: str | None) -> None:
    """Keep the policy row in step with its file, then write the result pointing at it."""
    with db.connection() as conn:
        row = conn.execute(
            """
            INSERT INTO quality_gate_policies (name, description, min_quality_score, min_confidence_score,
                require_cross_verification, require_self_critique, blocking)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description,
                min_quality_score = EXCLUDED.min_quality_score, min_confidence_score = EXCLUDED.min_confidence_score,
                require_cross_verification = EXCLUDED.require_cross_verification,
                require_self_critique = EXCLUDED.require_self_critique, blocking = EXCLUDED.blocking
            RETURNING id
            """,
            (policy.name, policy.description, policy.min_quality_score, policy.min_confidence_score,
             policy.require_cross_verification, policy.require_self_critique, policy.blocking),
        ).fetchone()
        conn.execute(
            """
            INSERT INTO quality_gate_results (run_id, step_id, agent_role, policy_id, policy_name, passed,
                quality_score, confidence_score, failure_reason)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (run_id, step_id, agent_role, row["id"] if row else None, policy.name, result.passed,
             result.quality_score, result.confidence, result.reason),
        )
