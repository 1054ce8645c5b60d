"""Quality scores for an agent output when no critic has scored it.

An explicit score in the output (`overall_quality`, as the critic role gives) wins; else
the structural score: the share of fields that carry content, less 0.1 per reported error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict | tuple | set):
        return len(value) > 0
    return True


# Fields that report on the work rather than carry it: an empty list there is not missing content.
_REPORT_FIELDS = frozenset({"confidence", "errors", "warnings", "tools_used"})


def structural_score(output: dict[str, Any]) -> float:
    fields = {k: v for k, v in output.items() if k not in _REPORT_FIELDS}
    if not fields:
        return 0.0
    share = sum(_filled(v) for v in fields.values()) / len(fields)
    errors = output.get("errors")
    penalty = 0.1 * len(errors) if isinstance(errors, list) else 0.0
    return round(max(0.0, share - penalty), 4)


def quality_score(output: dict[str, Any] | BaseModel) -> float:
    data = output.model_dump() if isinstance(output, BaseModel) else output
    explicit = data.get("overall_quality")
    if isinstance(explicit, int | float) and not isinstance(explicit, bool):
        return float(min(max(explicit, 0.0), 1.0))
    return structural_score(data)


# -- built-in scorers (see quality/scoring.py) ----------------------------------------------------
from cognitionos_dagster.quality.scoring import ScoringContext, Verdict, register_scorer  # noqa: E402


@register_scorer("quality")
def quality_scorer(ctx: ScoringContext) -> Verdict:
    minimum = ctx.policy.min_quality_score
    ok = ctx.quality_score >= minimum
    return Verdict(scorer="quality", score=ctx.quality_score, passed=ok,
                   reason=None if ok else f"quality {ctx.quality_score:.2f} < {minimum:.2f}")


@register_scorer("confidence")
def confidence_scorer(ctx: ScoringContext) -> Verdict:
    minimum = ctx.policy.min_confidence_score
    if ctx.confidence is None:
        ok = minimum <= 0
        return Verdict(scorer="confidence", passed=ok, reason=None if ok else "the output reports no confidence")
    ok = ctx.confidence >= minimum
    return Verdict(scorer="confidence", score=ctx.confidence, passed=ok,
                   reason=None if ok else f"confidence {ctx.confidence:.2f} < {minimum:.2f}")


@register_scorer("schema")
def schema_scorer(ctx: ScoringContext) -> Verdict | None:
    """Outputs of agent steps are validated (and re-asked) before the gate; this reports outputs
    judged from elsewhere (`cognos gates evaluate`, asset checks) that break their schema."""
    if not ctx.schema_errors:
        return None
    return Verdict(scorer="schema", score=0.0, passed=False,
                   reason="the output breaks its schema: " + "; ".join(ctx.schema_errors))


@register_scorer("critic")
def critic_scorer(ctx: ScoringContext) -> Verdict | None:
    if not ctx.policy.require_self_critique and ctx.policy.critique_rounds == 0 and ctx.critic_score is None:
        return None
    if ctx.critic_score is None:
        return Verdict(scorer="critic", passed=False,
                       reason="the policy requires a self-critique and none was made")
    # the critic's score is the quality score, which the `quality` scorer holds to the threshold
    return Verdict(scorer="critic", score=ctx.critic_score, passed=True)


@register_scorer("verifier")
def verifier_scorer(ctx: ScoringContext) -> Verdict | None:
    if not ctx.policy.require_cross_verification:
        return None
    threshold = ctx.policy.verifier_threshold
    if ctx.verifier_score is None:
        problem = ctx.extra.get("verifier_problem")
        if problem and ctx.policy.on_unavailable == "pass_with_warning":
            return Verdict(scorer="verifier", passed=None, reason=f"warning: {problem}")
        return Verdict(scorer="verifier", passed=False,
                       reason=problem or "the policy requires cross-agent verification and none was made")
    ok = ctx.verifier_score >= threshold
    why = ctx.extra.get("verifier_reasons")
    return Verdict(scorer="verifier", score=ctx.verifier_score, passed=ok,
                   reason=None if ok else f"cross-verification {ctx.verifier_score:.2f} < {threshold:.2f}"
                   + (f" ({why})" if why else ""))


from cognitionos_dagster.quality import grounding as _grounding  # noqa: E402,F401 - registers `grounding`
