"""Resource YAML files (models, agents, quality policies) loaded with the line of every value.

Users edit these files by hand, so a mistake must be reported as `file:line: what to change`;
pydantic's error locations are mapped back to lines through the composed YAML nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cognitionos_dagster.errors import ConfigError

Key = str | int


@dataclass
class YamlSource:
    """Plain data plus the 1-based line where each path (tuple of keys/indexes) starts."""

    path: Path
    data: Any
    lines: dict[tuple[Key, ...], int] = field(default_factory=dict)

    def line(self, loc: tuple[Any, ...] = ()) -> int:
        """The line of `loc`, or of its nearest ancestor the file spells out."""
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)

    def error(self, message: str, loc: tuple[Any, ...] = (), *, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line(loc)}: {message}", hint=hint)

    def validation_error(
        self, exc: ValidationError, *, prefix: tuple[Any, ...] = (), hint: str | None = None
    ) -> ConfigError:
        """The first pydantic error, placed at its line; the rest are counted, not dropped silently."""
        errors = exc.errors()
        first = errors[0]
        loc = prefix + tuple(first["loc"])
        where = ".".join(str(p) for p in first["loc"]) or "<document>"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return self.error(f"{where}: {first['msg']}{more}", loc, hint=hint)


def _walk(node: yaml.Node, path: tuple[Key, ...], lines: dict[tuple[Key, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load_yaml_source(path: Path) -> YamlSource:
    """Parse with the safe loader only; a syntax error names its line too."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}", hint="fix the YAML syntax") from exc
    lines: dict[tuple[Key, ...], int] = {}
    data = _walk(node, (), lines) if node is not None else None
    return YamlSource(path=path, data=data, lines=lines)
