"""Writing every call to call_records, and answering from them in a deterministic replay.

The n-th call of a kind with a given request hash in a step is numbered n. The number is
counted in the database (calls already recorded for this run and step), not in memory, so
a step retried in a fresh process continues the count instead of starting over. A replay
writes what it served under the new run too, which keeps the count and makes the replay
itself replayable. Without a database nothing is written and calls are counted in memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.calls import CallKind, CallRecord, CallRecordRepository, request_hash
from cognitionos_dagster.errors import ReplayError
from cognitionos_dagster.llm.types import CallContext, ChatRequest, Completion, ToolCallRequest


class CallLog:
    def __init__(self, db: Database | None) -> None:
        self.repo = CallRecordRepository(db) if db is not None else None
        self._local: Counter[tuple[str, str | None, str | None, str]] = Counter()
        self._lock = threading.Lock()

    def sequence(self, kind: CallKind, call: CallContext, req_hash: str) -> int:
        """How many successful calls of this kind and hash this run's step already made."""
        if self.repo is not None and call.run_id and call.step_id:
            return self.repo.count_ok(call.run_id, call.step_id, kind, req_hash)
        with self._lock:
            return self._local[(kind, call.run_id, call.step_id, req_hash)]

    def lookup(self, kind: CallKind, payload: dict[str, Any], call: CallContext, what: str) -> dict[str, Any]:
        """The recorded response of the matching call in `call.replay_run_id`, or ReplayError saying which."""
        if self.repo is None:
            raise ReplayError("deterministic replay needs the database that holds the recorded calls",
                              hint="configure COGNITIONOS_DATABASE_URL (or the embedded database)")
        if not call.replay_run_id or not call.step_id:
            raise ReplayError("deterministic replay needs the source run id and the step id")
        req_hash = request_hash(payload)
        n = self.sequence(kind, call, req_hash)
        found = self.repo.find(call.replay_run_id, call.step_id, kind, req_hash, n)
        if found is None:
            raise ReplayError(
                f"run {call.replay_run_id} has no recorded {what} #{n + 1} (request hash {req_hash[:12]}) "
                f"in step {call.step_id!r}",
                hint="the prompt, input, memory or prompt version changed since that run; replay without "
                "--deterministic",
            )
        return found

    def write(self, kind: CallKind, name: str, payload: dict[str, Any], response: dict[str, Any], call: CallContext,
              *, input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0,
              latency_ms: float | None = None) -> str | None:
        """Record a successful call; its id, or None without a database."""
        req_hash = request_hash(payload)
        if self.repo is None:
            with self._lock:
                self._local[(kind, call.run_id, call.step_id, req_hash)] += 1
            return None
        return self.repo.record(CallRecord(
            kind=kind, name=name, request=payload, response=response, run_id=call.run_id, step_id=call.step_id,
            sequence=self.sequence(kind, call, req_hash), prompt_version=call.prompt_version, status="ok",
            input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost_usd, latency_ms=latency_ms,
        ))

    def write_failure(self, kind: CallKind, name: str, payload: dict[str, Any], call: CallContext, error: str,
                      latency_ms: float | None = None, *, status: str = "error") -> None:
        """A failed attempt (`error`, or `timeout` when cut): kept for accounting and debugging, never
        served by replay, costs 0."""
        if self.repo is None:
            return
        self.repo.record(CallRecord(
            kind=kind, name=name, request=payload, response=None, run_id=call.run_id, step_id=call.step_id,
            prompt_version=call.prompt_version, status=status, error=error[:500], latency_ms=latency_ms,
        ))

    # -- model calls ---------------------------------------------------------------------------
    def replayed(self, request: ChatRequest, call: CallContext) -> Completion:
        payload = request.record_payload()
        found = self.lookup("llm", payload, call, "model call")
        usage = found.get("usage", {})
        completion = Completion(
            text=found["text"], model=found.get("model", "replay"), mode="replay",
            input_tokens=int(usage.get("input_tokens", 0)), output_tokens=int(usage.get("output_tokens", 0)),
            offline=bool(found.get("offline", False)),
            tool_calls=tuple(ToolCallRequest.model_validate(c) for c in found.get("tool_calls", [])),
        )
        self.write_completion(request, call, completion)
        return completion

    def write_completion(self, request: ChatRequest, call: CallContext, completion: Completion) -> None:
        """A successful model call; a replayed one costs nothing, as no model was asked."""
        completion.record_id = self.write(
            "llm", completion.model, request.record_payload(), completion.response_payload(), call,
            input_tokens=completion.input_tokens, output_tokens=completion.output_tokens,
            cost_usd=0.0 if completion.mode == "replay" else completion.cost_usd, latency_ms=completion.latency_ms)

    def mark_invalid(self, completion: Completion, error: str) -> None:
        """The answer failed validation: metrics count it as such, and replay still serves it (the
        replayed run then re-asks exactly as the recorded one did)."""
        if self.repo is not None and completion.record_id is not None:
            self.repo.mark(completion.record_id, "invalid_output", error)
