"""The typed request and answer of one structured model call, whatever provider answers it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OutputMode = Literal["json_schema", "json_object", "offline", "replay"]


Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class ChatRequest(BaseModel):
    """What to ask. The model is not part of it: a fallback model answers the same request,
    and replay finds the answer by this request's hash whichever model gave it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: tuple[ChatMessage, ...]
    schema_name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    json_schema: dict[str, Any]
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    offline_hint: dict[str, Any] = Field(default_factory=dict, exclude=True)
    """The agent input, so offline answers can be derived from it (not sent, not hashed)."""

    def record_payload(self) -> dict[str, Any]:
        """The JSON written to call_records.request; its hash is the replay key."""
        return self.model_dump(mode="json")


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

    def response_payload(self) -> dict[str, Any]:
        return {"text": self.text, "model": self.model, "mode": self.mode, "offline": self.offline,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}
