"""The typed request and answer of one structured model call, whatever provider answers it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OutputMode = Literal["json_schema", "json_object", "offline", "replay"]


class ToolCallRequest(BaseModel):
    """One tool call a model asked for; `arguments` is the JSON text exactly as the model wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    arguments: str = "{}"


class ToolSpec(BaseModel):
    """A tool offered to the model: OpenAI's `function` tool shape."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


Role = Literal["system", "user", "assistant", "tool"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str
    tool_calls: tuple[ToolCallRequest, ...] = ()  # an assistant's request for tools
    tool_call_id: str | None = None  # a tool message: which call it answers

    def to_openai(self) -> dict[str, Any]:
        """The wire shape; a plain message keeps exactly its old form (and its old replay hash)."""
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["content"] = self.content or None
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message


class ChatRequest(BaseModel):
    """What to ask. The model is not part of it: a fallback model answers the same request,
    and replay finds the answer by this request's hash whichever model gave it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: tuple[ChatMessage, ...]
    schema_name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    json_schema: dict[str, Any]
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    tools: tuple[ToolSpec, ...] = ()  # offered for tool calling; none: the model must answer at once
    offline_hint: dict[str, Any] = Field(default_factory=dict, exclude=True)
    """The agent input, so offline answers can be derived from it (not sent, not hashed)."""

    def record_payload(self) -> dict[str, Any]:
        """The JSON written to call_records.request; its hash is the replay key. Tool fields appear
        only when used, so a request without tools hashes as it did before tools existed."""
        payload = self.model_dump(mode="json", exclude={"messages", "tools"})
        payload["messages"] = [m.to_openai() for m in self.messages]
        if self.tools:
            payload["tools"] = [t.to_openai() for t in self.tools]
        return payload


class CallContext(BaseModel):
    """Where a call happens: ties its record to a run and step, and selects replay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str | None = None
    step_id: str | None = None
    prompt_version: str | None = None
    replay_run_id: str | None = None


class Completion(BaseModel):
    """One answer: its text (JSON expected) and what it cost."""

    text: str
    model: str
    mode: OutputMode
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    attempts: int = 1
    offline: bool = False
    record_id: str | None = Field(default=None, exclude=True)
    """The call_records row of this answer, once written."""
    tool_calls: tuple[ToolCallRequest, ...] = ()  # non-empty: the model asks for tools instead of answering

    def response_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text, "model": self.model, "mode": self.mode, "offline": self.offline,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}
        if self.tool_calls:
            payload["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        return payload
