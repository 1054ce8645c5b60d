"""Agents that call tools: the model asks, the registry runs, the answer goes back, in rounds.

Every call the model asks for goes through `ToolRegistry.run`, so an agent's call gets exactly
what a tool step gets: the permission check, the sandbox, the timeout, its row in
`call_records` and its span. What the loop adds is the conversation around it:

- A call the loop must refuse (unknown tool, one the step does not offer, arguments that break
  the tool's schema) runs nothing; the refusal is the call's result, so the model can correct
  itself. Its round counts like any other.
- A tool that fails (exit code, timeout, sandbox kill) is a result too: the model sees the error.
- Calls of one answer run concurrently, at most `max_parallel_tools` at a time; their results go
  back in the order the model asked.
- In a deterministic replay the registry serves every recorded result, failures included (the
  model saw them), in the order they were recorded; refusals are recomputed, as they ran nothing.

`tools_used` in the output is the list of tools that ran, whatever the model claims.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel

from cognitionos_dagster.agents.catalog import AgentDefinition
from cognitionos_dagster.agents.requests import AgentRequest
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import AgentError, ToolError
from cognitionos_dagster.llm.types import ChatMessage, Completion, ToolCallRequest, ToolSpec
from cognitionos_dagster.memory.interface import MemoryProvider
from cognitionos_dagster.settings import Settings
from cognitionos_dagster.tools import recording
from cognitionos_dagster.tools.base import ToolOutput
from cognitionos_dagster.tools.context import ToolContext
from cognitionos_dagster.tools.registry import ToolRegistry, validate_input
from cognitionos_dagster.tracing.spans import span

MAX_RESULT_CHARS = 8000  # what one tool result may add to the conversation
Ask = Callable[[list[ChatMessage], tuple[ToolSpec, ...]], Completion]
CallStatus = Literal["ok", "failed", "refused"]


class ToolRoundsExhausted(AgentError):
    """The model kept asking for tools past the role's `max_tool_rounds` without giving its answer."""


@dataclass(frozen=True)
class ToolCallTrace:
    """What the step record keeps of one call: enough to see why a loop went the way it did."""

    round: int
    name: str
    status: CallStatus
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"round": self.round, "tool": self.name, "status": self.status, "error": self.error}


@dataclass
class ToolSession:
    """One agent step's use of tools: what it may call, and what it called."""

    role: str
    offered: tuple[str, ...]
    context: ToolContext
    max_rounds: int
    max_parallel: int
    traces: list[ToolCallTrace] = field(default_factory=list)
    _local_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def tools_used(self) -> list[str]:
        """Tools that ran (a failed run ran; a refusal did not), each once, in first-use order."""
        return list(dict.fromkeys(t.name for t in self.traces if t.status != "refused"))


@dataclass(frozen=True)
class _Planned:
    """A call checked and ready to run, or refused with the reason the model will read."""

    call: ToolCallRequest
    arguments: dict[str, Any] | None = None
    index: int = 0
    refusal: str | None = None


