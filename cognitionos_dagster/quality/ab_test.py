"""Prompt A/B tests: two prompt versions of a role answer the same evaluation set, the gates score both.

A prompt change is kept only when it is measurably better, so the report names a winner only
when the 95% bootstrap interval of the mean paired difference (B minus A) excludes 0; a
handful of lucky cases must not promote a prompt. The comparison is paired (both versions
answer the same case) because cases differ far more in difficulty than prompts do.

A case's score is its gate's quality score when the gate passed and 0 when it failed: an
answer the gate rejects does not flow on, whatever its structure. How an answer is produced is
the caller's (agents layer) business: this module gets a callable, so it stays free of the
runtime and runs the same offline, against the local test server or a real endpoint.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import AgentError, ConfigError, ModelError
from cognitionos_dagster.llm.yaml_source import load_yaml_source
from cognitionos_dagster.quality.gate import GateResult

EVAL_DIR = Path("eval")
EVAL_HINT = "see docs/agents.md#prompt-ab-tests"


class EvalCase(BaseModel):
    """One input both versions answer; `context` is more text the answer must be grounded in (the model
    does not see it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    input: dict[str, Any]
    context: list[str] = Field(default_factory=list)


class EvalSet(BaseModel):
    """resources/eval/<role>.yaml: the role, the gate policy that scores, and the cases.

    `ground_in` names input fields whose text the answer must be grounded in (a summary in its
    `content`), so a case need not repeat its input as context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    policy: str = "default"
    description: str | None = None
    ground_in: list[str] = Field(default_factory=list)
    cases: list[EvalCase] = Field(min_length=2)
    source: str = ""

    def grounding(self, case: EvalCase) -> list[str]:
        """What the gate's grounding scorer checks `case`'s answer against."""
        given = [case.input[name] for name in self.ground_in if isinstance(case.input.get(name), str)]
        return [*given, *case.context]


def load_eval_set(resources_dir: Path, role: str) -> EvalSet:
    """The role's evaluation set; a missing file, a wrong role or a duplicate case id is a ConfigError."""
    path = resources_dir / EVAL_DIR / f"{role}.yaml"
    if not path.is_file():
        raise ConfigError(f"no evaluation set for role {role!r}: {path} does not exist",
                          hint=f"write {path} (role, policy, cases: [{{id, input, context}}]); {EVAL_HINT}")
    source = load_yaml_source(path)
    if not isinstance(source.data, dict):
        raise source.error("an evaluation set holds one mapping (role, policy, cases)", hint=EVAL_HINT)
    try:
        found = EvalSet.model_validate({**source.data, "source": str(path)})
    except ValidationError as exc:
        raise source.validation_error(exc, hint=EVAL_HINT) from exc
    if found.role != role:
        raise source.error(f"role {found.role!r} differs from the file name {path.stem!r}", ("role",),
                           hint=f"set role: {role} or rename the file")
    seen: set[str] = set()
    for i, case in enumerate(found.cases):
        if case.id in seen:
            raise source.error(f"case id {case.id!r} is used twice", ("cases", i, "id"),
                               hint="give each case its own id")
        seen.add(case.id)
    return found


class Attempt(BaseModel):
    """One version's answer to one case, as the gate judged it."""

    case: str
    version: str
    score: float
    passed: bool
    reason: str | None = None


class CasePair(BaseModel):
    case: str
    a: Attempt
    b: Attempt

    @property
    def difference(self) -> float:
        return self.b.score - self.a.score


class VersionSummary(BaseModel):
    version: str
    mean_score: float
    pass_rate: float
    wins: int
    win_rate: float


class ABReport(BaseModel):
    role: str
    policy: str
    run_id: str
    seed: int
    resamples: int
    a: VersionSummary
    b: VersionSummary
    ties: int
    mean_difference: float  # mean of (B - A)
    ci_low: float
    ci_high: float
    winner: str | None  # a version, only when the interval excludes 0
    pairs: list[CasePair]
    offline: bool = False


# An answer to `case` from prompt `version`, judged by the gate; AgentError means no valid answer.
Answer = Callable[[EvalCase, str], GateResult]


def attempt(answer: Answer, case: EvalCase, version: str) -> Attempt:
    """A version that cannot produce a valid answer scores 0 on that case (a model outage still raises)."""
    try:
        gate = answer(case, version)
    except ModelError:
        raise
    except AgentError as exc:
        why = str(exc.args[0]) if exc.args else type(exc).__name__
        return Attempt(case=case.id, version=version, score=0.0, passed=False, reason=why)
    score = gate.quality_score if gate.passed else 0.0
    return Attempt(case=case.id, version=version, score=round(score, 6), passed=gate.passed, reason=gate.reason)


def bootstrap_interval(differences: list[float], *, seed: int, resamples: int = 2000,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap of the mean of paired differences; the same seed gives the same interval."""
    if not differences:
        raise ValueError("the bootstrap needs at least one difference")
    rng = random.Random(seed)
    n = len(differences)
    means = sorted(sum(differences[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[int(tail * resamples)]
    high = means[min(resamples - 1, int((1 - tail) * resamples))]
    return round(low, 6), round(high, 6)


def _winner(a: str, b: str, low: float, high: float) -> str | None:
    if low > 0:
        return b
    if high < 0:
        return a
    return None


def summarize(role: str, policy: str, run_id: str, pairs: list[CasePair], *, seed: int = 0,
              resamples: int = 2000, offline: bool = False) -> ABReport:
    """Per-version mean, pass rate and win rate (ties apart), the interval and the winner."""
    if not pairs:
        raise ValueError("an A/B report needs at least one case")
    n = len(pairs)
    a, b = pairs[0].a.version, pairs[0].b.version
    diffs = [p.difference for p in pairs]
    wins_a = sum(d < 0 for d in diffs)
    wins_b = sum(d > 0 for d in diffs)
    low, high = bootstrap_interval(diffs, seed=seed, resamples=resamples)

    def side(version: str, attempts: list[Attempt], wins: int) -> VersionSummary:
        return VersionSummary(version=version, mean_score=round(statistics.fmean(x.score for x in attempts), 6),
                              pass_rate=round(sum(x.passed for x in attempts) / n, 6), wins=wins,
                              win_rate=round(wins / n, 6))

    return ABReport(role=role, policy=policy, run_id=run_id, seed=seed, resamples=resamples,
                    a=side(a, [p.a for p in pairs], wins_a), b=side(b, [p.b for p in pairs], wins_b),
                    ties=n - wins_a - wins_b, mean_difference=round(statistics.fmean(diffs), 6),
                    ci_low=low, ci_high=high, winner=_winner(a, b, low, high), pairs=pairs, offline=offline)


def run_ab_test(eval_set: EvalSet, version_a: str, version_b: str, answer: Answer, *, run_id: str,
                seed: int = 0, resamples: int = 2000, offline: bool = False) -> ABReport:
    """Both versions answer every case (A then B, case by case) and the gates score them."""
    if version_a == version_b:
        raise ConfigError(f"both sides of the A/B test are {version_a!r}", hint="compare two different versions")
    pairs = [CasePair(case=c.id, a=attempt(answer, c, version_a), b=attempt(answer, c, version_b))
             for c in eval_set.cases]
    return summarize(eval_set.role, eval_set.policy, run_id, pairs, seed=seed, resamples=resamples, offline=offline)


def record_ab_test(db: Database, report: ABReport) -> int:
    """One prompt_ab_tests row per comparison; the per-case scores go in `details`. Returns its id."""
    with db.connection() as conn:
        row = conn.execute(
            """
            INSERT INTO prompt_ab_tests (run_id, agent_role, policy_name, version_a, version_b, cases, mean_a, mean_b,
                wins_a, wins_b, ties, mean_difference, ci_low, ci_high, winner, seed, resamples, offline, details)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING id
            """,
            (report.run_id, report.role, report.policy, report.a.version, report.b.version, len(report.pairs),
             report.a.mean_score, report.b.mean_score, report.a.wins, report.b.wins, report.ties,
             report.mean_difference, report.ci_low, report.ci_high, report.winner, report.seed, report.resamples,
             report.offline, Jsonb({"pairs": [p.model_dump() for p in report.pairs],
                                    "pass_rate": {report.a.version: report.a.pass_rate,
                                                  report.b.version: report.b.pass_rate}})),
        ).fetchone()
    assert row is not None
    return int(row["id"])
