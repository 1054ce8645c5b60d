"""Hypothesis strategies for spec fuzzing, shared by the test suite and `bench.bench_dsl --fuzz`.

Three sources of input: arbitrary text, line-level edits of the complete example (which keep
most of it valid YAML), and data-level mutations of the example dumped back to YAML (which keep
it valid YAML and probe the models and rules).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from cognitionos_dagster.dsl import Catalog, load_spec_text
from cognitionos_dagster.dsl.loader import flatten
from cognitionos_dagster.errors import SpecError

EXAMPLE_TEXT = (Path(__file__).parent / "golden" / "deploy_web_app.yaml").read_text()
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)
KEYS = ["id", "version", "steps", "inputs", "defaults", "agent", "tool", "workflow", "depends_on", "foreach",
        "when", "input", "retry", "on_failure", "reassign_to", "concurrency", "type", "default", "enum", "items"]
SPECIAL = ["{{ inputs.repo_url }}", "{{ steps.plan.output }}", "{{ ''.__class__ }}", "{{", "{% for x %}", "plan",
           "retry", "1.0.0", "health_check@1.0.0", "{{ item }}", "{{ steps.summary.output }}", "0 3 * * *", "-1"]

scalars = (st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=12) | st.sampled_from(SPECIAL))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, (*prefix, i))
    return found


def _mutate(data: Any, path: tuple, op: str, value: Any, key: str) -> Any:
    if not path:
        return value if op == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "replace":
        parent[last] = value
    elif isinstance(parent[last], dict):
        parent[last][key] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    return data


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    data: Any = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        op = draw(st.sampled_from(["delete", "replace", "insert"]))
        data = _mutate(data, path, op, draw(values), draw(st.sampled_from(KEYS) | st.text(max_size=8)))
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=draw(st.sampled_from([False, None])))


@st.composite
def edited_texts(draw: st.DrawFn) -> str:
    lines = EXAMPLE_TEXT.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "duplicate", "insert", "indent", "garble"]))
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=30)))
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + lines[i]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=4)) + lines[i][at:]
    return "\n".join(lines) + "\n"


any_spec_text = st.text(max_size=300) | edited_texts() | mutated_specs()


def load_or_spec_error(text: str) -> bool:
    """True when the text loads; a SpecError with a position is the only other allowed outcome."""
    try:
        load_spec_text(text, path="fuzz.yaml", catalog=Catalog.permissive())
    except SpecError as exc:
        for error in flatten(exc):
            assert error.file == "fuzz.yaml", error
            assert error.line is not None and error.line >= 1, error
            assert error.column is not None and error.column >= 1, error
        return False
    return True
