"""Text fields accept structured values: a list becomes one item a line, a mapping becomes JSON.

Workflow expressions keep native types (`content: "{{ steps.plan.output.plan }}"` is a list), while
agent inputs are mostly prose for a prompt; converting at this one boundary lets a spec pass one
step's output to the next without a `join` filter, and never changes a value that already fits.
"""

from __future__ import annotations

import json
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args == [str]
    return False


def _as_text(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "\n".join(v if isinstance(v, str) else json.dumps(v, default=str) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, indent=2, default=str)
    return value


def coerce_text_fields(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with lists and mappings given for plain-text fields of `model` turned into text."""
    fields = model.model_fields
    return {
        key: _as_text(value) if key in fields and _is_text(fields[key].annotation) else value
        for key, value in data.items()
    }
