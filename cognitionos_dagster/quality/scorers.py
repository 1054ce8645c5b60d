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
