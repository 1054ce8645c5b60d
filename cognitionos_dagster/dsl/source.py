"""YAML text -> plain data plus the position of every key and value.

The text is read as a stream of parse events from libyaml's safe parser (pure-Python fallback
when libyaml is missing) and the data is built here, so nothing but plain scalars, lists and
dicts ever exists: no Python tags, no timestamps or bytes (those stay strings), no duplicate
keys, no alias bombs, and no value the registry could not store as JSON in PostgreSQL (a NUL
character or a lone surrogate in a string, an infinite or NaN number). Plain scalars are
resolved with the same YAML 1.1 rules as SafeLoader; mapping keys are their source text (`on:`
is the string "on", not True). Building from events instead of composed nodes halves the cost
of the YAML stage, which dominates loading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from cognitionos_dagster.dsl.models import Position
from cognitionos_dagster.errors import SpecError

Path_ = tuple[str | int, ...]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_AS_TEXT = {f"{_TAG}timestamp", f"{_TAG}binary", f"{_TAG}str", f"{_TAG}value", "!"}
_RESOLVERS = yaml.SafeLoader.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_BUILD = {
    f"{_TAG}null": lambda text: None,
    f"{_TAG}bool": lambda text: _CONSTRUCTOR.bool_values[text.lower()],
    f"{_TAG}int": lambda text: _CONSTRUCTOR.construct_yaml_int(yaml.ScalarNode(f"{_TAG}int", text)),
    f"{_TAG}float": lambda text: _CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(f"{_TAG}float", text)),
}
MAX_NODES = 100_000
MAX_DEPTH = 64
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL text and jsonb refuse both


def unstorable(value: Any, written: str) -> str | None:
    """Why a scalar could not be stored as JSON in PostgreSQL, or None; `written` is its source text."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return None
        if found.group() == "\x00":
            return "a string may not contain the NUL character (\\0); remove it"
        return f"a string may not contain U+{ord(found.group()):04X} (a lone surrogate, not a character); remove it"
    if isinstance(value, float) and not math.isfinite(value):
        return f"`{written}` is not a finite number, which JSON cannot hold; use a finite number"
    return None


@dataclass
class Source:
    """A parsed document: `data`, and 1-based positions of values and of mapping keys by path."""

    file: str
    data: Any = None
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path_) -> Position:
        """The position of the deepest known node on `path` (the value, else its key, else the document)."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            found = self.values.get(prefix) or self.keys.get(prefix)
            if found is not None:
                return Position(file=self.file, line=found[0], column=found[1])
        return Position(file=self.file, line=1, column=1)

    def key_at(self, path: Path_) -> Position:
        found = self.keys.get(path)
        return Position(file=self.file, line=found[0], column=found[1]) if found else self.at(path)

    def error(self, path: Path_, message: str, *, key: bool = False) -> SpecError:
        pos = self.key_at(path) if key else self.at(path)
        return SpecError(message, file=pos.file, line=pos.line, column=pos.column)


class LazySource(Source):
    """Positions read on first use: a spec from the cache needs them only to report a cross-file error."""

    def __init__(self, file: str, read: Callable[[], str]) -> None:
        super().__init__(file)
        self._read: Callable[[], str] | None = read

    def _parse(self) -> None:
        if self._read is not None:
            parsed = parse_yaml(self._read(), self.file)
            self.data, self.values, self.keys, self._read = parsed.data, parsed.values, parsed.keys, None

    def at(self, path: Path_) -> Position:
        self._parse()
        return super().at(path)

    def key_at(self, path: Path_) -> Position:
        self._parse()
        return super().key_at(path)


def _mark_error(file: str, mark: Any, message: str) -> SpecError:
    line, column = _position(mark)
    return SpecError(message, file=file, line=line, column=column)


def _position(mark: Any) -> tuple[int, int]:
    """1-based line and column of a YAML mark; events built without one count as the file's start."""
    return (1, 1) if mark is None else (mark.line + 1, mark.column + 1)


