"""Shape errors of a spec: unknown keys (with the closest valid key) and Pydantic's type errors,
both turned into `file:line:col: message` at the exact key or value.

Unknown keys are found by walking the data against the models' own field tables before
Pydantic runs, so the suggestion uses the right set of keys for where the typo sits.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cognitionos_dagster.dsl.source import Path_, Source
from cognitionos_dagster.errors import SpecError

INTERNAL_FIELDS = frozenset({"position", "source_path", "sha256"})

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _nested(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """('model' | 'list' | 'dict', Model) when a field holds a model, a list of them or a dict of them."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        found = [n for a in get_args(annotation) if (n := _nested(a))]
        return found[0] if found else None
    if origin is typing.Annotated:
        return None  # custom string forms (WorkflowRef)
    if origin is list and get_args(annotation):
        inner = get_args(annotation)[0]
        return ("list", inner) if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    if origin is dict and len(get_args(annotation)) == 2:
        inner = get_args(annotation)[1]
        return ("dict", inner) if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    return None


def _where(path: Path_, data: Any) -> str:
    """A reader's name for a place in the spec: `step build`, `input repo_url`, `defaults.retry`."""
    if not path:
        return "the workflow"
    if path[0] == "steps" and len(path) >= 2 and isinstance(path[1], int):
        steps = data.get("steps") if isinstance(data, dict) else None
        step = steps[path[1]] if isinstance(steps, list) and path[1] < len(steps) else None
        sid = step.get("id") if isinstance(step, dict) else None
        name = f"step `{sid}`" if isinstance(sid, str) else f"step {path[1] + 1}"
        rest = ".".join(map(str, path[2:]))
        return f"{name}, `{rest}`" if rest else name
    if path[0] == "inputs" and len(path) >= 2:
        rest = ".".join(map(str, path[2:]))
        return f"input `{path[1]}`" + (f", `{rest}`" if rest else "")
    return "`" + ".".join(map(str, path)) + "`"


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, tuple[str, type[BaseModel]] | None]:
    """The keys a user may write for `model`, each with the nested model it holds (if any)."""
    return {
        name: _nested(info.annotation) for name, info in model.model_fields.items() if name not in INTERNAL_FIELDS
    }


def unknown_keys(model: type[BaseModel], value: Any, path: Path_, source: Source) -> list[SpecError]:
    """Every key the models do not define, with the closest valid key as the suggestion."""
    if not isinstance(value, dict):
        return []
    fields = _fields(model)
    errors: list[SpecError] = []
    for key, item in value.items():
        if key not in fields:
            errors.append(source.error((*path, key), _unknown_key_message(key, fields, path, source), key=True))
            continue
        nested = fields[key]
        if nested is None:
            continue
        kind, inner = nested
        if kind == "model":
            errors += unknown_keys(inner, item, (*path, key), source)
        elif kind == "list" and isinstance(item, list):
            for i, element in enumerate(item):
                errors += unknown_keys(inner, element, (*path, key, i), source)
        elif kind == "dict" and isinstance(item, dict):
            for name, element in item.items():
                errors += unknown_keys(inner, element, (*path, key, name), source)
    return errors


def _unknown_key_message(key: str, fields: dict[str, Any], path: Path_, source: Source) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    where = _where(path, source.data)
    if key in INTERNAL_FIELDS:
        return f"unknown key `{key}` in {where}: it is computed by the loader; remove it"
    if close:
        return f"unknown key `{key}` in {where}; did you mean `{close[0]}`?"
    return f"unknown key `{key}` in {where}; valid keys: {', '.join(fields)}"


def _data_path(loc: tuple[Any, ...], source: Source) -> Path_:
    """Pydantic's error location with union-member tags dropped, as a path into the data."""
    path: Path_ = ()
    for part in loc:
        candidate = (*path, part)
        if candidate in source.values or candidate in source.keys:
            path = candidate
    return path


def _message(err: ErrorDetails, path: Path_, source: Source) -> str:
    kind, msg = err["type"], err["msg"]
    where = _where(path, source.data)
    if kind == "missing":
        return f"{where} is missing the required key `{err['loc'][-1]}`"
    if kind in _EXPECTED:
        got = err.get("input")
        scalar = isinstance(got, int | float | bool)
        note = "; quote the value to make it a string" if kind == "string_type" and scalar else ""
        return f"{where}: expected {_EXPECTED[kind]}, got {got!r} ({type(got).__name__}){note}"
    if kind == "literal_error":
        return f"{where}: {msg[0].lower()}{msg[1:]}, got {err.get('input')!r}"
    if kind in ("value_error", "assertion_error"):
        return f"{where}: {msg.removeprefix('Value error, ').removeprefix('Assertion failed, ')}"
    return f"{where}: {msg[0].lower()}{msg[1:]}"


def validation_errors(exc: ValidationError, source: Source) -> list[SpecError]:
    """Pydantic's errors at the positions they belong to; one error per place (union members merged)."""
    by_path: dict[Path_, list[ErrorDetails]] = {}
    for err in exc.errors(include_url=False):
        path = _data_path(tuple(err["loc"]), source)
        if err["type"] == "missing" and err["loc"] and err["loc"][-1] in INTERNAL_FIELDS:
            continue
        by_path.setdefault(path, []).append(err)
    errors: list[SpecError] = []
    for path, errs in by_path.items():
        types_ = [e for e in errs if e["type"] in _EXPECTED]
        if len(types_) > 1 and len(types_) == len(errs):
            wanted = " or ".join(dict.fromkeys(_EXPECTED[e["type"]] for e in types_))
            got = types_[0].get("input")
            message = f"{_where(path, source.data)}: expected {wanted}, got {got!r} ({type(got).__name__})"
            errors.append(source.error(path, message))
            continue
        for err in errs:
            errors.append(_positioned(err, path, source))
    return errors


def _positioned(err: ErrorDetails, path: Path_, source: Source) -> SpecError:
    message = _message(err, path, source)
    text = message.split(": ", 1)[-1]
    if text.startswith("`"):  # a validator naming a key of this mapping: point at that key's value
        key = text[1:].split("`", 1)[0]
        if (*path, key) in source.values:
            return source.error((*path, key), message)
    return source.error(path, message)
