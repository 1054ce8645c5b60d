"""ModelClient: the one way the platform asks a model for structured output.

Order of business for a call: replay (answer from call_records, no model) → offline
provider (no endpoint configured) → each model of the fallback chain in turn, each with
retries on transient errors → price the tokens → record the call, success or failure.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import openai

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import ModelError, ModelTimeout
from cognitionos_dagster.llm.deadline import remaining
from cognitionos_dagster.llm.endpoints import Endpoint
from cognitionos_dagster.llm.model_errors import model_error
from cognitionos_dagster.llm.offline import OFFLINE_MODEL, offline_answer, offline_tool_call
from cognitionos_dagster.llm.openai_chat import OpenAIChat
from cognitionos_dagster.llm.pricing import PriceTable, load_price_table
from cognitionos_dagster.llm.replay import CallLog
from cognitionos_dagster.llm.retry import RetryPolicy, is_auth_error, is_retryable
from cognitionos_dagster.llm.types import CallContext, ChatRequest, Completion
from cognitionos_dagster.settings import Settings
from cognitionos_dagster.tracing.spans import set_attributes, span

log = logging.getLogger(__name__)


class ModelClient:
    def __init__(
        self,
        *,
        default_model: str,
        endpoint: Endpoint | None = None,
        prices: PriceTable | None = None,
        retry: RetryPolicy | None = None,
        db: Database | None = None,
        openai_client: openai.OpenAI | None = None,
    ) -> None:
        """`endpoint=None` (and no `openai_client`) selects the offline provider."""
        self.default_model = default_model
        self.endpoint = endpoint
        self.prices = prices or PriceTable({})
        self.retry = retry or RetryPolicy()
        self.log = CallLog(db)
        if openai_client is None and endpoint is not None:
            openai_client = endpoint.open()
        self.chat = OpenAIChat(openai_client) if openai_client is not None else None

    @classmethod
    def from_settings(cls, settings: Settings, *, db: Database | None = None, retry: RetryPolicy | None = None,
                      timeout_seconds: float = 60.0, azure_api_version: str | None = None) -> ModelClient:
        endpoint = None if settings.offline else Endpoint.from_settings(
            settings, timeout_seconds=timeout_seconds, azure_api_version=azure_api_version)
        return cls(default_model=settings.llm_model, endpoint=endpoint, prices=load_price_table(settings.resources_dir),
                   retry=retry, db=db)

    @property
    def offline(self) -> bool:
        return self.chat is None

    def __repr__(self) -> str:
        where = "offline" if self.chat is None else self.chat.endpoint
        return f"ModelClient({where!r}, default_model={self.default_model!r})"

    def complete_structured(self, request: ChatRequest, *, models: Sequence[str] = (),
                            call: CallContext | None = None) -> Completion:
        """A JSON answer from the first model of `models` (default: the configured one) that gives one.

        Raises ModelError when every model failed, ReplayError when a replay lacks a recording.
        """
        call = call or CallContext()
        chain = list(dict.fromkeys(models)) or [self.default_model]
        with span("llm.call", run_id=call.run_id, step_id=call.step_id, schema=request.schema_name,
                  models=",".join(chain), replay=bool(call.replay_run_id)) as current:
            if call.replay_run_id:
                completion = self.log.replayed(request, call)
            elif self.chat is None:
                completion = self._offline(request)
                self.log.write_completion(request, call, completion)
            else:
                completion = self._chain(request, chain, call)
            set_attributes(current, model=completion.model, mode=completion.mode, attempts=completion.attempts,
                           input_tokens=completion.input_tokens, output_tokens=completion.output_tokens,
                           cost_usd=completion.cost_usd)
            return completion

    def _offline(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        tool_call = offline_tool_call(request.tools, request.messages, request.offline_hint)
        text = "" if tool_call else json.dumps(
            offline_answer(request.json_schema, request.offline_hint, request.messages), sort_keys=True)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return Completion(text=text, model=OFFLINE_MODEL, mode="offline", offline=True,
                          tool_calls=(tool_call,) if tool_call else (),
                          input_tokens=prompt_chars // 4, output_tokens=len(text) // 4,
                          latency_ms=(time.perf_counter() - started) * 1000)

    def _chain(self, request: ChatRequest, chain: list[str], call: CallContext) -> Completion:
        failures: list[ModelError] = []
        for position, model in enumerate(chain):
            try:
                completion = self._with_retries(request, model, call)
            except openai.APIError as exc:
                failure = model_error(exc, model=model, endpoint=self.endpoint)
                if is_auth_error(exc):
                    raise ModelError(
                        f"the model endpoint refused the credentials ({failure})",
                        hint="check OPENAI_API_KEY (and OPENAI_BASE_URL); unset both to use the offline provider",
                        **failure.fields(),
                    ) from exc
                failures.append(failure)
                if position + 1 < len(chain):
                    log.warning("model %s failed (%s); falling back to %s", model, failure, chain[position + 1])
                continue
            completion.cost_usd = self.prices.cost(model, completion.input_tokens, completion.output_tokens)
            self.log.write_completion(request, call, completion)
            return completion
        raise ModelError(
            "every model failed: " + "; ".join(f"{f.model_name}: {f}" for f in failures),
            hint="check the endpoint (OPENAI_BASE_URL) and model names, or add fallback_models to the agent",
            failures=tuple(failures), **failures[-1].fields(),
        )

    def _with_retries(self, request: ChatRequest, model: str, call: CallContext) -> Completion:
        assert self.chat is not None
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                with span("llm.attempt", model=model, attempt=attempt):
                    completion = self.chat.complete(request, model)
            except openai.APIError as exc:
                elapsed_ms = (time.perf_counter() - started) * 1000
                status = "timeout" if isinstance(exc, openai.APITimeoutError) else "error"
                failure = model_error(exc, model=model, endpoint=self.endpoint)
                self.log.write_failure("llm", model, request.record_payload(), call, str(failure), elapsed_ms,
                                       status=status)
                left = remaining()
                if status == "timeout" and left is not None and left <= 0:
                    raise ModelTimeout(f"model {model} did not answer within the step's timeout "
                                       f"(cut after {elapsed_ms / 1000:.1f} s)") from exc
                if attempt > self.retry.max_retries or not is_retryable(exc):
                    raise
                delay = self.retry.delay(attempt, failure.retry_after)
                if left is not None and delay >= left:  # the wait alone would outlive the step
                    raise ModelTimeout(f"model {model} failed ({failure}) and the step's timeout "
                                       f"leaves {max(left, 0):.1f} s, less than the {delay:.1f} s back-off",
                                       **failure.fields()) from exc
                log.info("model %s attempt %d failed (%s); retrying in %.2fs", model, attempt, failure, delay)
                self.retry.sleep(delay)
                continue
            completion.attempts = attempt
            return completion