def parse_yaml(text: str, file: str) -> Source:
    """Parse one YAML document; raises SpecError at the offending mark."""
    source = Source(file)
    builder = _Builder(source)
    try:
        builder.run(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise _mark_error(file, mark, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        code = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
        raise SpecError(f"YAML error: character U+{code:04X} is not allowed in YAML; remove it", file=file,
                        line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file=file, line=1, column=1) from None
    except ValueError as exc:  # e.g. unacceptable characters reported by the reader
        raise SpecError(f"YAML error: {exc}", file=file, line=1, column=1) from None
    if not builder.documents:
        raise SpecError("the file is empty; a workflow needs `id`, `version` and `steps`", file=file, line=1, column=1)
    return source


@dataclass
class _Anchor:
    value: Any
    path: Path_
    first_entry: int
    last_entry: int
    size: int


class _Builder:
    """Builds data from parse events, recording every value's and key's position by path."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.entries: list[tuple[bool, Path_, tuple[int, int]]] = []  # (is_key, path, (line, column))
        self.anchors: dict[str, _Anchor] = {}
        self.count = 0
        self.documents = 0

    def _fail(self, event: Any, message: str) -> SpecError:
        return _mark_error(self.source.file, event.start_mark, message)

    def run(self, events: Iterator[Any]) -> None:
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise self._fail(event, "more than one YAML document (---); put one workflow per file")
            elif isinstance(event, yaml.NodeEvent):
                self.source.data = self.node(event, events, ())
        for is_key, path, pos in self.entries:
            (self.source.keys if is_key else self.source.values)[path] = pos

    def node(self, event: Any, events: Iterator[Any], path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(event, f"document too large (more than {MAX_NODES} values once aliases are expanded)")
        if len(path) > MAX_DEPTH:
            raise self._fail(event, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, path)
        first, size_before = len(self.entries), self.count
        self.entries.append((False, path, _position(event.start_mark)))
        if isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            self.check_tag(event, "seq", "a plain list")
            value = self.sequence(events, path)
        else:
            self.check_tag(event, "map", "a plain mapping")
            value = self.mapping(events, path)
        if event.anchor:
            self.anchors[event.anchor] = _Anchor(value, path, first, len(self.entries), self.count - size_before + 1)
        return value

    def check_tag(self, event: Any, kind: str, instead: str) -> None:
        if event.tag not in (None, "!", f"{_TAG}{kind}"):
            raise self._fail(event, f"unsupported YAML tag `{event.tag}`; use {instead}")

    def scalar(self, event: Any) -> Any:
        value = self.resolve(event)
        problem = unstorable(value, event.value)
        if problem:
            raise self._fail(event, problem)
        return value

    def resolve(self, event: Any) -> Any:
        text, tag = event.value, event.tag
        if tag is None and event.implicit[0]:
            for resolved, regexp in _RESOLVERS.get(text[:1], ()):
                if regexp.match(text):
                    tag = resolved
                    break
            else:
                return text
        if tag is None or tag in _AS_TEXT:
            return text
        build = _BUILD.get(tag)
        if build is None:
            message = f"unsupported YAML tag `{tag}`; use plain strings, numbers, booleans, null"
            raise self._fail(event, "`<<` merges need a mapping" if tag == f"{_TAG}merge" else message)
        try:
            return build(text)
        except (yaml.YAMLError, ValueError, KeyError, OverflowError) as exc:
            raise self._fail(event, f"invalid {tag.removeprefix(_TAG)} value `{text}`: {exc}") from None

    def sequence(self, events: Iterator[Any], path: Path_) -> list[Any]:
        items: list[Any] = []
        for event in events:
            if isinstance(event, yaml.SequenceEndEvent):
                return items
            items.append(self.node(event, events, (*path, len(items))))
        raise self.source.error(path, "unterminated list")  # the parser reports this first

    def mapping(self, events: Iterator[Any], path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines: dict[str, int] = {}
        merges: list[tuple[Any, Path_]] = []
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            if not isinstance(key_event, yaml.ScalarEvent):
                raise self._fail(key_event, "mapping keys must be plain strings; if this is an expression, quote "
                                 "the whole value: \"{{ ... }}\"")
            key = key_event.value
            problem = unstorable(key, key)
            if problem:
                raise self._fail(key_event, problem)
            value_event = next(events)
            if key == "<<" and key_event.implicit[0] and key_event.tag is None:
                merges.append((value_event, path))
                continue
            if key in lines:
                raise self._fail(key_event, f"duplicate key `{key}` (first defined on line {lines[key]}); remove one")
            line, column = _position(key_event.start_mark)
            lines[key] = line
            self.entries.append((True, (*path, key), (line, column)))
            result[key] = self.node(value_event, events, (*path, key))
        for value_event, at in merges:
            self.merge(value_event, events, at, result)
        return result

    def merge(self, event: Any, events: Iterator[Any], path: Path_, into: dict[str, Any]) -> None:
        """YAML merge keys: explicit keys win, then earlier merged mappings over later ones."""
        sources: list[Any] = []
        if isinstance(event, yaml.SequenceStartEvent):
            for item in events:
                if isinstance(item, yaml.SequenceEndEvent):
                    break
                sources.append(item)
        else:
            sources = [event]
        for item in sources:
            if not isinstance(item, yaml.AliasEvent) or item.anchor not in self.anchors:
                raise self._fail(item, "`<<` merges need an alias of a mapping defined earlier (<<: *name)")
            anchor = self.anchors[item.anchor]
            if not isinstance(anchor.value, dict):
                raise self._fail(item, "`<<` merges need a mapping")
            self.count += anchor.size
            for key, value in anchor.value.items():
                if key not in into:
                    into[key] = value
                    self.copy_positions(anchor, (*anchor.path, key), (*path, key))

    def alias(self, event: Any, path: Path_) -> Any:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise self._fail(event, f"alias *{event.anchor} refers to itself or to an anchor not defined before it")
        self.count += anchor.size
        if self.count > MAX_NODES:
            raise self._fail(event, f"document too large (more than {MAX_NODES} values once aliases are expanded)")
        self.copy_positions(anchor, anchor.path, path)
        return anchor.value

    def copy_positions(self, anchor: _Anchor, old: Path_, new: Path_) -> None:
        cut = len(old)
        for is_key, at, pos in self.entries[anchor.first_entry : anchor.last_entry]:
            if at[:cut] == old:
                self.entries.append((is_key, (*new, *at[cut:]), pos))
