"""Failure strategies: what to do when a step fails, as small pluggable classes.

The compiler asks `strategy_for(step.on_failure).decide(context)` after every failed
attempt and acts on the decision (sleep and retry, skip, rerun with another role or model,
record an escalation, or fail). Deciding is pure; acting is the caller's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

from cognitionos_dagster.agents.requests import AgentInputError
from cognitionos_dagster.dsl.models import ReassignSpec
from cognitionos_dagster.errors import ConfigError, ModelError, PermissionDenied, ReplayError, SpecError
from cognitionos_dagster.llm.retry import BackoffKind, backoff_delay

__all__ = [
    "EscalateStrategy", "FailStrategy", "FailureContext", "FailureDecision", "FailureStrategy", "ReassignStrategy",
    "RetryStrategy", "SkipStrategy", "backoff_delay", "is_permanent", "strategy_for",
]

Action = Literal["retry", "skip", "reassign", "escalate", "fail"]

# Retrying cannot fix these: the configuration, the permissions or the recording is wrong.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError, SpecError, PermissionDenied, ReplayError, AgentInputError,
)


def is_permanent(error: BaseException) -> bool:
    """Retrying cannot fix it: a permanent error type, or a model error whose status says so
    (400, 401, 403, 404, 422 from every model tried)."""
    return isinstance(error, PERMANENT_ERRORS) or (isinstance(error, ModelError) and error.permanent)


@dataclass(frozen=True)
class FailureContext:
    step_id: str
    attempt: int  # 1-based: the attempt that just failed
    max_attempts: int
    error: BaseException
    reassign_to: ReassignSpec | None = None


@dataclass(frozen=True)
class FailureDecision:
    action: Action
    delay_seconds: float = 0.0
    reassign_to: ReassignSpec | None = None
    reason: str = ""


class FailureStrategy(ABC):
    name: str

    @abstractmethod
    def decide(self, ctx: FailureContext) -> FailureDecision: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RetryStrategy(FailureStrategy):
    """Retry with backoff (exponential and jittered by default) until max_attempts, then fail."""

    name = "retry"

    def __init__(self, *, backoff: BackoffKind = "exponential", delay_seconds: float = 2.0, jitter: bool = True,
                 max_delay_seconds: float = 300.0) -> None:
        self.backoff = backoff
        self.delay_seconds = delay_seconds
        self.jitter = jitter
        self.max_delay_seconds = max_delay_seconds

    def decide(self, ctx: FailureContext) -> FailureDecision:
        if is_permanent(ctx.error):
            return FailureDecision("fail", reason=f"{type(ctx.error).__name__} is not fixed by retrying")
        if ctx.attempt >= ctx.max_attempts:
            return FailureDecision("fail", reason=f"gave up after {ctx.attempt} attempt(s)")
        delay = backoff_delay(ctx.attempt, kind=self.backoff, base=self.delay_seconds, jitter=self.jitter,
                              max_delay=self.max_delay_seconds)
        retry_after = ctx.error.retry_after if isinstance(ctx.error, ModelError) else None
        if retry_after is not None:  # the server said when it will take the request again
            delay = min(max(delay, retry_after), self.max_delay_seconds)
        return FailureDecision("retry", delay_seconds=delay, reason=f"attempt {ctx.attempt} of {ctx.max_attempts}")


class SkipStrategy(FailureStrategy):
    """Mark the step skipped (output null) and let the run go on."""

    name = "skip"

    def decide(self, ctx: FailureContext) -> FailureDecision:
        return FailureDecision("skip", reason=f"step {ctx.step_id} is skippable")


class ReassignStrategy(FailureStrategy):
    """Run the step once more with another role and/or model. The step runner reassigns once: a failure
    of the reassigned attempt fails the step without asking the strategy again."""

    name = "reassign"

    def __init__(self, *, reassign_to: ReassignSpec | None = None) -> None:
        self.reassign_to = reassign_to

    def decide(self, ctx: FailureContext) -> FailureDecision:
        target = ctx.reassign_to or self.reassign_to
        if target is None:
            return FailureDecision("fail", reason="on_failure is reassign but no reassign_to is given")
        return FailureDecision("reassign", reassign_to=target, reason=f"reassigning to {target.model_dump()}")


class EscalateStrategy(FailureStrategy):
    """Record an escalation for a person to resolve; the step ends as escalated (failed)."""

    name = "escalate"

    def decide(self, ctx: FailureContext) -> FailureDecision:
        return FailureDecision("escalate", reason=f"{type(ctx.error).__name__}: {str(ctx.error)[:300]}")


class FailStrategy(FailureStrategy):
    name = "fail"

    def decide(self, ctx: FailureContext) -> FailureDecision:
        return FailureDecision("fail", reason="on_failure is fail")


_STRATEGIES: dict[str, type[FailureStrategy]] = {
    cls.name: cls for cls in (RetryStrategy, SkipStrategy, ReassignStrategy, EscalateStrategy, FailStrategy)
}


def strategy_for(name: str, **params: Any) -> FailureStrategy:
    """`params` go to the strategy's constructor (retry: backoff, delay_seconds, jitter; reassign: reassign_to)."""
    try:
        cls = _STRATEGIES[name]
    except KeyError:
        raise ConfigError(f"unknown failure strategy {name!r} (known: {', '.join(_STRATEGIES)})",
                          hint="on_failure is one of retry, skip, reassign, escalate, fail") from None
    if isinstance(params.get("reassign_to"), dict):
        params["reassign_to"] = ReassignSpec.model_validate(params["reassign_to"])
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for failure strategy {name!r}: {exc}") from exc
