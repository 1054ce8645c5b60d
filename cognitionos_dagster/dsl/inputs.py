"""Typed run inputs: the checks behind `inputs:` defaults at load time and given values at launch.

One function decides whether a value fits a declared type, so a default that loads is always
a value that a run would accept.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from cognitionos_dagster.errors import CognitionOSError

if TYPE_CHECKING:
    from cognitionos_dagster.dsl.models import InputSpec

InputType = Literal["string", "number", "integer", "boolean", "array", "object"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}


class InputError(CognitionOSError):
    """Run inputs do not match the workflow's declared `inputs`."""

    def __init__(self, message: str, *, name: str | None = None, hint: str | None = None) -> None:
        self.name = name
        super().__init__(message, hint=hint)


def fits(value: Any, type_: str) -> bool:
    """Whether `value` is of the DSL type; bool is not a number and a number is not a string."""
    if isinstance(value, bool) and type_ != "boolean":
        return False
    if type_ == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES[type_])


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def value_problem(spec: InputSpec, value: Any) -> str | None:
    """Why `value` does not fit `spec` (type, array items, enum), or None when it fits."""
    if not fits(value, spec.type):
        return f"expected {spec.type}, got {describe(value)} ({type(value).__name__})"
    if spec.type == "array" and spec.items is not None:
        for i, item in enumerate(value):
            if not fits(item, spec.items):
                return f"item {i} should be {spec.items}, got {describe(item)}"
    if spec.enum is not None and value not in spec.enum:
        return f"{describe(value)} is not one of {', '.join(map(str, spec.enum))}"
    return None


def validate_inputs(declared: Mapping[str, InputSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """The run's inputs: given values checked, defaults applied, absent optional inputs None."""
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(given) - set(declared))
    for name in unknown:
        known = ", ".join(sorted(declared)) or "none"
        problems.append((name, f"unknown input `{name}` (declared inputs: {known})"))
    result: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given and given[name] is not None:
            problem = value_problem(spec, given[name])
            if problem:
                problems.append((name, f"input `{name}`: {problem}"))
            value = given[name]
            result[name] = list(value) if isinstance(value, tuple) else value
        elif spec.default is not None:
            result[name] = copy.deepcopy(spec.default)
        elif spec.required:
            problems.append((name, f"input `{name}` is required ({spec.type})"))
        else:
            result[name] = None
    if problems:
        message = "; ".join(text for _, text in problems)
        raise InputError(
            message,
            name=problems[0][0],
            hint="pass inputs as --input name=value; see the workflow's `inputs:` for types",
        )
    return result
