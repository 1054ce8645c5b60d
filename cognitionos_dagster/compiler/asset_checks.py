"""The checks of a workflow asset: a quality-gate policy with the producing step's scores, or an `expect`.

A check never crashes the run silently: an expression or policy that raises is a failed check
whose metadata holds the error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cognitionos_dagster.dsl.expressions import render
from cognitionos_dagster.dsl.models import AssetCheck, WorkflowSpec


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)


def run_check(services: Any, spec: WorkflowSpec, check: AssetCheck, value: Any, scope: dict[str, Any], *,
              run_id: str, key: str, producer: str | None) -> CheckOutcome:
    try:
        if check.expect is not None:
            return _expect(check, value, scope)
        return _quality_gate(services, spec, check, value, run_id=run_id, key=key, producer=producer)
    except Exception as exc:  # a check that raises is a failed check, reported with its error
        return CheckOutcome(check.check_name, False, {"error": f"{type(exc).__name__}: {exc}"})


def _expect(check: AssetCheck, value: Any, scope: dict[str, Any]) -> CheckOutcome:
    assert check.expect is not None
    result = render(check.expect, {**scope, "value": value})
    meta: dict[str, Any] = {"expect": check.expect, "result": repr(result)[:200]}
    if not isinstance(result, bool):
        meta["error"] = f"the expression gave {result!r}, not true or false"
        return CheckOutcome(check.check_name, False, meta)
    return CheckOutcome(check.check_name, result, meta)


def _producer_scores(services: Any, run_id: str, producer: str | None) -> dict[str, Any]:
    executions = services.step_services().executions
    if executions is None or producer is None:
        return {}
    rows = {r["step_id"]: r for r in executions.steps(run_id)}
    row = rows.get(producer) or {}
    return {"confidence": row.get("confidence"), "quality_score": row.get("quality_score"),
            "agent_role": row.get("agent_role")}


def _quality_gate(services: Any, spec: WorkflowSpec, check: AssetCheck, value: Any, *, run_id: str, key: str,
                  producer: str | None) -> CheckOutcome:
    from cognitionos_dagster.quality import evaluate, get_policy, load_quality_policies

    assert check.quality_gate is not None
    step_services = services.step_services()
    policies = load_quality_policies(step_services.settings.resources_dir)
    policy = get_policy(policies, check.quality_gate)
    scores = _producer_scores(services, run_id, producer)
    quality = scores.get("quality_score")
    step_gate = spec.step(producer).quality_gate if producer else None
    critiqued = step_gate is not None and step_gate in policies and policies[step_gate].require_self_critique
    output = value if isinstance(value, dict) else {"value": value}
    result = evaluate(
        policy, output, scores.get("confidence"), quality_score=quality,
        self_critique=quality if critiqued else None, db=services.db.database(), run_id=run_id, step_id=key,
        agent_role=scores.get("agent_role"), raise_if_blocked=False,
    )
    meta: dict[str, Any] = {
        "policy": policy.name, "producing_step": producer or "none", "quality_score": result.quality_score,
        "confidence": result.confidence, "self_critique": quality if critiqued else None,
        "reason": result.reason or "passed",
    }
    return CheckOutcome(check.check_name, result.passed, {k: v for k, v in meta.items() if v is not None})
