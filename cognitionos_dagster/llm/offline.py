"""The offline provider: a deterministic, schema-valid answer derived from the input.

Used when no API key and no base URL are configured, so workflows and tests run with no
network. Every text starts with "[offline]" so nobody mistakes it for a model's work, and
numbers sit at 0.9 inside their bounds so default confidence thresholds (0.7 to 0.8) pass.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

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
    def __init__(self, root: dict[str, Any], hint: dict[str, Any]) -> None:
        self.root = root
        self.excerpt = _excerpt(hint)

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
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and len(text) < low:
            text = text + "." * (low - len(text))
        if high is not None and len(text) > high:
            text = text[:high]
        return text


def offline_answer(json_schema: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """The same input and schema always give the same answer."""
    result = _Builder(json_schema, hint).value(json_schema, "result")
    if not isinstance(result, dict):
        raise ValueError("offline answers need an object schema")
    return result
