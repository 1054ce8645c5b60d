"""Loading one spec file: YAML with positions -> unknown keys -> strict models -> whole-spec rules.

Each stage reports every error it finds; a later stage runs only when the earlier one passed,
because rules over a half-understood document produce noise rather than help.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.lint import lint_spec
from cognitionos_dagster.dsl.models import WorkflowRef, WorkflowSpec
from cognitionos_dagster.dsl.source import LazySource, Source, parse_yaml
from cognitionos_dagster.dsl.spec_cache import Header, SpecCache, closure
from cognitionos_dagster.dsl.structure import unknown_keys, validation_errors
from cognitionos_dagster.dsl.workspace import cross_check, newest, resolve_ref
from cognitionos_dagster.errors import SpecError

__all__ = [
    "LoadResult", "SpecErrors", "flatten", "load_closure", "load_source", "load_spec_file", "load_spec_text",
    "load_specs", "newest", "resolve_ref", "spec_files",
]


class SpecErrors(SpecError):
    """Several errors of one file; positioned at the first, printed one `file:line:col: message` a line."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0, e.column or 0))
        first = self.errors[0]
        super().__init__(first.message, file=first.file, line=first.line, column=first.column, hint=first.hint)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def flatten(exc: SpecError) -> list[SpecError]:
    """The single errors inside `exc` (itself when it is one error)."""
    return list(exc.errors) if isinstance(exc, SpecErrors) else [exc]


