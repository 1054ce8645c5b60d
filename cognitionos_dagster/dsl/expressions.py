"""`{{ ... }}` expressions: checked when a spec loads, evaluated in jinja2's sandbox when a step runs.

At load time an expression is parsed once (cached by its text) into an `Analysis`: the free
names it reads, the `steps.<id>` / `inputs.<name>` / `run.<key>` paths it touches, and anything
the sandbox would refuse. The common shapes (`{{ inputs.x }}`, `text {{ steps.a.output.b }}`)
are recognised by one regular expression without running jinja's parser, which keeps loading
a thousand specs fast. Evaluation uses an immutable sandbox with strict undefined values, so
a typo fails loudly instead of rendering as an empty string; a value that is exactly one
expression keeps its native type.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from cognitionos_dagster.dsl.expression_analysis import DYNAMIC, Analysis, analyze_template
from cognitionos_dagster.dsl.expression_parser import analyze_fast
from cognitionos_dagster.errors import CognitionOSError

ROOT_NAMES = ("inputs", "steps", "run")
FOREACH_NAMES = ("item", "index")
CHECK_NAMES = ("value",)
"""Bound only in an asset's `expect` checks: the asset's value."""
RUN_KEYS = ("id", "workflow_id", "workflow_version")
STEP_KEYS = ("output", "status")

_UNSET: Any = object()


class ExpressionError(CognitionOSError):
    """An expression failed to parse, names something unknown, or failed while evaluating."""

    def __init__(self, message: str, *, expression: str, hint: str | None = None) -> None:
        self.expression = expression
        super().__init__(message, hint=hint)


class _Environment(ImmutableSandboxedEnvironment):
    """Mapping keys win over methods, so `steps.x.output.items` reads the key `items`, not `dict.items`."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


ENV = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HIDDEN = frozenset({*ENV.globals, "loop"})


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@lru_cache(maxsize=16384)
def analyze(text: str) -> Analysis:
    """What an expression string reads and whether the sandbox accepts it (cached by text)."""
    return analyze_fast(text, ENV.filters, ENV.tests, _HIDDEN) or analyze_template(ENV, text)


def check(
    text: str,
    *,
    names: Collection[str],
    steps: Collection[str] | None = None,
    inputs: Collection[str] | None = None,
) -> set[str]:
    """The step ids `text` references; raises ExpressionError saying what to change."""
    found = analyze(text)
    if found.error:
        raise ExpressionError(f"{found.error} in `{shown(text)}`", expression=text)
    for name in sorted(found.names):
        if name in names:
            continue
        if name in FOREACH_NAMES:
            raise ExpressionError(f"`{name}` is only bound in the input of a foreach step (`{text}`)", expression=text)
        if name in CHECK_NAMES:
            raise ExpressionError(f"`value` is only in scope inside an asset's `checks` (`{text}`); use the "
                                  "expression that computes it instead", expression=text)
        raise ExpressionError(
            f"unknown name `{name}` in `{text}`; names in scope: {', '.join(names)}", expression=text
        )
    refs: set[str] = set()
    for path in sorted(found.paths, key=str):
        _check_path(path, text, steps, inputs, refs)
    return refs


def _check_path(
    path: tuple[str, ...], text: str, steps: Collection[str] | None, inputs: Collection[str] | None, refs: set[str]
) -> None:
    root, rest = path[0], path[1:]
    if root == "steps":
        if not rest or rest[0] == DYNAMIC:
            raise ExpressionError(
                f"`steps` must be followed by a literal step id, e.g. steps.plan.output (`{text}`)", expression=text
            )
        if steps is not None and rest[0] not in steps:
            raise ExpressionError(
                f"`steps.{rest[0]}` names no step of this workflow{_known(rest[0], steps)} (`{text}`)",
                expression=text,
            )
        if len(rest) > 1 and rest[1] not in STEP_KEYS and rest[1] != DYNAMIC:
            raise ExpressionError(
                f"`steps.{rest[0]}.{rest[1]}`: a step has only `output` and `status` (`{text}`)", expression=text
            )
        refs.add(rest[0])
    elif root == "inputs" and rest and rest[0] != DYNAMIC and inputs is not None and rest[0] not in inputs:
        raise ExpressionError(
            f"`inputs.{rest[0]}` is not declared under `inputs:`{_known(rest[0], inputs)} (`{text}`)",
            expression=text,
        )
    elif root == "run" and rest and rest[0] != DYNAMIC and rest[0] not in RUN_KEYS:
        raise ExpressionError(
            f"`run.{rest[0]}` is unknown; run has {', '.join(RUN_KEYS)} (`{text}`)", expression=text
        )


def shown(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters for an error message (a refused expression may be kilobytes long)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _known(name: str, known: Collection[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"; did you mean `{close[0]}`?"
    return f"; known: {', '.join(sorted(known))}" if known else ""


def has_expression(value: Any) -> bool:
    """Whether any string inside a value (dicts and lists searched recursively) is an expression."""
    if isinstance(value, Mapping):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_expression(v) for v in value)
    return is_expression(value)


def referenced_steps(value: Any) -> set[str]:
    """Step ids named as `steps.<id>` anywhere in a value (dicts and lists searched recursively)."""
    if isinstance(value, str):
        if not is_expression(value):
            return set()
        return {p[1] for p in analyze(value).paths if p[0] == "steps" and len(p) > 1 and p[1] != DYNAMIC}
    if isinstance(value, Mapping):
        return set().union(*(referenced_steps(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(referenced_steps(v) for v in value))
    return set()


def scope_for(
    inputs: Mapping[str, Any],
    steps: Mapping[str, Mapping[str, Any]],
    run: Mapping[str, Any],
    item: Any = _UNSET,
    index: Any = _UNSET,
) -> dict[str, Any]:
    """The names an expression sees; `steps` maps id -> {"output": ..., "status": ...}."""
    scope: dict[str, Any] = {
        "inputs": dict(inputs),
        "steps": {sid: {"output": s.get("output"), "status": s.get("status")} for sid, s in steps.items()},
        "run": dict(run),
    }
    if item is not _UNSET:
        scope["item"] = item
    if index is not _UNSET:
        scope["index"] = index
    return scope


@lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> Any:
    return ENV.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compiled_template(text: str) -> Any:
    return ENV.from_string(text)


def _render_string(text: str, scope: Mapping[str, Any]) -> Any:
    found = analyze(text)
    if found.error:
        raise ExpressionError(f"{found.error} in `{shown(text)}`", expression=text)
    try:
        if found.exact is not None:
            result = _compiled_expression(found.exact)(**scope)
            if isinstance(result, Undefined):
                result._fail_with_undefined_error()
            return result
        return _compiled_template(text).render(**scope)
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise ExpressionError(f"cannot evaluate `{text}`: {exc}", expression=text) from exc


def render(value: Any, scope: Mapping[str, Any]) -> Any:
    """A value with every expression evaluated; dict keys and non-expression values are kept as they are."""
    if isinstance(value, str):
        return _render_string(value, scope) if is_expression(value) else value
    if isinstance(value, Mapping):
        return {k: render(v, scope) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, scope) for v in value]
    return value
