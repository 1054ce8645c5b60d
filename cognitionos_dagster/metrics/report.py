"""A day's rows summed up for people: headline figures and a per-role table.

Headline rates and averages are weighted by task count, so they equal what the day's tasks
would give taken together; percentiles cannot be combined that way, so the headline keeps the
worst role's p95. A figure no row has (hallucination without a grounding signal) is left out,
never shown as 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from cognitionos_dagster.metrics.daily import MetricsRow


def _weighted(rows: Sequence[MetricsRow], attr: str) -> float | None:
    pairs = [(getattr(r, attr), r.task_count) for r in rows if getattr(r, attr) is not None]
    weight = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / weight if weight else None


def headline(rows: Sequence[MetricsRow]) -> dict[str, float | int]:
    """Numbers worth plotting day by day; empty for a day with no tasks."""
    if not rows:
        return {}
    figures: dict[str, float | int | None] = {
        "tasks": sum(r.task_count for r in rows),
        "roles": len({r.agent_role for r in rows}),
        "success_rate": _weighted(rows, "success_rate"),
        "retry_rate": _weighted(rows, "retry_rate"),
        "failure_rate": _weighted(rows, "failure_rate"),
        "avg_quality_score": _weighted(rows, "avg_quality_score"),
        "avg_confidence": _weighted(rows, "avg_confidence"),
        "hallucination_rate": _weighted(rows, "hallucination_rate"),
        "avg_cost_per_task_usd": _weighted(rows, "avg_cost_per_task"),
        "worst_p95_latency_ms": max((r.p95_latency_ms for r in rows if r.p95_latency_ms is not None), default=None),
        "total_tokens": sum(r.total_tokens_used for r in rows),
    }
    return {k: (float(v) if isinstance(v, float) else v) for k, v in figures.items() if v is not None}


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


COLUMNS = ("day", "agent_role", "model", "task_count", "success_rate", "retry_rate", "failure_rate",
           "avg_quality_score", "avg_confidence", "hallucination_rate", "avg_latency_ms", "p95_latency_ms",
           "p99_latency_ms", "avg_cost_per_task", "total_tokens_used")


def table_rows(rows: Sequence[MetricsRow]) -> list[list[str]]:
    return [[_cell(getattr(r, c)) for c in COLUMNS] for r in rows]


def markdown_table(rows: Sequence[MetricsRow]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(rows)]
    return "\n".join(lines)
