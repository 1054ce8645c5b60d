"""One chat call to one model on an OpenAI-compatible endpoint, in the best JSON mode it supports.

Structured output (`response_format: json_schema`) is tried first. Servers that reject it
with a 400 (older vLLM, llama.cpp, some Ollama builds, older OpenAI models) are asked again
in JSON mode (`json_object`) with the schema in the prompt; the answer is then validated by
the caller. What worked is remembered per endpoint and model for the life of the process.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from openai.types.chat.completion_create_params import ResponseFormat

from cognitionos_dagster.errors import ModelTimeout
from cognitionos_dagster.llm.deadline import remaining
from cognitionos_dagster.llm.types import ChatRequest, Completion, OutputMode, ToolCallRequest

_json_mode_only: set[tuple[str, str]] = set()
_lock = threading.Lock()

_FORMAT_WORDS = ("response_format", "json_schema", "structured output", "grammar", "schema")


def _rejects_json_schema(exc: openai.BadRequestError) -> bool:
    """A 400 that talks about the response format; other 400s are real request errors."""
    text = f"{exc.message} {exc.body}".lower()
    return any(word in text for word in _FORMAT_WORDS)


def forget_formats() -> None:
    """Forget what endpoints support (tests; a server upgraded while the process runs)."""
    with _lock:
        _json_mode_only.clear()


class OpenAIChat:
    """Chat completions through the official client; retries and fallbacks live in ModelClient."""

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client
        self.endpoint = str(client.base_url)
        self.timeout = client.timeout if isinstance(client.timeout, int | float) else None

    def mode_for(self, model: str) -> OutputMode:
        with _lock:
            return "json_object" if (self.endpoint, model) in _json_mode_only else "json_schema"

    def complete(self, request: ChatRequest, model: str) -> Completion:
        mode = self.mode_for(model)
        if mode == "json_schema":
            try:
                return self._call(request, model, "json_schema")
            except openai.BadRequestError as exc:
                if not _rejects_json_schema(exc):
                    raise
            completion = self._call(request, model, "json_object")
            with _lock:
                _json_mode_only.add((self.endpoint, model))
            return completion
        return self._call(request, model, "json_object")

    def _call(self, request: ChatRequest, model: str, mode: OutputMode) -> Completion:
        # ChatMessage.to_openai builds the client's message shapes, tool calls and results included
        messages = [cast(ChatCompletionMessageParam, m.to_openai()) for m in request.messages]
        response_format: ResponseFormat
        if mode == "json_schema":
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.json_schema, "strict": False},
            }
        else:
            response_format = {"type": "json_object"}
            messages.insert(0, {"role": "system", "content": _schema_instruction(request)})
        timeout: float | openai.NotGiven = openai.NOT_GIVEN
        left = remaining()
        if left is not None:  # the step's budget caps the client's own timeout (the lower one wins)
            if left <= 0:
                raise ModelTimeout(f"no time left in the step's budget to ask {model}")
            timeout = min(left, self.timeout) if self.timeout else left
        tools: list[ChatCompletionToolParam] | openai.Omit = \
            [cast(ChatCompletionToolParam, t.to_openai()) for t in request.tools] if request.tools else openai.omit
        started = time.perf_counter()
        response = self.client.chat.completions.create(
            model=model, messages=messages, response_format=response_format, temperature=request.temperature,
            max_tokens=openai.omit if request.max_tokens is None else request.max_tokens, timeout=timeout,
            tools=tools,
        )
        latency_ms = (time.perf_counter() - started) * 1000
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        usage = response.usage
        return Completion(
            text=text, model=model, mode=mode, latency_ms=latency_ms, tool_calls=_tool_calls(choice),
            input_tokens=usage.prompt_tokens if usage else 0, output_tokens=usage.completion_tokens if usage else 0,
        )


def _tool_calls(choice: Any) -> tuple[ToolCallRequest, ...]:
    """Function calls of the answer; a call without an id (some local servers) gets its position."""
    calls = getattr(choice.message, "tool_calls", None) if choice is not None else None
    return tuple(
        ToolCallRequest(id=c.id or f"call_{i}", name=c.function.name, arguments=c.function.arguments or "{}")
        for i, c in enumerate(calls or []) if getattr(c, "function", None) is not None
    )


def _schema_instruction(request: ChatRequest) -> str:
    return (
        "Answer with one JSON object only, no prose, valid against this JSON Schema "
        f"({request.schema_name}):\n{json.dumps(request.json_schema, separators=(',', ':'))}"
    )
