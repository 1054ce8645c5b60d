"""The offline provider: a deterministic, schema-valid answer derived from the input.

Used when no API key and no base URL are configured, so workflows and tests run with no
network. Every text starts with "[offline]" so nobody mistakes it for a model's work, and
numbers sit at 0.9 inside their bounds so default confidence thresholds (0.7 to 0.8) pass.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from cognitionos_dagster.llm.types import ChatMessage, ToolCallRequest, ToolSpec

OFFLINE_MARK = "[offline]"
OFFLINE_MODEL = "offline"
_NUMBER = 0.9
# Lists that report what happened: offline, nothing failed and no tool ran, so they stay empty.
_EMPTY_LISTS = frozenset({"errors", "warnings", "tools_used"})


def _excerpt(hint: dict[str, Any], limit: int = 60) -> str:
    for value in hint.values():
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= limit else text[: limit - 1] + "…"
    if hint:
        return hashlib.sha256(json.dumps(hint, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return "no input"


class _Builder:
    def __init__(self, root: dict[str, Any], hint: dict[str, Any], tool_report: str | None = None) -> None:
        self.root = root
        self.excerpt = _excerpt(hint)
        self.tool_report = tool_report

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        seen = 0
        while isinstance(ref, str) and ref.startswith("#/") and seen < 32:
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            ref = target.get("$ref")
            seen += 1
        return schema

    def value(self, schema: dict[str, Any], name: str, depth: int = 0) -> Any:  # noqa: C901 - one branch per JSON type
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"] or schema[key]
                return self.value(options[0], name, depth)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self.resolve(part))
            return self.value(merged, name, depth)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            return self.obj(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind in ("number", "integer"):
            return self.number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name)

    def obj(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        """Required fields get a value; optional ones their declared default, or are left out."""
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key in required:
                out[key] = self.value(sub, key, depth + 1)
            elif "default" in self.resolve(sub):
                out[key] = self.resolve(sub)["default"]
        return out

    def array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = max(low, 2) if high is None else min(max(low, 2), int(high))
        item_schema = schema.get("items", {"type": "string"})
        if depth >= 4 or name in _EMPTY_LISTS:
            count = low
        return [self.value(item_schema, f"{name} {i + 1}", depth + 1) for i in range(count)]

    @staticmethod
    def number(schema: dict[str, Any], *, integer: bool) -> float | int:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if integer:
            value = 1 if low is None else int(low) + (1 if "exclusiveMinimum" in schema else 0)
            return value if high is None else min(value, int(high))
        if (low is None or low < _NUMBER) and (high is None or high > _NUMBER):
            return _NUMBER
        if low is not None and high is not None:
            return (low + high) / 2
        return float(low + 1) if low is not None else float(high - 1) if high is not None else _NUMBER

    def string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return "1970-01-01T00:00:00Z"
        if fmt == "date":
            return "1970-01-01"
        text = f"{OFFLINE_MARK} {name.replace('_', ' ')} for: {self.excerpt}"
        if name == "result" and self.tool_report:
            text = f"{OFFLINE_MARK} {self.tool_report}"
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and len(text) < low:
            text = text + "." * (low - len(text))
        if high is not None and len(text) > high:
            text = text[:high]
        return text


def offline_answer(json_schema: dict[str, Any], hint: dict[str, Any],
                   messages: Sequence[ChatMessage] = ()) -> dict[str, Any]:
    """The same input and schema always give the same answer; after tool calls, a `result` field
    reports what the tools returned."""
    result = _Builder(json_schema, hint, _tool_report(messages)).value(json_schema, "result")
    if not isinstance(result, dict):
        raise ValueError("offline answers need an object schema")
    return result


def offline_tool_call(tools: Sequence[ToolSpec], messages: Sequence[ChatMessage],
                      hint: dict[str, Any]) -> ToolCallRequest | None:
    """One call to the offered tool the input asks for by name ("use execute_python to compute 2**10"),
    once per conversation: after a tool result the offline provider answers.

    The tool's first required string field gets the text in backticks, or what follows "to compute"
    (printed by a code tool), or what follows "use <tool> to".
    """
    if not tools or any(m.role == "tool" for m in messages):
        return None
    text = " ".join(v for v in hint.values() if isinstance(v, str))
    for tool in tools:
        match = re.search(rf"\buse\s+{re.escape(tool.name)}\b(?:\s+to)?\s*(.*)", text, re.I | re.S)
        if match:
            arguments = _tool_arguments(tool, match.group(1))
            return ToolCallRequest(id="offline_call_1", name=tool.name, arguments=json.dumps(arguments))
    return None


def _tool_arguments(tool: ToolSpec, rest: str) -> dict[str, Any]:
    quoted = re.search(r"`([^`]+)`", rest)
    computed = re.match(r"compute\s+(.+?)[.;]?\s*$", rest.strip(), re.S)
    if quoted:
        value = quoted.group(1)
    elif computed and "python" in tool.name:
        value = f"print({computed.group(1)})"
    elif computed and "javascript" in tool.name:
        value = f"console.log({computed.group(1)})"
    else:
        value = rest.strip().rstrip(".") or tool.name
    schema = tool.parameters
    required = list(schema.get("required", []))
    arguments = offline_answer({**schema, "required": required}, {"text": value}) if schema.get("properties") else {}
    field = next((k for k in required if schema["properties"].get(k, {}).get("type") == "string"), None)
    if field is not None:
        arguments[field] = value
    return arguments


def _tool_report(messages: Sequence[ChatMessage]) -> str | None:
    """What the tools answered, from the conversation's tool messages (their `result`, else the whole)."""
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    parts = []
    for message in messages:
        if message.role != "tool":
            continue
        try:
            output = json.loads(message.content)
        except ValueError:
            output = message.content
        shown = output.get("result", output.get("error")) if isinstance(output, dict) else output
        text = shown if isinstance(shown, str) else json.dumps(shown, sort_keys=True)
        parts.append(f"{names.get(message.tool_call_id or '', 'tool')} returned: {' '.join(text.split())[:500]}")
    return "; ".join(parts) or None
