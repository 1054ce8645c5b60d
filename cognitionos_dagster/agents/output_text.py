"""Reading a model's answer as one JSON object, and telling it briefly what was wrong."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


def parse_json_object(text: str) -> dict[str, Any]:
    """Accepts a bare object or one wrapped in a ```json fence (common in JSON mode on local models)."""
    match = _FENCE.match(text)
    if match:
        text = match.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data


def validation_feedback(exc: BaseException, limit: int = 5) -> str:
    """What to fix, field by field, short enough to send back to the model."""
    if isinstance(exc, ValidationError):
        items = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:limit]]
        more = f" (+{exc.error_count() - limit} more)" if exc.error_count() > limit else ""
        return "; ".join(items) + more
    return str(exc)
