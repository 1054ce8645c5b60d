"""Custom roles' schemas: a JSON Schema written inline in the agent file, or a Pydantic model by import path.

Either way the role ends up with Pydantic models, so built-in and custom roles are validated,
documented and offered to the model by the same code.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.config import ExtraValues

_SCALARS: dict[str, type] = {"string": str, "number": float, "integer": int, "boolean": bool}
_CONSTRAINTS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt",
                "minLength": "min_length", "maxLength": "max_length", "minItems": "min_length",
                "maxItems": "max_length", "pattern": "pattern"}
_KNOWN = {"type", "properties", "required", "items", "enum", "description", "title", "default",
          "additionalProperties", *_CONSTRAINTS}


class SchemaModelError(ValueError):
    """Carries the path inside the schema that is wrong, so the loader can name its line."""

    def __init__(self, message: str, loc: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.loc = loc


def _annotation(schema: dict[str, Any], name: str, loc: tuple[Any, ...], extra: ExtraValues) -> Any:
    unknown = set(schema) - _KNOWN
    if unknown:
        raise SchemaModelError(f"unsupported JSON Schema keyword(s): {', '.join(sorted(unknown))}", loc)
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    kind = schema.get("type")
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return list[_annotation(schema.get("items", {"type": "string"}), name, (*loc, "items"), extra)]  # type: ignore[misc]  # built at run time
    if kind == "object":
        if "properties" in schema:
            return model_from_json_schema(schema, f"{name}Item", extra=extra, loc=loc)
        return dict[str, Any]
    raise SchemaModelError(f"type must be one of string, number, integer, boolean, array, object (got {kind!r})",
                           (*loc, "type"))


def model_from_json_schema(schema: dict[str, Any], name: str, *, extra: ExtraValues = "forbid",
                           loc: tuple[Any, ...] = ()) -> type[BaseModel]:
    """An object schema -> a Pydantic model; unsupported keywords are refused, never ignored."""
    if not isinstance(schema, dict) or schema.get("type", "object") != "object" or "properties" not in schema:
        raise SchemaModelError("a role schema is an object schema with `properties`", loc)
    required = set(schema.get("required", []))
    missing = required - set(schema["properties"])
    if missing:
        raise SchemaModelError(f"required names unknown properties: {', '.join(sorted(missing))}", (*loc, "required"))
    fields: dict[str, Any] = {}
    for key, sub in schema["properties"].items():
        sub_loc = (*loc, "properties", key)
        if not isinstance(sub, dict):
            raise SchemaModelError("each property is a schema mapping", sub_loc)
        annotation = _annotation(sub, f"{name}_{key}", sub_loc, extra)
        kwargs = {_CONSTRAINTS[k]: v for k, v in sub.items() if k in _CONSTRAINTS}
        if sub.get("description"):
            kwargs["description"] = sub["description"]
        if key in required:
            fields[key] = (annotation, Field(**kwargs))
        else:
            default = sub.get("default")
            fields[key] = (annotation | None if default is None else annotation, Field(default=default, **kwargs))
    allow = schema.get("additionalProperties")
    config = ConfigDict(extra="allow" if allow is True else extra)
    return create_model(name, __config__=config, **fields)


def import_model(path: str) -> type[BaseModel]:
    """`package.module:Class` (or `package.module.Class`) naming a Pydantic model."""
    module_name, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not an import path like package.module:Model")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import {path!r}: {exc}") from exc
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        raise ValueError(f"{path!r} is not a Pydantic model class")
    return target
