"""Cross-agent verification: an independent judge scores the output K times; the median decides.

Judges are noisy, so one sample is a weak second opinion; the median of K resists one wild
answer and the spread (max - min) says how much the judges disagreed. A judge that cannot be
reached, or whose answer breaks its schema after the re-asks, yields no score and a reason:
the policy's `on_unavailable` then decides, never a silent pass.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field


class JudgeUnavailable(Exception):
    """The judge's model could not be reached."""


class JudgeInvalid(Exception):
    """The judge answered, but not in its schema, even after the re-asks."""


@dataclass
class VerifierOutcome:
    score: float | None = None
    spread: float | None = None
    samples: list[float] = field(default_factory=list)
    reasons: str | None = None
    problem: str | None = None


def verify(judge: Callable[[int], tuple[float, list[str]]], samples: int) -> VerifierOutcome:
    """`judge(k)` returns the k-th sample's score and issues, or raises JudgeUnavailable/JudgeInvalid."""
    scored: list[tuple[float, list[str]]] = []
    for k in range(samples):
        try:
            scored.append(judge(k))
        except JudgeUnavailable as exc:
            return VerifierOutcome(samples=[s for s, _ in scored], problem=f"verifier unavailable: {exc}")
        except JudgeInvalid as exc:
            return VerifierOutcome(samples=[s for s, _ in scored],
                                   problem=f"verifier answer broke its schema after re-asks: {exc}")
    scores = [s for s, _ in scored]
    median = float(statistics.median(scores))
    lowest = min(scored, key=lambda item: item[0])[1]
    return VerifierOutcome(score=round(median, 4), spread=round(max(scores) - min(scores), 4), samples=scores,
                           reasons="; ".join(str(i) for i in lowest[:3]) or None)
