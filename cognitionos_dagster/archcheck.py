"""The architecture checker behind `cognos arch`: imports must point down the layer table.

DESIGN.md promises that the domain is plain Python, testable without Dagster, and that
Dagster glue stays thin. This module turns that promise into a check that reads the
source with `ast` (nothing is imported, so a broken module cannot hide a violation):
every `import` counts, at module level, inside functions and under `if TYPE_CHECKING:`,
as do `importlib.import_module("...")` calls with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

PACKAGE = "cognitionos_dagster"

# Rank of each layer, high imports low. Domain packages share one band, ordered inside it.
BASE = ("settings", "errors", "archcheck")
DOMAIN = ("tracing", "llm", "memory", "tools", "quality", "agents", "metrics")
LAYERS: dict[str, float] = {
    "cli": 8,
    "defs": 7,
    "definitions": 7,  # the code location's lazy root belongs with the Dagster glue
    "compiler": 6,
    "integrations": 5,
    **{name: 4 + i / 10 for i, name in enumerate(DOMAIN)},
    "dsl": 3,
    "db": 2,
    **{name: 1 for name in BASE},
    "": 0,  # the package itself (`import cognitionos_dagster`)
}
NO_DAGSTER = frozenset({*DOMAIN, "dsl", "db", *BASE})
# The one module allowed to import Dagster's private modules (`dagster._...`).
DAGSTER_PRIVATE = f"{PACKAGE}.defs.dagster_private"


@dataclass(frozen=True)
class Violation:
    """One import (or file) that breaks the layer table."""

    file: str
    line: int
    importer: str
    imported: str
    module: str
    rule: str

    def __str__(self) -> str:
        if self.rule == "unknown-layer":
            return f"{self.file}:{self.line}: {self.importer} is not in the layer table (add it to archcheck.LAYERS)"
        if self.rule == "dagster-private":
            return (f"{self.file}:{self.line}: {self.module} is private to Dagster; use `dagster` or "
                    f"take it from {DAGSTER_PRIVATE}")
        if self.rule == "data-only":
            return f"{self.file}:{self.line}: resources/ holds data only ({self.module}); remove it"
        return f"{self.file}:{self.line}: {self.importer} imports {self.imported} ({self.module})"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    violations: list[Violation]
    modules: int
    imports: int

    @property
    def ok(self) -> bool:
        return not self.violations


def layer_of(module: str) -> str | None:
    """The layer a dotted module of the package belongs to; None for unknown sub-packages."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    name = parts[1] if len(parts) > 1 else ""
    return name if name in LAYERS else None


def may_import(importer: str, imported: str) -> bool:
    """Same rank or lower; inside the domain only packages to the left (each has its own rank)."""
    return LAYERS[imported] <= LAYERS[importer]


def _module_name(path: Path, package_root: Path) -> str:
    rel = path.relative_to(package_root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything the tree imports, wherever the import sits."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_relative(node, module, is_package) if node.level else (node.module or "")
            if target == PACKAGE:  # `from cognitionos_dagster import db` names sub-packages
                for alias in node.names:
                    yield node.lineno, f"{PACKAGE}.{alias.name}"
            else:
                yield node.lineno, target
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("import_module", "__import__")


def check_file(path: Path, package_root: Path, shown_as: str) -> tuple[list[Violation], int]:
    module = _module_name(path, package_root)
    importer = layer_of(module)
    if importer is None:
        return [Violation(shown_as, 1, module.split(".")[1], "", module, "unknown-layer")], 0
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Violation] = []
    count = 0
    for line, name in imported_modules(tree, module, path.name == "__init__.py"):
        count += 1
        top = name.split(".")[0]
        if top == "dagster" or top.startswith("dagster_"):
            if importer in NO_DAGSTER:
                found.append(Violation(shown_as, line, importer, "dagster", name, "no-dagster"))
            elif name.startswith("dagster._") and module != DAGSTER_PRIVATE:
                found.append(Violation(shown_as, line, importer, "dagster", name, "dagster-private"))
        elif top == "resources":
            found.append(Violation(shown_as, line, importer, "resources", name, "data-only-import"))
        elif top == PACKAGE:
            imported = layer_of(name)
            if imported is None:
                found.append(Violation(shown_as, line, importer, "an unknown layer", name, "unknown-import"))
            elif not may_import(importer, imported):
                found.append(Violation(shown_as, line, importer, imported, name, "layer"))
    return found, count


def check_tree(root: Path) -> Report:
    """Check `<root>/cognitionos_dagster` and `<root>/resources`; paths are shown relative to root."""
    package_root = root / PACKAGE
    violations: list[Violation] = []
    modules = imports = 0
    for path in sorted(package_root.rglob("*.py")):
        found, count = check_file(path, package_root, path.relative_to(root).as_posix())
        violations += found
        modules += 1
        imports += count
    resources = root / "resources"
    if resources.is_dir():
        for init in sorted(resources.rglob("__init__.py")):
            violations.append(
                Violation(init.relative_to(root).as_posix(), 1, "resources", "", "__init__.py", "data-only")
            )
    return Report(violations, modules, imports)
