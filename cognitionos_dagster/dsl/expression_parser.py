"""A small recursive-descent reader of jinja2 *expressions*, for load-time analysis only.

jinja2's own parser dominates the cost of loading large spec folders (docs/benchmarks.md,
"Measurements behind the code").
This reader covers the expression grammar specs use (names, attribute/index access, literals,
arithmetic, comparisons, and/or/not, if-else, filters, `is` tests, calls) using jinja2's own
token regular expressions, and yields the same facts as the full walk. Anything outside that
subset, and anything it finds invalid, raises `Unsupported` so the caller falls back to jinja2,
which stays the authority on syntax and error messages. It never evaluates anything.

Each grammar method returns the height of the syntax tree jinja2 would build for what it read,
and the reader's own recursion is counted too: an expression nested deeper than `MAX_EXPRESSION_DEPTH` is
refused here, with a message, instead of exhausting Python's stack here or in jinja2's parser,
or compiling at run time into Python code with more nested parentheses than Python accepts.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from jinja2.lexer import float_re, integer_re, operator_re, string_re

from cognitionos_dagster.dsl.expression_analysis import (
    ATTRIBUTE_FILTERS,
    DYNAMIC,
    MAX_EXPRESSION_DEPTH,
    PATH_ROOTS,
    TOO_DEEP,
    Analysis,
    is_private,
    refusal,
)

_END = re.compile(r"-?\}\}")
_CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None"})
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else"})
_COMPARE = frozenset({"==", "!=", ">", ">=", "<", "<="})
_TERMINATORS = frozenset({")", "]", ",", "}}", "and", "or", "else", "if", *_COMPARE})


class Unsupported(Exception):
    """Outside the fast subset (or invalid): analyse with jinja2 instead."""


class TooDeep(Exception):
    """Nested deeper than MAX_EXPRESSION_DEPTH: refused whatever else the text holds."""


class Expression:
    """The facts of one `{{ ... }}` body: loaded names, root paths, and the first refusal if any."""

    def __init__(self, tokens: list[tuple[str, str]], filters: Collection[str], tests: Collection[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.filters = filters
        self.tests = tests
        self.names: set[str] = set()
        self.paths: set[tuple[str, ...]] = set()
        self.error: str | None = None
        self.depth = 0  # how deeply `expression` is nested in itself (parentheses, brackets, arguments)

    # -- token helpers
    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, value: str) -> bool:
        return self.tokens[self.pos][1] == value and self.tokens[self.pos][0] in ("op", "name", "end")

    def expect(self, value: str) -> None:
        if not self.at(value):
            raise Unsupported(value)
        self.pos += 1

    def refuse(self, message: str | None) -> None:
        if message and self.error is None:
            self.error = message

    # -- grammar, loosest binding first; each method returns the height of the tree it read
    def nested(self, height: int) -> int:
        """`height` checked against the limit (a tree that tall compiles into as deeply nested code)."""
        if height > MAX_EXPRESSION_DEPTH:
            raise TooDeep
        return height

    def expression(self) -> int:
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:  # parentheses and brackets nest the reader, not the tree
            raise TooDeep
        height = self.or_()
        if self.at("if"):
            self.take()
            height = max(height, self.or_())
            if self.at("else"):
                self.take()
                height = max(height, self.expression())
            height = self.nested(height + 1)
        self.depth -= 1
        return height

    def or_(self) -> int:
        height = self.and_()
        while self.at("or"):
            self.take()
            height = self.nested(max(height, self.and_()) + 1)
        return height

    def and_(self) -> int:
        height = self.not_()
        while self.at("and"):
            self.take()
            height = self.nested(max(height, self.not_()) + 1)
        return height

    def not_(self) -> int:
        nots = 0
        while self.at("not"):
            self.take()
            nots += 1
        return self.nested(self.compare() + nots)

    def compare(self) -> int:
        height = self.binary()
        while True:
            kind, value = self.peek()
            if (kind == "op" and value in _COMPARE) or self.at("in"):
                self.take()
            elif self.at("not") and self.tokens[self.pos + 1][1] == "in":
                self.pos += 2
            else:
                return height
            height = self.nested(max(height, self.binary()) + 1)

    def binary(self) -> int:
        height = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-", "~", "*", "/", "//", "%", "**"):
            self.take()
            height = self.nested(max(height, self.unary()) + 1)
        return height

    def unary(self) -> int:
        signs = 0
        while self.peek()[0] == "op" and self.peek()[1] in ("-", "+"):
            self.take()
            signs += 1
        height = self.nested(self.primary() + signs)
        return self.filters_and_tests(height)

    def primary(self) -> int:
        kind, value = self.take()
        if kind == "name":
            if value in _KEYWORDS:
                raise Unsupported(value)
            if value in _CONSTANTS:
                return self.postfix(None, 1)
            self.names.add(value)
            return self.postfix(value, 1)
        if kind in ("string", "number"):
            while kind == "string" and self.peek()[0] == "string":
                self.take()
            return self.postfix(None, 1)
        if value == "(":
            height = self.expression()
            self.expect(")")
            return self.postfix(None, height)
        if value == "[":
            return self.postfix(None, self.sequence("]") + 1)
        raise Unsupported(value)

    def sequence(self, close: str) -> int:
        height = 0
        while not self.at(close):
            height = max(height, self.expression())
            if not self.at(close):
                self.expect(",")
        self.expect(close)
        return height

    def postfix(self, root: str | None, height: int) -> int:
        chain: list[str] = []
        tracking = root is not None
        while True:
            if self.at("."):
                self.take()
                kind, value = self.take()
                if kind == "number" and value.isdigit():
                    component = DYNAMIC
                elif kind == "name":
                    self.refuse(refusal(value) if is_private(value) else None)
                    component = value
                else:
                    raise Unsupported(value)
            elif self.at("["):
                self.take()
                component, inner = self.subscript()
                height = max(height, inner)
            elif self.at("("):
                self.take()
                height = self.nested(max(height, self.arguments()[1]) + 1)
                tracking = False
                continue
            else:
                break
            height = self.nested(height + 1)
            if tracking:
                chain.append(component)
        if root is not None:
            self.paths.add((root, *chain)[:3])
        return height

    def subscript(self) -> tuple[str, int]:
        """The path component (DYNAMIC unless a plain string) and the height of the index."""
        kind, value = self.peek()
        if kind == "string" and self.tokens[self.pos + 1][1] == "]":
            self.pos += 2
            text = value[1:-1]
            if "\\" in text:
                raise Unsupported(value)
            self.refuse(refusal(text) if is_private(text) else None)
            return text, 1
        height = self.expression()
        self.expect("]")
        return DYNAMIC, height

    def arguments(self) -> tuple[list[str], int]:
        """Call arguments: the string constants passed (for attribute-taking filters) and the tallest one."""
        constants: list[str] = []
        height = 0
        while not self.at(")"):
            if self.peek()[0] == "name" and self.tokens[self.pos + 1][1] == "=":
                self.pos += 2
            kind, value = self.peek()
            if kind == "string" and self.tokens[self.pos + 1][1] in (",", ")"):
                if "\\" in value:
                    raise Unsupported(value)
                constants.append(value[1:-1])
            height = max(height, self.expression())
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return constants, height

    def filters_and_tests(self, height: int) -> int:
        while True:
            if self.at("|"):
                self.take()
                kind, name = self.take()
                if kind != "name" or self.at("."):
                    raise Unsupported(name)
                self.refuse(None if name in self.filters else f"unknown filter `{name}`")
                args, inner = self.arguments() if self.at("(") and self.take() else ([], 0)
                if name in ATTRIBUTE_FILTERS:
                    self.refuse(next((refusal(a) for a in args if a.startswith("_")), None))
            elif self.at("is"):
                self.take()
                if self.at("not"):
                    self.take()
                kind, name = self.take()
                if kind != "name" or name in _KEYWORDS - {"in"}:
                    raise Unsupported(name)
                self.refuse(None if name in self.tests else f"unknown test `{name}`")
                inner = 0
                if self.at("("):
                    self.take()
                    inner = self.arguments()[1]
                elif self.peek()[1] not in _TERMINATORS and self.peek()[0] != "end":
                    raise Unsupported("test argument")
            else:
                return height
            height = self.nested(max(height, inner) + 1)


# One alternation of jinja2's own token patterns, in jinja2's order (scoped flags keep theirs), after
# the end marker. `}` alone is refused below, so `}}` can only end the expression (no dict literals).
_TOKEN = re.compile(
    rf"(?P<end>-?\}}\}})|(?P<space>\s+)|(?P<float>(?ix:{float_re.pattern}))|(?P<int>(?ix:{integer_re.pattern}))"
    rf"|(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)|(?P<string>(?s:{string_re.pattern}))|(?P<op>{operator_re.pattern})"
)
_KINDS = {"float": "number", "int": "number"}
_REFUSED_OPS = frozenset({"{", "}", ";", ":"})


def tokenize(text: str, pos: int) -> tuple[list[tuple[str, str]], int]:
    """Tokens of one `{{ ... }}` body starting after `{{` (and its `-`), up to and including the end."""
    tokens: list[tuple[str, str]] = []
    match_at = _TOKEN.match
    while True:
        match = match_at(text, pos)
        if match is None:
            raise Unsupported(text[pos : pos + 1] or "unterminated")
        kind = match.lastgroup
        pos = match.end()
        if kind == "end":
            tokens.append(("end", "}}"))
            return tokens, pos
        if kind == "space":
            continue
        value = match.group()
        if kind == "op" and value in _REFUSED_OPS:
            raise Unsupported(value)
        assert kind is not None  # every alternative of _TOKEN is a named group
        tokens.append((_KINDS.get(kind, kind), value))


def analyze_fast(
    text: str, filters: Collection[str], tests: Collection[str], hidden: Collection[str]
) -> Analysis | None:
    """The analysis of a string of literal text and `{{ ... }}` expressions; None when jinja2 must decide.

    `hidden` are names that are not free (jinja2's globals such as `range`, and `loop`).
    """
    if "{%" in text or "{#" in text:
        return None
    names: set[str] = set()
    paths: set[tuple[str, ...]] = set()
    error: str | None = None
    pos, count, exact = 0, 0, None
    while (start := text.find("{{", pos)) >= 0:
        body = start + 3 if text.startswith(("-", "+"), start + 2) else start + 2
        try:
            tokens, pos = tokenize(text, body)
            expr = Expression(tokens, filters, tests)
            expr.expression()
            expr.expect("}}")
        except TooDeep:
            return Analysis(error=TOO_DEEP)
        except (Unsupported, IndexError):
            return None
        count += 1
        names |= expr.names
        paths |= expr.paths
        error = error or expr.error
        if count == 1 and not text[:start].strip():
            exact = text[start + 2 : pos].rstrip()[:-2].strip("-+ \t\r\n")
    if count == 0:
        return None
    if error:
        return Analysis(error=error)
    free = frozenset(names.difference(hidden))
    return Analysis(
        names=free,
        paths=frozenset(p for p in paths if p[0] in PATH_ROOTS and p[0] in free),
        exact=exact if count == 1 and not text[pos:].strip() else None,
    )
