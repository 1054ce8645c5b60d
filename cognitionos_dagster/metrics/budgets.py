"""Holding each role's daily metrics to the budgets of its quality policy.

A role names its policy in resources/agents/<role>.yaml (`quality_policy:`, default `default`);
a role seen in the records but no longer defined is held to `default`. Each budget kind is
judged on its own, so the asset-check page shows which kind a role breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cognitionos_dagster.agents.catalog import load_agent_catalog
from cognitionos_dagster.metrics.daily import MetricsRow
from cognitionos_dagster.quality.policies import QualityPolicy, get_policy, load_quality_policies


@dataclass(frozen=True)
class BudgetKind:
    name: str  # the check's name
    field: str  # the policy's budget field
    metric: str  # the MetricsRow figure it bounds
    is_max: bool  # True: the figure may not exceed the budget; False: may not fall below it
    unit: Callable[[float], str]


def _rate(x: float) -> str:
    return f"{x:.1%}"


def _ms(x: float) -> str:
    return f"{x:.0f} ms"


def _usd(x: float) -> str:
    return f"${x:.4f}"


def _score(x: float) -> str:
    return f"{x:.3f}"


BUDGETS = (
    BudgetKind("success_rate_budget", "min_success_rate", "success_rate", False, _rate),
    BudgetKind("p95_latency_budget", "max_p95_latency_ms", "p95_latency_ms", True, _ms),
    BudgetKind("cost_per_task_budget", "max_cost_per_task_usd", "avg_cost_per_task", True, _usd),
    BudgetKind("avg_quality_budget", "min_avg_quality", "avg_quality_score", False, _score),
    BudgetKind("hallucination_rate_budget", "max_hallucination_rate", "hallucination_rate", True, _rate),
)


@dataclass
class Verdict:
    """One budget kind over some rows: passed unless a role broke it; `status` says why when nothing was judged."""

    kind: BudgetKind
    status: str  # "ok", "over budget", "no data", or why nothing was judged: "no budget", "no grounding signal"
    passed: bool
    breaches: list[str] = field(default_factory=list)
    judged: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.breaches:
            return "; ".join(self.breaches)
        return self.status


def role_policies(resources_dir: Path) -> Callable[[str], QualityPolicy]:
    """role -> its quality policy, from the agent files and policy files as they are now."""
    catalog = load_agent_catalog(resources_dir)
    policies = load_quality_policies(resources_dir)

    def policy_of(role: str) -> QualityPolicy:
        name = catalog.get(role).quality_policy if role in catalog else "default"
        return get_policy(policies, name)

    return policy_of


def judge(kind: BudgetKind, rows: Sequence[MetricsRow], policy_of: Callable[[str], QualityPolicy]) -> Verdict:
    """Every row against its role's budget of this kind. No rows is "no data", never a pass on zeros."""
    if not rows:
        return Verdict(kind, "no data", passed=True)
    breaches: list[str] = []
    judged: list[str] = []
    unjudged: list[str] = []
    reasons: set[str] = set()
    for row in rows:
        policy = policy_of(row.agent_role)
        budget: float | None = getattr(policy, kind.field)
        figure: float | None = getattr(row, kind.metric)
        label = f"{row.agent_role}/{row.model or '-'} on {row.day.isoformat()}"
        if budget is None:
            reasons.add("no budget")
            unjudged.append(f"{label}: no budget (policy {policy.name} sets no {kind.field})")
            continue
        if figure is None:
            reason = "no grounding signal" if kind.metric == "hallucination_rate" else "no figure"
            reasons.add(reason)
            unjudged.append(f"{label}: {reason}")
            continue
        judged.append(label)
        if (figure > budget) if kind.is_max else (figure < budget):
            sign = ">" if kind.is_max else "<"
            breaches.append(f"{label}: {kind.unit(figure)} {sign} {kind.unit(budget)} "
                            f"({kind.field} of policy {policy.name})")
    if breaches:
        return Verdict(kind, "over budget", False, breaches, judged, unjudged)
    if judged:
        return Verdict(kind, "ok", True, [], judged, unjudged)
    return Verdict(kind, ", ".join(sorted(reasons)), True, [], [], unjudged)
