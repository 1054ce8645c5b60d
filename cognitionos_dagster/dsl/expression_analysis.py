"""A static walk over jinja2's syntax tree: what an expression reads and what the sandbox would refuse.

Refusing at load time what the sandbox would only refuse at run time (private attributes,
imports, unknown filters) turns a failed run hours later into a lint error with a position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import TemplateError, nodes
from jinja2.environment import Environment
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_FUNCTION_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    UNSAFE_METHOD_ATTRIBUTES,
)

DYNAMIC = "*"  # a path component computed at run time (`steps[name]`)
# How deeply an expression may nest (parentheses, operators, attribute and filter chains). Real
# expressions stay under 10; jinja2 compiles each level into nested Python code, and Python refuses
# more than 200 nested parentheses at run time, while parsing it costs ~13 stack frames a level.
MAX_EXPRESSION_DEPTH = 32
TOO_DEEP = f"expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep; split it into steps or simplify it"
# Under the template and its output node, the deepest node of a `{{ ... }}` of height h is at depth h + 1.
_TEMPLATE_LEVELS = 1
PATH_ROOTS = frozenset({"inputs", "steps", "run"})
_UNSAFE = (
    UNSAFE_FUNCTION_ATTRIBUTES
    | UNSAFE_METHOD_ATTRIBUTES
    | UNSAFE_GENERATOR_ATTRIBUTES
    | UNSAFE_COROUTINE_ATTRIBUTES
    | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
    | {"mro", "format", "format_map"}
)
_FORBIDDEN = {
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Block: "{% block %}",
}
ATTRIBUTE_FILTERS = frozenset({"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique",
                                "min", "max"})


@dataclass(frozen=True)
class Analysis:
    """The static facts of one expression string; `error` set means the sandbox refuses it."""

    names: frozenset[str] = frozenset()
    paths: frozenset[tuple[str, ...]] = frozenset()  # (root, first, second) for inputs/steps/run
    exact: str | None = None  # the inner source when the string is exactly one `{{ ... }}`
    error: str | None = None


@dataclass
class _Walk:
    env: Environment
    loaded: set[str] = field(default_factory=set)
    stored: set[str] = field(default_factory=set)
    paths: set[tuple[str, ...]] = field(default_factory=set)
    error: str | None = None

    def visit(self, node: nodes.Node, chain: tuple[str, ...] | None, depth: int = 0) -> None:
        """`chain` is the attribute path below `node` when node is the object of a Getattr/Getitem."""
        if self.error:
            return
        if depth > MAX_EXPRESSION_DEPTH + _TEMPLATE_LEVELS:
            self.error = TOO_DEEP
            return
        problem = self._problem(node)
        if problem:
            self.error = problem
            return
        if isinstance(node, nodes.Name):
            self._name(node, chain)
            return
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            self.visit(node.node, (_component(node), *(chain or ())), depth + 1)
            if isinstance(node, nodes.Getitem):
                self.visit(node.arg, None, depth + 1)
            return
        for child in node.iter_child_nodes():
            self.visit(child, None, depth + 1)

    def _name(self, node: nodes.Name, chain: tuple[str, ...] | None) -> None:
        if node.ctx != "load":
            self.stored.add(node.name)
            return
        self.loaded.add(node.name)
        if node.name in PATH_ROOTS:
            self.paths.add((node.name, *(chain or ()))[:3])

    def _problem(self, node: nodes.Node) -> str | None:
        forbidden = next((text for kind, text in _FORBIDDEN.items() if isinstance(node, kind)), None)
        if forbidden:
            return f"{forbidden} is not allowed in expressions"
        if isinstance(node, nodes.Getattr) and is_private(node.attr):
            return refusal(node.attr)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and is_private(node.arg.value):
            return refusal(node.arg.value)
        if isinstance(node, nodes.Filter | nodes.Test):
            return self._filter_problem(node)
        return None

    def _filter_problem(self, node: nodes.Filter | nodes.Test) -> str | None:
        table, what = (self.env.filters, "filter") if isinstance(node, nodes.Filter) else (self.env.tests, "test")
        if node.name not in table:
            return f"unknown {what} `{node.name}`"
        if node.name in ATTRIBUTE_FILTERS:
            for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
                if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_"):
                    return refusal(arg.value)
        return None


def is_private(name: object) -> bool:
    return isinstance(name, str) and (name.startswith("_") or name in _UNSAFE)


def refusal(name: str) -> str:
    return f"access to `{name}` is not allowed (private or internal attribute)"


def _component(node: nodes.Getattr | nodes.Getitem) -> str:
    if isinstance(node, nodes.Getattr):
        return node.attr
    arg = node.arg
    return arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else DYNAMIC


def _exact_source(template: nodes.Template, text: str) -> str | None:
    """The inner source when the string is one `{{ ... }}` (surrounding whitespace ignored), else None."""
    body = template.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output):
        return None
    parts = [n for n in body[0].nodes if not (isinstance(n, nodes.TemplateData) and not n.data.strip())]
    if len(parts) != 1 or isinstance(parts[0], nodes.TemplateData):
        return None
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return stripped[2:-2].strip("-+ \t\r\n")
    return None


def analyze_template(env: Environment, text: str) -> Analysis:
    """Parse with jinja2 and walk the tree; syntax errors come back as `Analysis.error`."""
    try:
        template = env.parse(text)
    except TemplateError as exc:
        return Analysis(error=f"expression syntax error: {getattr(exc, 'message', None) or exc}")
    except RecursionError:  # jinja2's parser recurses ~13 frames per level of nesting
        return Analysis(error=TOO_DEEP)
    walk = _Walk(env)
    walk.visit(template, None)
    if walk.error:
        return Analysis(error=walk.error)
    free = walk.loaded - walk.stored - set(env.globals) - {"loop"}
    return Analysis(
        names=frozenset(free),
        paths=frozenset(p for p in walk.paths if p[0] in free),
        exact=_exact_source(template, text),
    )
