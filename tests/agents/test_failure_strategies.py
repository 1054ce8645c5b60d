"""Failure strategies decide; backoff delays grow as configured and jitter stays in bounds."""

from __future__ import annotations

import random

import pytest

from cognitionos_dagster.agents.strategies import (
    FailureContext,
    ReassignStrategy,
    RetryStrategy,
    backoff_delay,
    strategy_for,
)
from cognitionos_dagster.db.repositories.escalations import EscalationRepository
from cognitionos_dagster.dsl.models import ReassignSpec
from cognitionos_dagster.errors import AgentError, ConfigError, GateFailed, ModelError, PermissionDenied


def ctx(attempt: int = 1, max_attempts: int = 3, error: BaseException | None = None, **kw: object) -> FailureContext:
    return FailureContext(step_id="s", attempt=attempt, max_attempts=max_attempts,
                          error=error or ModelError("down"), **kw)


def test_backoff_kinds_without_jitter() -> None:
    assert [backoff_delay(a, kind="exponential", base=2, jitter=False) for a in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert [backoff_delay(a, kind="linear", base=2, jitter=False) for a in (1, 2, 3)] == [2, 4, 6]
    assert [backoff_delay(a, kind="constant", base=2, jitter=False) for a in (1, 5)] == [2, 2]
    assert backoff_delay(30, kind="exponential", base=1, jitter=False, max_delay=60) == 60
    with pytest.raises(ValueError):
        backoff_delay(0, kind="constant", base=1, jitter=False)


def test_jitter_keeps_at_least_half_and_at_most_the_full_delay() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(3, kind="exponential", base=1, jitter=True, rng=rng) for _ in range(500)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert max(delays) - min(delays) > 1.5  # really spread out


def test_retry_until_max_attempts_then_fail() -> None:
    strategy = strategy_for("retry", backoff="linear", delay_seconds=0.5, jitter=False)
    first, second, last = (strategy.decide(ctx(a)) for a in (1, 2, 3))
    assert (first.action, first.delay_seconds) == ("retry", 0.5)
    assert (second.action, second.delay_seconds) == ("retry", 1.0)
    assert last.action == "fail" and "3 attempt" in last.reason


@pytest.mark.parametrize("error", [ConfigError("bad"), PermissionDenied("no")])
def test_retrying_cannot_fix_permanent_errors(error: BaseException) -> None:
    assert RetryStrategy().decide(ctx(1, error=error)).action == "fail"


@pytest.mark.parametrize("error", [GateFailed("low"), AgentError("invalid"), TimeoutError()])
def test_model_nondeterminism_is_retried(error: BaseException) -> None:
    assert RetryStrategy(jitter=False, delay_seconds=1).decide(ctx(1, error=error)).action == "retry"


def test_reassign_needs_a_target() -> None:
    target = ReassignSpec(agent="summarizer", model="fallback")
    first = strategy_for("reassign").decide(ctx(reassign_to=target))
    assert first.action == "reassign" and first.reassign_to == target
    assert strategy_for("reassign").decide(ctx()).action == "fail"  # nowhere to go
    configured = strategy_for("reassign", reassign_to={"model": "gpt-4o"})
    assert isinstance(configured, ReassignStrategy)
    assert configured.decide(ctx()).reassign_to == ReassignSpec(model="gpt-4o")


def test_skip_escalate_fail_and_unknown_names() -> None:
    assert strategy_for("skip").decide(ctx()).action == "skip"
    escalate = strategy_for("escalate").decide(ctx(error=ModelError("endpoint down")))
    assert escalate.action == "escalate" and "endpoint down" in escalate.reason
    assert strategy_for("fail").decide(ctx()).action == "fail"
    with pytest.raises(ConfigError, match="unknown failure strategy 'pray'"):
        strategy_for("pray")
    with pytest.raises(ConfigError, match="bad parameters"):
        strategy_for("skip", delay_seconds=3)


def test_escalations_are_recorded_and_resolved(db) -> None:
    repo = EscalationRepository(db)
    escalation_id = repo.open(run_id="r1", step_id="review", reason="critic failed",
                              error="ModelError: down", workflow_id="deploy_web_app", context={"attempts": 3})
    row = db.fetch_one("SELECT * FROM escalations WHERE id = %s", (escalation_id,))
    assert row is not None and row["status"] == "open" and row["context"] == {"attempts": 3}
    assert (row["run_id"], row["step_id"], row["workflow_id"]) == ("r1", "review", "deploy_web_app")
    assert [e["id"] for e in repo.list(open_only=True)] == [row["id"]]
    assert repo.resolve(escalation_id, by="ana") and not repo.resolve(escalation_id, by="ana")
    assert repo.list(open_only=True) == [] and repo.for_run("r1")[0]["resolved_by"] == "ana"


def test_retry_acts_on_the_model_error_fields() -> None:
    strategy = RetryStrategy(delay_seconds=0.5, jitter=False)
    rate_limited = ModelError("HTTP 429: slow down", status_code=429, model_name="m", retry_after=12.0)
    decision = strategy.decide(ctx(1, error=rate_limited))
    assert (decision.action, decision.delay_seconds) == ("retry", 12.0)  # the server's wait, not the 0.5 s backoff
    assert strategy.decide(ctx(1, error=ModelError("HTTP 404: no such model", status_code=404))).action == "fail"
    assert strategy.decide(ctx(1, error=ModelError("HTTP 503: later", status_code=503))).action == "retry"
