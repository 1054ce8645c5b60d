"""Property: whatever the text, loading either succeeds or raises a positioned SpecError — nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzz_support import EXAMPLE_TEXT, edited_texts, load_or_spec_error, mutated_specs

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


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
