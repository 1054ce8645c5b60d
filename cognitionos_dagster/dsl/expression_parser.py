"""A small recursive-descent reader of jinja2 *expressions*, for load-time analysis only.

jinja2's own parser costs ~0.3 ms per expression, which dominates loading large spec folders.
This reader covers the expression grammar specs use (names, attribute/index access, literals,
arithmetic, comparisons, and/or/not, if-else, filters, `is` tests, calls) using jinja2's own
token regular expressions, and yields the same facts as the full walk. Anything outside that
subset, and anything it finds invalid, raises `Unsupported` so the caller falls back to jinja2,
which stays the authority on syntax and error messages. It never evaluates anything.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from jinja2.lexer import float_re, integer_re, operator_re, string_re

from cognitionos_dagster.dsl.expression_analysis import (
    ATTRIBUTE_FILTERS,
    DYNAMIC,
    PATH_ROOTS,
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

    # -- grammar, loosest binding first
    def expression(self) -> None:
        self.or_()
        if self.at("if"):
            self.take()
            self.or_()
            if self.at("else"):
                self.take()
                self.expression()

    def or_(self) -> None:
        self.and_()
        while self.at("or"):
            self.take()
            self.and_()

    def and_(self) -> None:
        self.not_()
        while self.at("and"):
            self.take()
            self.not_()

    def not_(self) -> None:
        if self.at("not"):
            self.take()
            self.not_()
            return
        self.compare()

    def compare(self) -> None:
        self.binary()
        while True:
            kind, value = self.peek()
            if (kind == "op" and value in _COMPARE) or self.at("in"):
                self.take()
            elif self.at("not") and self.tokens[self.pos + 1][1] == "in":
                self.pos += 2
            else:
                return
            self.binary()

    def binary(self) -> None:
        self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-", "~", "*", "/", "//", "%", "**"):
            self.take()
            self.unary()

    def unary(self) -> None:
        if self.peek()[0] == "op" and self.peek()[1] in ("-", "+"):
            self.take()
            self.unary()
            return
        self.primary()
        self.filters_and_tests()

    def primary(self) -> None:
        kind, value = self.take()
        if kind == "name":
            if value in _KEYWORDS:
                raise Unsupported(value)
            if value in _CONSTANTS:
                self.postfix(None)
            else:
                self.names.add(value)
                self.postfix(value)
        elif kind in ("string", "number"):
            while kind == "string" and self.peek()[0] == "string":
                self.take()
            self.postfix(None)
        elif value == "(":
            self.expression()
            self.expect(")")
            self.postfix(None)
        elif value == "[":
            self.sequence("]")
            self.postfix(None)
        else:
            raise Unsupported(value)

    def sequence(self, close: str) -> None:
        while not self.at(close):
            self.expression()
            if not self.at(close):
                self.expect(",")
        self.expect(close)

    def postfix(self, root: str | None) -> None:
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
                component = self.subscript()
            elif self.at("("):
                self.take()
                self.arguments()
                tracking = False
                continue
            else:
                break
            if tracking:
                chain.append(component)
        if root is not None:
            self.paths.add((root, *chain)[:3])

    def subscript(self) -> str:
        kind, value = self.peek()
        if kind == "string" and self.tokens[self.pos + 1][1] == "]":
            self.pos += 2
            text = value[1:-1]
            if "\\" in text:
                raise Unsupported(value)
            self.refuse(refusal(text) if is_private(text) else None)
            return text
        self.expression()
        self.expect("]")
        return DYNAMIC

    def arguments(self) -> list[str]:
        """Call arguments; returns the string constants passed (for attribute-taking filters)."""
        constants: list[str] = []
        while not self.at(")"):
            if self.peek()[0] == "name" and self.tokens[self.pos + 1][1] == "=":
                self.pos += 2
            kind, value = self.peek()
            if kind == "string" and self.tokens[self.pos + 1][1] in (",", ")"):
                if "\\" in value:
                    raise Unsupported(value)
                constants.append(value[1:-1])
            self.expression()
            if not self.at(")"):
                self.expect(",")
        self.expect(")")
        return constants

    def filters_and_tests(self) -> None:
        while True:
            if self.at("|"):
                self.take()
                kind, name = self.take()
                if kind != "name" or self.at("."):
                    raise Unsupported(name)
                self.refuse(None if name in self.filters else f"unknown filter `{name}`")
                args = self.arguments() if self.at("(") and self.take() else []
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
                if self.at("("):
                    self.take()
                    self.arguments()
                elif self.peek()[1] not in _TERMINATORS and self.peek()[0] != "end":
                    raise Unsupported("test argument")
            else:
                return


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
        tokens.append((_KINDS.get(kind, kind), value))  # type: ignore[arg-type]


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
