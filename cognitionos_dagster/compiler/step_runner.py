"""Runs one agent or tool step: `when`, `foreach`, timeouts, and the failure strategies.

Plain Python (no Dagster): the op in `ops.py` supplies the attempt number from Dagster's
retry policy and turns a `StepFailed` into a Dagster failure. Retries of a plain step are
Dagster's (`RetryPolicy`); the strategy decides only on the last attempt. A `foreach`
step retries each item inside the op, because re-running the whole op would redo every item.
"""

from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cognitionos_dagster.agents.strategies import FailureContext, FailureDecision, RetryStrategy, strategy_for
from cognitionos_dagster.compiler.invocation import AgentCall, StepCall, ToolCall
from cognitionos_dagster.compiler.outcomes import StepFailed, StepOutcome, StepStatus, StepTimeout, skipped
from cognitionos_dagster.compiler.services import StepServices
from cognitionos_dagster.db.repositories.executions import StepRecord
from cognitionos_dagster.dsl.expressions import render
from cognitionos_dagster.dsl.models import StepSpec, WorkflowSpec
from cognitionos_dagster.errors import ModelError
from cognitionos_dagster.llm.deadline import within

log = logging.getLogger(__name__)

DEFAULT_FOREACH_CONCURRENCY = 4


@dataclass
class StepInvocation:
    """One execution attempt of one step inside one run."""

    workflow: WorkflowSpec
    step: StepSpec
    step_id: str
    run_id: str
    scope: dict[str, Any]
    attempt: int = 1
    replay_run_id: str | None = None

    @property
    def max_attempts(self) -> int:
        retry = self.step.effective_retry(self.workflow.defaults)
        return retry.max_attempts if retry else 1

    @property
    def policy(self) -> str:
        return self.step.effective_on_failure(self.workflow.defaults) or "retry"

    @property
    def timeout(self) -> float | None:
        return self.step.effective_timeout(self.workflow.defaults)


def _now() -> datetime:
    return datetime.now(UTC)


def run_with_timeout(fn: Any, seconds: float | None) -> Any:
    """Call `fn()`; past `seconds` raise StepTimeout. The runners get the same limit, so a tool's
    sandbox and the model client (through `deadline.within`) stop their own work; the thread here
    only bounds the wait. A thread left running would hold the process open until it ends."""
    if not seconds:
        return fn()

    def bounded() -> Any:
        with within(seconds):
            return fn()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="step")
    try:
        return pool.submit(contextvars.copy_context().run, bounded).result(timeout=seconds)
    except FutureTimeout:
        raise StepTimeout(f"timed out after {seconds:g} s (timeout_seconds)") from None
    finally:
        pool.shutdown(wait=False)


