"""Run inputs: defaults, required, types, enums, array items; errors name the input."""

from __future__ import annotations

import pytest

from cognitionos_dagster.dsl import Catalog, InputError, WorkflowSpec, load_spec_file

from .catalog_support import GOLDEN


@pytest.fixture(scope="module")
def spec() -> WorkflowSpec:
    return load_spec_file(GOLDEN / "deploy_web_app.yaml", catalog=Catalog.permissive())


def test_defaults_applied(spec: WorkflowSpec) -> None:
    assert spec.validate_inputs({"repo_url": "git@x"}) == {
        "repo_url": "git@x", "environment": "staging", "services": ["web", "api"], "max_cost_usd": 1.0,
    }


def test_defaults_are_copies(spec: WorkflowSpec) -> None:
    spec.validate_inputs({"repo_url": "x"})["services"].append("db")
    assert spec.validate_inputs({"repo_url": "x"})["services"] == ["web", "api"]


def test_given_values_are_kept_and_ints_are_numbers(spec: WorkflowSpec) -> None:
    got = spec.validate_inputs({"repo_url": "x", "environment": "prod", "services": ["db"], "max_cost_usd": 2})
    assert got["environment"] == "prod" and got["services"] == ["db"] and got["max_cost_usd"] == 2


@pytest.mark.parametrize(
    ("given", "name", "words"),
    [
        ({}, "repo_url", "is required"),
        ({"repo_url": 3}, "repo_url", "expected string"),
        ({"repo_url": "x", "environment": "dev"}, "environment", "not one of staging, prod"),
        ({"repo_url": "x", "services": "web"}, "services", "expected array"),
        ({"repo_url": "x", "services": ["web", 1]}, "services", "item 1 should be string"),
        ({"repo_url": "x", "max_cost_usd": True}, "max_cost_usd", "expected number"),
        ({"repo_url": "x", "colour": "red"}, "colour", "unknown input `colour`"),
    ],
)
def test_bad_inputs_name_the_input(spec: WorkflowSpec, given: dict, name: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        spec.validate_inputs(given)
    assert info.value.name == name
    assert words in str(info.value) and f"`{name}`" in str(info.value)
