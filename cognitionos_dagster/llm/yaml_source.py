"""Resource YAML files (models, agents, quality policies) with the line of every value.

Users edit these files by hand, so a mistake is reported as `file:line: what to change`.
Parsing is the DSL's safe, position-keeping loader (`dsl.source.parse_yaml`); this adapter
turns its positions into ConfigErrors and maps pydantic error locations back to lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cognitionos_dagster.dsl.source import Source, parse_yaml
from cognitionos_dagster.errors import ConfigError, SpecError


@dataclass
class YamlSource:
    path: Path
    source: Source

    @property
    def data(self) -> Any:
        return self.source.data

    def line(self, loc: tuple[Any, ...] = ()) -> int:
        """The line of `loc`, or of its nearest ancestor the file spells out."""
        return self.source.at(tuple(loc)).line

    def error(self, message: str, loc: tuple[Any, ...] = (), *, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line(loc)}: {message}", hint=hint)

    def validation_error(
        self, exc: ValidationError, *, prefix: tuple[Any, ...] = (), hint: str | None = None
    ) -> ConfigError:
        """The first pydantic error, placed at its line; the rest are counted, not dropped silently."""
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "<document>"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return self.error(f"{where}: {first['msg']}{more}", prefix + tuple(first["loc"]), hint=hint)


def load_yaml_source(path: Path) -> YamlSource:
    """Parse with the safe loader; a syntax error (or an empty file) names its line too."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    if not text.strip():
        raise ConfigError(f"{path}:1: the file is empty", hint="write a YAML mapping or delete the file")
    try:
        return YamlSource(path=path, source=parse_yaml(text, str(path)))
    except SpecError as exc:
        raise ConfigError(f"{path}:{exc.line or 1}: {exc.message}", hint=exc.hint) from exc
