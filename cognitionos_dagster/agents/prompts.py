"""Versioned prompt templates, resources/prompts/<role>/v<N>.md, rendered in jinja2's sandbox.

Prompts are user-editable data, so they get the same sandbox as workflow expressions: no
access to Python internals, and an undefined name is an error rather than an empty string.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from cognitionos_dagster.errors import ConfigError

_VERSION = re.compile(r"^v([1-9][0-9]*)\.md$")
NAMES_HINT = "prompts see: role, description, input, context, output_schema, allowed_tools"


class PromptLibrary:
    def __init__(self, resources_dir: Path) -> None:
        self.root = resources_dir / "prompts"
        self._env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                         trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
        self._cache: dict[tuple[Path, float], jinja2.Template] = {}
        self._lock = threading.Lock()

    def versions(self, role: str) -> list[str]:
        folder = self.root / role
        found = [int(m.group(1)) for p in folder.glob("v*.md") if (m := _VERSION.match(p.name))]
        return [f"v{n}" for n in sorted(found)]

    def resolve(self, role: str, version: str) -> str:
        """`latest` becomes the highest v<N> present; any other version must exist."""
        versions = self.versions(role)
        if version == "latest":
            if not versions:
                raise ConfigError(f"no prompts for role {role!r} in {self.root / role}",
                                  hint=f"write {self.root / role / 'v1.md'}")
            return versions[-1]
        if version not in versions:
            raise ConfigError(f"prompt {role}/{version}.md does not exist (have: {', '.join(versions) or 'none'})",
                              hint=f"write {self.root / role / (version + '.md')} or change prompt_version")
        return version

    def _template(self, path: Path) -> jinja2.Template:
        key = (path, path.stat().st_mtime)
        with self._lock:
            template = self._cache.get(key)
        if template is None:
            try:
                template = self._env.from_string(path.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(f"{path}:{exc.lineno}: prompt template error: {exc.message}",
                                  hint="fix the jinja2 syntax of the prompt") from exc
            with self._lock:
                self._cache[key] = template
        return template

    def render(self, role: str, version: str, variables: dict[str, Any]) -> tuple[str, str]:
        """(text, resolved version). Rendering errors name the prompt file."""
        resolved = self.resolve(role, version)
        path = self.root / role / f"{resolved}.md"
        try:
            text = self._template(path).render(**variables)
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"{path}: prompt uses an unknown name: {exc.message}",
                              hint=NAMES_HINT) from exc
        except jinja2.exceptions.SecurityError as exc:
            raise ConfigError(f"{path}: prompt tried an unsafe operation: {exc}",
                              hint="prompts may only read the values they are given") from exc
        return text.strip() + "\n", resolved