def _raise(errors: list[SpecError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SpecErrors(errors)


EXTENSION_PREFIX = "x-"  # top-level keys ignored by the loader: a home for YAML anchors (as in docker compose)


def _inject(source: Source, path: str, digest: str) -> dict[str, Any]:
    data = {k: v for k, v in source.data.items() if not k.startswith(EXTENSION_PREFIX)}
    data.update(source_path=path, sha256=digest, position=source.at(()))
    steps = data.get("steps")
    if isinstance(steps, list):
        data["steps"] = [
            {**step, "position": source.at(("steps", i))} if isinstance(step, dict) else step
            for i, step in enumerate(steps)
        ]
    assets = data.get("assets")
    if isinstance(assets, dict):
        data["assets"] = {
            name: {**asset, "position": source.key_at(("assets", name))} if isinstance(asset, dict) else asset
            for name, asset in assets.items()
        }
    return data


def load_source(text: str | bytes, *, path: str, catalog: Catalog) -> tuple[WorkflowSpec, Source]:
    """The spec and its positions (cross-file checks point into the source); raises SpecError."""
    raw = text.encode() if isinstance(text, str) else text
    digest = hashlib.sha256(raw).hexdigest()
    try:
        decoded = raw.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise SpecError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path, line=1,
                        column=1) from None
    source = parse_yaml(decoded, path)
    if not isinstance(source.data, dict):
        raise source.error((), "a workflow spec is a mapping with `id`, `version` and `steps`; "
                           f"this file holds a {type(source.data).__name__}")
    user_keys = {k: v for k, v in source.data.items() if not k.startswith(EXTENSION_PREFIX)}
    _raise(unknown_keys(WorkflowSpec, user_keys, (), source))
    try:
        spec = WorkflowSpec.model_validate(_inject(source, path, digest))
    except ValidationError as exc:
        _raise(validation_errors(exc, source))
        raise  # unreachable: a ValidationError always carries errors
    for step in spec.steps:
        if step.agent is not None:
            step.use_role_defaults(catalog.role_defaults.get(step.agent))
    _raise(lint_spec(spec, source, catalog))
    return spec, source


def load_spec_text(text: str, *, path: str, catalog: Catalog) -> WorkflowSpec:
    """One spec from YAML text, with every single-file check; raises SpecError (or SpecErrors)."""
    return load_source(text, path=path, catalog=catalog)[0]


def load_spec_file(path: Path, *, catalog: Catalog) -> WorkflowSpec:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the spec: {exc.strerror}", file=str(path)) from None
    return load_source(raw, path=str(path), catalog=catalog)[0]


@dataclass
class LoadResult:
    """Everything that loaded cleanly, and every error of what did not; one bad file hides nothing else."""

    specs: list[WorkflowSpec]
    errors: list[SpecError]

    @property
    def ok(self) -> bool:
        return not self.errors


def spec_files(paths: Sequence[Path]) -> tuple[list[Path], list[SpecError]]:
    """Files named directly, plus `*.yaml` / `*.yml` found recursively under folders, in a stable order."""
    files: list[Path] = []
    errors: list[SpecError] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            errors.append(SpecError("no such file or folder", file=str(path), hint="check the path given to --specs"))
    return list(dict.fromkeys(files)), errors


def load_specs(paths: Sequence[Path], *, catalog: Catalog, cache: SpecCache | None = None) -> LoadResult:
    """Every spec under `paths` with single-file and cross-file checks (duplicates, sub-workflows, recursion);
    with a cache, only files that changed since they were last validated are parsed."""
    files, errors = spec_files(paths)
    loaded: list[tuple[WorkflowSpec, Source]] = []
    for file in files:
        try:
            loaded.append(_cached_or_loaded(file, catalog, cache))
        except SpecError as exc:
            errors += flatten(exc)
        except OSError as exc:
            errors.append(SpecError(f"cannot read the spec: {exc.strerror}", file=str(file)))
    if cache is not None:
        cache.save()
    return _checked(loaded, errors)


def load_closure(paths: Sequence[Path], root: WorkflowRef | str, *, catalog: Catalog, cache: SpecCache) -> LoadResult:
    """Only the specs one job needs: `root` (a ref, or a job name) and the workflows it calls, found
    through the cache's index, so the cost does not grow with the number of files in the folder.
    Empty when nothing is called `root`."""
    files, errors = spec_files(paths)
    headers: list[Header] = []
    fresh: dict[str, tuple[WorkflowSpec, Source]] = {}
    for file in files:
        header = cache.header(file)
        if header is None:  # new or edited: validate it once, for every later load too
            try:
                fresh[str(file)] = _cached_or_loaded(file, catalog, cache)
            except (SpecError, OSError):
                continue  # not loadable: the full load reports it; a job cannot be made of it anyway
            header = cache.index[str(file)]
        headers.append(header)
    cache.save()
    loaded = []
    for header in closure(headers, root):
        hit = fresh.get(header.path)
        if hit is None:
            file = Path(header.path)
            spec = cache.model(header)
            hit = (spec, LazySource(header.path, file.read_text)) if spec else _cached_or_loaded(file, catalog, cache)
        loaded.append(hit)
    return _checked(loaded, errors if loaded else [])


def _cached_or_loaded(file: Path, catalog: Catalog, cache: SpecCache | None) -> tuple[WorkflowSpec, Source]:
    if cache is None:
        return load_source(file.read_bytes(), path=str(file), catalog=catalog)
    header = cache.header(file)
    spec = cache.model(header) if header else None
    if spec is not None:
        return spec, LazySource(str(file), file.read_text)
    stat = file.stat()
    raw = file.read_bytes()
    spec = cache.model_of(str(file), hashlib.sha256(raw).hexdigest())  # touched, not changed
    if spec is not None:
        cache.store(spec, file, stat, model=False)
        return spec, LazySource(str(file), file.read_text)
    spec, source = load_source(raw, path=str(file), catalog=catalog)
    cache.store(spec, file, stat)
    return spec, source


def _checked(loaded: list[tuple[WorkflowSpec, Source]], errors: list[SpecError]) -> LoadResult:
    specs, cross = cross_check(loaded)
    errors = sorted(errors + cross, key=lambda e: (e.file or "", e.line or 0, e.column or 0))
    return LoadResult(specs=sorted(specs, key=lambda s: (s.id, s.version_tuple)), errors=errors)
