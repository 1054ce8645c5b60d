"""Workflow specs: strict models, YAML loading with positions, expressions, lint rules. No Dagster."""

from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.expressions import ExpressionError, is_expression, referenced_steps, render, scope_for
from cognitionos_dagster.dsl.inputs import InputError
from cognitionos_dagster.dsl.loader import (
    LoadResult,
    SpecErrors,
    load_spec_file,
    load_spec_text,
    load_specs,
    newest,
    resolve_ref,
)
from cognitionos_dagster.dsl.models import (
    DefaultsSpec,
    InputSpec,
    OnFailure,
    Position,
    ReassignSpec,
    RetrySpec,
    StepSpec,
    WorkflowRef,
    WorkflowSpec,
)

__all__ = [
    "Catalog", "DefaultsSpec", "ExpressionError", "InputError", "InputSpec", "LoadResult", "OnFailure", "Position",
    "ReassignSpec", "RetrySpec", "SpecErrors", "StepSpec", "WorkflowRef", "WorkflowSpec", "is_expression",
    "load_spec_file", "load_spec_text", "load_specs", "newest", "referenced_steps", "render", "resolve_ref",
    "scope_for",
]
