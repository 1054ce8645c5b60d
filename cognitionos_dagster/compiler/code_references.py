"""Dagster code references from a compiled definition back to the YAML that declared it.

The UI shows `dagster/code_references` metadata as links to a file and line. A job points at its
spec and at each step (labelled with the step id; Dagster ops carry no metadata of their own, so
an op's place is its job's reference of the same label, and its `cognitionos/source` tag); an
asset points at its entry under `assets:`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from cognitionos_dagster.dsl.models import Position, WorkflowSpec

CODE_REFERENCES = "dagster/code_references"


def reference(position: Position, label: str) -> dg.LocalFileCodeReference:
    with _beta_accepted():
        return dg.LocalFileCodeReference(file_path=str(Path(position.file).resolve()), line_number=position.line,
                                         label=label)


def references_metadata(references: Iterable[dg.LocalFileCodeReference]) -> dict[str, Any]:
    """The metadata entry Dagster reads code references from; empty for a spec with no file."""
    found: list[dg.LocalFileCodeReference | dg.UrlCodeReference] = list(references)
    if not found:
        return {}
    with _beta_accepted():
        return {CODE_REFERENCES: dg.CodeReferencesMetadataValue(code_references=found)}


@contextmanager
def _beta_accepted() -> Iterator[None]:
    """Code references are beta in Dagster 1.13: accepted here on purpose, once per definition."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def job_references(spec: WorkflowSpec) -> dict[str, Any]:
    """The spec itself, then each step in file order, labelled with its id."""
    if not _in_a_file(spec.position):
        return {}
    return references_metadata([reference(spec.position, spec.ref),
                                *(reference(step.position, step.id) for step in spec.steps)])


def asset_references(spec: WorkflowSpec, name: str) -> dict[str, Any]:
    """The asset's entry under `assets:`."""
    position = spec.assets[name].position
    return references_metadata([reference(position, f"{spec.ref} asset {name}")] if _in_a_file(position) else [])


def _in_a_file(position: Position) -> bool:
    return position.file != "<memory>" and Path(position.file).is_file()
