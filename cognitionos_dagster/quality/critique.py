"""The self-critique loop: review, revise with the critique, review again; keep the best answer.

Pure control flow: the caller supplies `review` (a critic's call) and `revise` (the agent asked
again with the critique), so the loop is the same for a step, an asset check or the CLI. The
best-scoring answer wins, which is not always the last: a revision can make things worse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

A = TypeVar("A")


@dataclass(frozen=True)
class Review:
    score: float
    issues: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


@dataclass
class CritiqueOutcome(Generic[A]):
    best: A
    best_score: float
    best_round: int
    trajectory: list[float]  # the critic's score of round 0 (the first answer), 1, 2, ...
    rounds: list[dict[str, object]]  # one line per round for the step record

    @property
    def reviews(self) -> int:
        return len(self.trajectory)


def critique_loop(answer: A, *, review: Callable[[A, int], Review], revise: Callable[[A, Review, int], A],
                  max_rounds: int, threshold: float) -> CritiqueOutcome[A]:
    """Round 0 reviews the answer; while the best score is under `threshold`, round r (1..max_rounds)
    revises the latest answer with its critique and reviews the revision."""
    current, verdict = answer, review(answer, 0)
    outcome = CritiqueOutcome(best=answer, best_score=verdict.score, best_round=0, trajectory=[verdict.score],
                              rounds=[{"round": 0, "score": verdict.score, "issues": len(verdict.issues)}])
    for number in range(1, max_rounds + 1):
        if outcome.best_score >= threshold:
            break
        current = revise(current, verdict, number)
        verdict = review(current, number)
        outcome.trajectory.append(verdict.score)
        outcome.rounds.append({"round": number, "score": verdict.score, "issues": len(verdict.issues)})
        if verdict.score > outcome.best_score:
            outcome.best, outcome.best_score, outcome.best_round = current, verdict.score, number
    return outcome