class StepRunner:
    def __init__(self, services: StepServices) -> None:
        self.services = services

    # ------------------------------------------------------------------ entry point
    def execute(self, inv: StepInvocation) -> StepOutcome:
        started = _now()
        step = inv.step
        if step.when is not None and not render(step.when, inv.scope):
            self._record(inv, StepRecord(inv.run_id, inv.step_id, step.kind, "skipped", started, _now(),
                                         error="`when` was false", attempts=inv.attempt))
            return skipped(inv.attempt)
        if step.foreach is not None:
            return self._foreach(inv, started)
        rendered = render(step.input, inv.scope)
        call = self._call_for(step, rendered, inv)
        try:
            output, rec = self._invoke(call, inv, inv.step_id, started)
        except Exception as exc:  # every failure goes through the step's strategy; none is swallowed
            return self._on_failure(inv, call, exc, started)
        self._record(inv, rec)
        return StepOutcome("succeeded", output, inv.attempt)

    # ------------------------------------------------------------------ calls
    def _call_for(self, step: StepSpec, rendered: Any, inv: StepInvocation) -> StepCall:
        if step.kind == "agent":
            assert step.agent is not None
            return AgentCall(role=step.agent, input=rendered, quality_gate=step.quality_gate,
                             memory_namespace=step.memory_namespace,
                             tools=tuple(step.tools) if step.tools is not None else None)
        assert step.tool is not None
        return ToolCall(tool=step.tool, input=rendered)

    def _invoke(self, call: StepCall, inv: StepInvocation, step_id: str, started: datetime,
                attempts: int | None = None) -> tuple[Any, StepRecord]:
        output, rec = run_with_timeout(
            lambda: call.run(self.services, run_id=inv.run_id, step_id=step_id,
                             replay_run_id=inv.replay_run_id, timeout=inv.timeout),
            inv.timeout,
        )
        rec.started_at, rec.completed_at = started, _now()
        rec.attempts = attempts or inv.attempt
        return output, rec

    # ------------------------------------------------------------------ failures
    def _decide(self, inv: StepInvocation, attempt: int, exc: BaseException) -> FailureDecision:
        """The retry strategy while attempts remain (not for `fail`, nor for errors retrying cannot fix,
        such as a denied permission); then the step's own strategy decides."""
        ctx = FailureContext(step_id=inv.step_id, attempt=attempt, max_attempts=inv.max_attempts, error=exc,
                             reassign_to=inv.step.effective_reassign_to())
        retry = inv.step.effective_retry(inv.workflow.defaults)
        if inv.policy != "fail" and retry is not None:
            decision = RetryStrategy(backoff=retry.backoff, delay_seconds=retry.delay_seconds,
                                     jitter=retry.jitter).decide(ctx)
            if decision.action == "retry":
                return decision
        decision = strategy_for(inv.policy).decide(ctx)
        if decision.action == "retry":  # no attempts left: a retry decision means failure
            return FailureDecision("fail", reason=decision.reason)
        return decision

    def _on_failure(self, inv: StepInvocation, call: StepCall, exc: BaseException, started: datetime) -> StepOutcome:
        action = self._decide(inv, inv.attempt, exc).action
        error = _describe(exc)
        if action == "retry":
            self._record(inv, call.record(inv.run_id, inv.step_id, "running", started, error, inv.attempt))
            raise StepFailed(inv.step_id, error, retryable=True) from exc
        return self._final(inv, call, exc, error, inv.step_id, started, inv.attempt)

    def _final(self, inv: StepInvocation, call: StepCall, exc: BaseException, error: str, step_id: str,
               started: datetime, attempts: int) -> StepOutcome:
        """Apply the last-attempt action: skip, reassign, escalate or fail."""
        action = self._decide(inv, inv.max_attempts, exc).action
        if action == "skip":
            self._record(inv, call.record(inv.run_id, step_id, "skipped", started, error, attempts))
            return skipped(attempts)
        if action == "reassign":
            target = call.reassigned(inv.step.effective_reassign_to())
            try:
                output, rec = self._invoke(target, inv, step_id, started, attempts + 1)
            except Exception as exc2:
                err2 = f"{error}; after reassigning to {target.describe()}: {_describe(exc2)}"
                self._record(inv, target.record(inv.run_id, step_id, "failed", started, err2, attempts + 1))
                raise StepFailed(step_id, err2) from exc2
            self._record(inv, rec)
            return StepOutcome("succeeded", output, attempts + 1)
        if action == "escalate":
            self._escalate(inv, step_id, error, exc)
            self._record(inv, call.record(inv.run_id, step_id, "escalated", started, error, attempts))
            raise StepFailed(step_id, error, status="escalated") from exc
        self._record(inv, call.record(inv.run_id, step_id, "failed", started, error, attempts))
        raise StepFailed(step_id, error) from exc

    def _escalate(self, inv: StepInvocation, step_id: str, error: str, exc: BaseException) -> None:
        if self.services.escalations is None:
            log.error("escalation for %s (no database configured, not stored): %s", step_id, error)
            return
        self.services.escalations.open(
            run_id=inv.run_id, step_id=step_id, reason=f"step {step_id} failed and escalates", error=error,
            workflow_id=inv.workflow.id, workflow_version=inv.workflow.version,
            context={"input_spec": inv.step.input, "attempts": inv.max_attempts,
                     **({"model_error": exc.fields()} if isinstance(exc, ModelError) else {})},
        )

    # ------------------------------------------------------------------ foreach
    def _foreach(self, inv: StepInvocation, started: datetime) -> StepOutcome:
        items = render(inv.step.foreach, inv.scope)
        if not isinstance(items, list | tuple):
            raise StepFailed(inv.step_id, f"`foreach` must give a list, got {type(items).__name__}")
        workers = max(1, min(inv.step.concurrency or DEFAULT_FOREACH_CONCURRENCY, len(items) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"foreach-{inv.step.id}") as pool:
            # each item runs in a copy of this context, so its spans stay in the run's trace
            futures = [pool.submit(contextvars.copy_context().run, self._item, inv, index, item)
                       for index, item in enumerate(items)]
            results = [f.result() for f in futures]
        failed = [(i, r) for i, r in enumerate(results) if isinstance(r, StepFailed)]
        outputs = [None if isinstance(r, StepFailed) else r.output for r in results]
        status: StepStatus = "succeeded"
        error = None
        if failed:
            status = "escalated" if any(r.status == "escalated" for _, r in failed) else "failed"
            error = "; ".join(f"[{i}] {r}" for i, r in failed)
        self._record(inv, StepRecord(inv.run_id, inv.step_id, "foreach", status, started, _now(),
                                     output=outputs, error=error, attempts=1))
        if failed:
            raise StepFailed(inv.step_id, f"{len(failed)} of {len(items)} items failed: {error}", status=status)
        return StepOutcome("succeeded", outputs, 1)

    def _item(self, inv: StepInvocation, index: int, item: Any) -> StepOutcome | StepFailed:
        scope = {**inv.scope, "item": item, "index": index}
        item_id = f"{inv.step_id}[{index}]"
        started = _now()
        try:
            call = self._call_for(inv.step, render(inv.step.input, scope), inv)
        except Exception as exc:
            return StepFailed(item_id, _describe(exc))
        for attempt in range(1, inv.max_attempts + 1):
            try:
                output, rec = self._invoke(call, inv, item_id, started, attempt)
            except Exception as exc:
                decision = self._decide(inv, attempt, exc)
                if decision.action == "retry":
                    time.sleep(decision.delay_seconds)
                    continue
                try:
                    return self._final(inv, call, exc, _describe(exc), item_id, started, attempt)
                except StepFailed as failed:
                    return failed
            self._record(inv, rec)
            return StepOutcome("succeeded", output, attempt)
        raise AssertionError("unreachable: the loop returns on the last attempt")

    # ------------------------------------------------------------------ records
    def _record(self, inv: StepInvocation, rec: StepRecord) -> None:
        if self.services.executions is not None:
            self.services.executions.record_step(rec)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 2000 else text[:2000] + " …"