class ToolLoop:
    def __init__(self, registry: ToolRegistry, settings: Settings, *, memory: MemoryProvider | None = None,
                 recorder: CallRecordRepository | None = None) -> None:
        self.registry = registry
        self.settings = settings
        self.memory = memory
        self.recorder = recorder
        self._specs: dict[str, ToolSpec] = {}

    def session(self, definition: AgentDefinition, request: AgentRequest, agent_input: BaseModel) -> ToolSession:
        offered = self.offered(definition.allowed_tools, request.tools, getattr(agent_input, "tools_allowed", None))
        context = ToolContext(
            settings=self.settings, run_id=request.run_id, step_id=request.step_id, caller_role=definition.role,
            allowed_tools=frozenset(offered), memory=self.memory, user=request.user, recorder=self.recorder,
            replay_run_id=request.replay_run_id, timeout_seconds=request.timeout_seconds, replay_any_outcome=True,
        )
        return ToolSession(role=definition.role, offered=offered, context=context,
                           max_rounds=definition.max_tool_rounds, max_parallel=definition.max_parallel_tools)

    def offered(self, allowed: Sequence[str], step_tools: Sequence[str] | None,
                input_tools: Sequence[str] | None) -> tuple[str, ...]:
        """The role's allowed tools that are registered, narrowed by the step's `tools:` and the
        input's `tools_allowed` when those name any."""
        names = [name for name in allowed if name in self.registry]
        for narrower in (step_tools, input_tools):
            if narrower:
                names = [name for name in names if name in narrower]
        return tuple(names)

    def specs(self, names: Sequence[str]) -> tuple[ToolSpec, ...]:
        return tuple(self._spec(name) for name in names)

    def _spec(self, name: str) -> ToolSpec:
        """Built once per tool: a JSON schema costs more than a whole round of the loop."""
        spec = self._specs.get(name)
        if spec is None:
            tool = self.registry.get(name)
            spec = self._specs[name] = ToolSpec(name=name, description=tool.description,
                                                parameters=tool.input_model.model_json_schema())
        return spec

    def converse(self, session: ToolSession, messages: list[ChatMessage], ask: Ask) -> tuple[Completion,
                                                                                                list[ChatMessage]]:
        """Ask until the model answers without tool calls; that answer and the conversation before it.

        Raises ToolRoundsExhausted when it asks for tools once more after `max_rounds` rounds.
        """
        specs = self.specs(session.offered)
        conversation = list(messages)
        rounds = 0
        while True:
            completion = ask(conversation, specs)
            if not completion.tool_calls:
                return completion, conversation
            if rounds >= session.max_rounds:
                raise self._exhausted(session, completion)
            rounds += 1
            with span("agent.tool_round", role=session.role, round=rounds, calls=len(completion.tool_calls)):
                results = self.run_round(session, completion.tool_calls, rounds)
            conversation.append(ChatMessage(role="assistant", content=completion.text,
                                            tool_calls=completion.tool_calls))
            conversation += [ChatMessage(role="tool", tool_call_id=call.id, content=content)
                             for call, content in zip(completion.tool_calls, results, strict=True)]

    def run_round(self, session: ToolSession, calls: Sequence[ToolCallRequest], round_no: int) -> list[str]:
        """Each call's result text, in the order asked; the calls that may run run concurrently."""
        planned = self._plan(session, calls)
        runnable = [p for p in planned if p.refusal is None]
        outputs: dict[int, ToolOutput] = {}
        if len(runnable) == 1:
            outputs[id(runnable[0])] = self._run(session, runnable[0])
        elif runnable:
            workers = min(len(runnable), session.max_parallel)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"tools-{session.role}") as pool:
                futures = {id(p): pool.submit(contextvars.copy_context().run, self._run, session, p)
                           for p in runnable}
                outputs = {key: future.result() for key, future in futures.items()}
        results = []
        for p in planned:
            if p.refusal is not None:
                session.traces.append(ToolCallTrace(round_no, p.call.name, "refused", p.refusal))
                results.append(_result_text({"success": False, "error": p.refusal}))
                continue
            output = outputs[id(p)]
            session.traces.append(ToolCallTrace(round_no, p.call.name, "ok" if output.success else "failed",
                                                None if output.success else output.error))
            results.append(_result_text(output.model_dump(mode="json")))
        return results

    def _plan(self, session: ToolSession, calls: Sequence[ToolCallRequest]) -> list[_Planned]:
        """Refuse what may not run; number the rest for recording and replay (the n-th call of a
        step with the same tool and arguments is served the n-th recorded result)."""
        planned = []
        seen: Counter[tuple[str, str]] = Counter()
        for call in calls:
            refusal, arguments = self._check(session, call)
            if refusal is not None or arguments is None:
                planned.append(_Planned(call, refusal=refusal))
                continue
            _, req_hash = recording.request_of(self.registry.get(call.name), arguments)
            key = (call.name, req_hash)
            planned.append(_Planned(call, arguments, self._recorded(session, key) + seen[key]))
            seen[key] += 1
        with session._lock:
            for key, n in seen.items():
                session._local_counts[key] += n
        return planned

    def _check(self, session: ToolSession, call: ToolCallRequest) -> tuple[str | None, dict[str, Any] | None]:
        offered = ", ".join(session.offered) or "none"
        if call.name not in self.registry:
            return f"refused: there is no tool '{call.name}'; the tools you may call are: {offered}", None
        if call.name not in session.offered:
            return (f"refused: role '{session.role}' may not use tool '{call.name}' in this step; "
                    f"the tools you may call are: {offered}"), None
        try:
            raw = json.loads(call.arguments or "{}")
        except ValueError as exc:
            return f"refused: the arguments of '{call.name}' are not valid JSON ({exc}); send one JSON object", None
        if not isinstance(raw, dict):
            return f"refused: the arguments of '{call.name}' must be one JSON object", None
        try:
            data = validate_input(self.registry.get(call.name), raw)
        except ToolError as exc:
            return f"refused: {exc}", None
        return None, data.model_dump(mode="json")

    def _recorded(self, session: ToolSession, key: tuple[str, str]) -> int:
        """Calls with this key the step already made: counted in the database, so an attempt in a
        fresh process (a retry, a replay of a retried step) continues the count."""
        ctx = session.context
        if ctx.recorder is not None and ctx.run_id and ctx.step_id:
            return ctx.recorder.count_ok(ctx.run_id, ctx.step_id, "tool", key[1], any_status=True)
        with session._lock:
            return session._local_counts[key]

    def _run(self, session: ToolSession, planned: _Planned) -> ToolOutput:
        assert planned.arguments is not None
        tool = self.registry.get(planned.call.name)
        _, req_hash = recording.request_of(tool, planned.arguments)
        ctx = replace(session.context, call_counts={(tool.name, req_hash): planned.index})
        return self.registry.run(tool.name, planned.arguments, ctx)

    def _exhausted(self, session: ToolSession, completion: Completion) -> ToolRoundsExhausted:
        asked = ", ".join(c.name for c in completion.tool_calls)
        history = "; ".join(f"round {t.round}: {t.name} {t.status}" + (f" ({t.error[:120]})" if t.error else "")
                            for t in session.traces[-6:])
        return ToolRoundsExhausted(
            f"{session.role} still asked for tools ({asked}) after max_tool_rounds={session.max_rounds} rounds "
            f"without giving its answer; last calls: {history or 'none'}",
            hint=f"raise max_tool_rounds in resources/agents/{session.role}.yaml, narrow the step's `tools:`, "
            "or make the task smaller",
        )


def with_tools_used(output: BaseModel, tools_used: list[str]) -> BaseModel:
    """The output with `tools_used` (when its schema has one) set to what really ran."""
    if "tools_used" not in type(output).model_fields:
        return output
    return output.model_copy(update={"tools_used": list(tools_used)})


def _result_text(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + f"… [{len(text) - MAX_RESULT_CHARS} more characters cut]"
