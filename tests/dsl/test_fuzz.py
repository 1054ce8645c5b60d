"""Property: whatever the text, loading either succeeds or raises a positioned SpecError — nothing else;
and what loads, the PostgreSQL registry stores (lint refuses everything the registry could not hold).

`COGNITIONOS_FUZZ_EXAMPLES` raises the number of examples per property (100 by default).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry

from .fuzz_support import (
    EXAMPLE_TEXT,
    any_spec_text,
    deep_expressions,
    edited_texts,
    hostile_specs,
    load_or_spec_error,
    mutated_specs,
    register_or_spec_error,
)

EXAMPLES = int(os.environ.get("COGNITIONOS_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def test_the_example_itself_loads() -> None:
    assert load_or_spec_error(EXAMPLE_TEXT)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    load_or_spec_error(text)


@FUZZ
@given(edited_texts())
def test_line_edits_of_the_example(text: str) -> None:
    load_or_spec_error(text)


@FUZZ
@given(mutated_specs())
def test_data_mutations_of_the_example(text: str) -> None:
    load_or_spec_error(text)


@FUZZ
@given(hostile_specs())
def test_hostile_values_in_the_example(text: str) -> None:
    load_or_spec_error(text)


@FUZZ
@given(deep_expressions())
def test_deep_expressions_in_a_step_input(expression: str) -> None:
    quoted = expression.replace("\\", "\\\\").replace('"', '\\"')
    load_or_spec_error(EXAMPLE_TEXT.replace('"print(\'building\')"', f'"{quoted}"'))


@FUZZ
@given(hostile_specs() | any_spec_text)
def test_what_lint_accepts_registers_in_postgresql(db: Database, text: str) -> None:
    register_or_spec_error(text, WorkflowRegistry(db))
