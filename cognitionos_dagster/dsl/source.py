"""YAML text -> plain data plus the position of every key and value.

The text is composed into nodes by libyaml's safe loader (pure-Python fallback when libyaml
is missing) and walked here, so nothing but plain scalars, lists and dicts is ever built: no
Python tags, no timestamps or bytes (those stay strings), no duplicate keys, no alias bombs.
Mapping keys are their source text (`on:` is the string "on", not YAML 1.1's True).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cognitionos_dagster.dsl.models import Position
from cognitionos_dagster.errors import SpecError

Path_ = tuple[str | int, ...]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_NATIVE = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_AS_TEXT = {f"{_TAG}timestamp", f"{_TAG}binary"}
MAX_NODES = 100_000
MAX_DEPTH = 64


@dataclass
class Source:
    """A parsed document: `data`, and 1-based positions of values and of mapping keys by path."""

    file: str
    data: Any = None
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    def at(self, path: Path_) -> Position:
        """The position of the deepest known node on `path` (the value, else its key, else the document)."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            found = self.values.get(prefix) or self.keys.get(prefix)
            if found is not None:
                return found
        return Position(file=self.file, line=1, column=1)

    def key_at(self, path: Path_) -> Position:
        return self.keys.get(path) or self.at(path)

    def error(self, path: Path_, message: str, *, key: bool = False) -> SpecError:
        pos = self.key_at(path) if key else self.at(path)
        return SpecError(message, file=pos.file, line=pos.line, column=pos.column)


def _mark_error(file: str, mark: Any, message: str) -> SpecError:
    if mark is None:
        return SpecError(message, file=file, line=1, column=1)
    return SpecError(message, file=file, line=mark.line + 1, column=mark.column + 1)


def parse_yaml(text: str, file: str) -> Source:
    """Parse one YAML document; raises SpecError at the offending mark."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise _mark_error(file, mark, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file=file, line=1, column=1) from None
    except ValueError as exc:  # e.g. unacceptable characters reported by the reader
        raise SpecError(f"YAML error: {exc}", file=file, line=1, column=1) from None
    source = Source(file)
    if root is None:
        raise SpecError("the file is empty; a workflow needs `id`, `version` and `steps`", file=file, line=1, column=1)
    walker = _Walker(loader, source)
    try:
        source.data = walker.walk(root, ())
    finally:
        loader.dispose()
    return source


class _Walker:
    def __init__(self, loader: Any, source: Source) -> None:
        self.loader = loader
        self.source = source
        self.count = 0
        self.active: set[int] = set()

    def _pos(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(file=self.source.file, line=mark.line + 1, column=mark.column + 1)

    def _fail(self, node: yaml.Node, message: str) -> SpecError:
        return _mark_error(self.source.file, node.start_mark, message)

    def walk(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(node, f"document too large (more than {MAX_NODES} values once aliases are expanded)")
        if len(path) > MAX_DEPTH:
            raise self._fail(node, f"nested more than {MAX_DEPTH} levels deep")
        self.source.values[path] = self._pos(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self.active:
            raise self._fail(node, "recursive YAML alias (an anchor that contains itself)")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != f"{_TAG}seq":
                    raise self._fail(node, f"unsupported YAML tag `{node.tag}`; use a plain list")
                return [self.walk(child, (*path, i)) for i, child in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in _AS_TEXT:
            return node.value
        if node.tag not in _NATIVE:
            raise self._fail(node, f"unsupported YAML tag `{node.tag}`; use plain strings, numbers, booleans, null")
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise self._fail(node, f"invalid {node.tag.removeprefix(_TAG)} value `{node.value}`: {exc}") from None

    def _mapping(self, node: yaml.Node, path: Path_) -> dict[str, Any]:
        if node.tag != f"{_TAG}map":
            raise self._fail(node, f"unsupported YAML tag `{node.tag}`; use a plain mapping")
        own = {id(k) for k, _ in node.value if k.tag != f"{_TAG}merge"}
        try:
            self.loader.flatten_mapping(node)
        except yaml.YAMLError as exc:
            raise self._fail(node, f"invalid YAML merge (<<): {getattr(exc, 'problem', exc)}") from None
        result: dict[str, Any] = {}
        first_own: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, "mapping keys must be plain strings")
            key = key_node.value
            if id(key_node) in own:
                if key in first_own:
                    line = first_own[key].start_mark.line + 1
                    raise self._fail(key_node, f"duplicate key `{key}` (first defined on line {line}); remove one")
                first_own[key] = key_node
            self.source.keys[(*path, key)] = self._pos(key_node)
            result[key] = self.walk(value_node, (*path, key))
        return result
