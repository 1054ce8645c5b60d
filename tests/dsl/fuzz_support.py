"""Hypothesis strategies for spec fuzzing, shared by the test suite and `bench.bench_dsl --fuzz`.

Four sources of input: arbitrary text, line-level edits of the complete example (which keep
most of it valid YAML), data-level mutations of the example dumped back to YAML (which keep
it valid YAML and probe the models and rules), and hostile values put in place of the example's
own: deeply nested expressions and scalars PostgreSQL cannot store (NUL, lone surrogates,
infinities, values longer than their column), which must be refused before registration.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from cognitionos_dagster.db.repositories.workflows import WorkflowRegistry
from cognitionos_dagster.dsl import Catalog, WorkflowSpec, load_spec_text
from cognitionos_dagster.dsl.loader import flatten
from cognitionos_dagster.errors import SpecError

EXAMPLE_TEXT = (Path(__file__).parent / "golden" / "deploy_web_app.yaml").read_text()
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)
KEYS = ["id", "version", "steps", "inputs", "defaults", "agent", "tool", "workflow", "depends_on", "foreach",
        "when", "input", "retry", "on_failure", "reassign_to", "concurrency", "type", "default", "enum", "items"]
SPECIAL = ["{{ inputs.repo_url }}", "{{ steps.plan.output }}", "{{ ''.__class__ }}", "{{", "{% for x %}", "plan",
           "retry", "1.0.0", "health_check@1.0.0", "{{ item }}", "{{ steps.summary.output }}", "0 3 * * *", "-1",
           "nul\x00byte", "lone \ud800", "1.0.0+" + "a" * 60, "n" * 201, "{{ " + "(" * 200 + "1" + ")" * 200 + " }}",
           "{{ " + "not " * 5000 + "true }}"]

scalars = (st.none() | st.booleans() | st.integers(-5, 10**6) | st.integers() | st.floats()
           | st.text(max_size=12) | st.text(st.characters(codec=None), max_size=12) | st.sampled_from(SPECIAL))
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


# Expression parts: a wrapper nests what follows, a chain lengthens what precedes.
_OPENERS = ["(", "[", "not ", "-", "+", "range(", "[1, ", "1 if true else ", "{'k': ", "(1, "]
_CLOSERS = {"(": ")", "[": "]", "range(": ")", "[1, ": "]", "{'k': ": "}", "(1, ": ")"}
_CHAINS = [".a", "[0]", "['k']", " | upper", " | default(1)", " + 1", " ~ 'x'", " and true", " or x", " < 2",
           " is defined", "()"]


@st.composite
def deep_expressions(draw: st.DrawFn) -> str:
    """`{{ ... }}` nested up to a few hundred levels: wrappers, chains, or both, sometimes unbalanced."""
    pattern = draw(st.lists(st.sampled_from(_OPENERS), min_size=1, max_size=3))
    openers = pattern * draw(st.sampled_from([0, 1, 10, 31, 33, 100, 300, 2000]))
    chain = draw(st.sampled_from(_CHAINS)) * draw(st.sampled_from([0, 1, 10, 31, 33, 100, 300]))
    closing = "".join(_CLOSERS.get(o, "") for o in reversed(openers))
    if draw(st.integers(0, 4)) == 0:
        closing = closing[: draw(st.integers(0, len(closing)))]
    body = "".join(openers) + draw(st.sampled_from(["x", "inputs.repo_url", "1", "'s'", "steps.plan.output"]))
    body += chain + closing
    wrapped = draw(st.sampled_from(["{{ %s }}", "a {{ %s }} b", "{%% if true %%}{{ %s }}{%% endif %%}"]))
    return wrapped % body


# YAML source text of values that parse but that PostgreSQL or JSON cannot hold, or that sit at a limit.
HOSTILE_SCALARS = [
    '"nul\\0byte"', '"\\x00"', "'\\0'", '"\\ud800"', '"\\uDFFF x"', ".inf", "-.Inf", ".nan", ".NaN",
    "1.0e+400", "-1.0e+999", "1e400", "123456789012345678901234567890", "-0.0", "1.7976931348623157e+308",
    "1.0.0+" + "a" * 44, "1.0.0+" + "a" * 45, "2147483647.0.0", "2147483648.0.0", "99999999999999999999.1.1",
    "n" * 200, "n" * 201, '"' + ",".join(map(str, range(60))) + ' * * * *"', '"' + "1," * 45 + '1 * * * *"',
    '"\\U0001F600 emoji"', '"\\u200b zero width"', '"\\e\\a\\b escapes"', "x" * 5000,
]


@st.composite
def hostile_specs(draw: st.DrawFn) -> str:
    """The example with a few values (or keys) replaced by hostile scalars or deep expressions."""
    lines = EXAMPLE_TEXT.splitlines()
    slots = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.sampled_from(slots))
        key, _, _ = lines[i].partition(":")
        if draw(st.booleans()):
            value = draw(st.sampled_from(HOSTILE_SCALARS))
        else:
            value = '"' + draw(deep_expressions()).replace("\\", "\\\\").replace('"', '\\"') + '"'
        if draw(st.integers(0, 9)) == 0:  # a hostile key instead of a hostile value
            lines[i] = key[: len(key) - len(key.lstrip())] + '"k\\0ey": ' + value
        else:
            lines[i] = f"{key}: {value}"
    return "\n".join(lines) + "\n"


any_spec_text = st.text(max_size=300) | edited_texts() | mutated_specs() | hostile_specs()
FUZZ_PATH = "fuzz.yaml"


def _positioned(exc: SpecError) -> None:
    for error in flatten(exc):
        assert error.file == FUZZ_PATH, error
        assert error.line is not None and error.line >= 1, error
        assert error.column is not None and error.column >= 1, error


def load_or_error(text: str) -> WorkflowSpec | None:
    """The spec when the text loads; a SpecError with a position is the only other allowed outcome."""
    try:
        return load_spec_text(text, path=FUZZ_PATH, catalog=Catalog.permissive())
    except SpecError as exc:
        _positioned(exc)
        return None


def load_or_spec_error(text: str) -> bool:
    """True when the text loads; a SpecError with a position is the only other allowed outcome."""
    return load_or_error(text) is not None


def register_or_spec_error(text: str, registry: WorkflowRegistry) -> bool:
    """True when the text loads *and registers*. What lint accepts, PostgreSQL must store: the registry's
    own refusal of a value ("cannot store") counts as a failure here, not as an allowed outcome."""
    spec = load_or_error(text)
    if spec is None:
        return False
    with registry.db.connection() as conn:  # each example registers afresh (the example's id+version repeats)
        conn.execute("DELETE FROM workflows")
    assert registry.sync(spec) == "registered"
    assert registry.get(spec.id, spec.version) is not None
    return True
