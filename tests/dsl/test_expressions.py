"""Expressions: native types for exact expressions, strings for mixed text, the sandbox, static checks."""

from __future__ import annotations

import pytest

from cognitionos_dagster.dsl.expressions import (
    ROOT_NAMES,
    ExpressionError,
    analyze,
    check,
    is_expression,
    referenced_steps,
    render,
    scope_for,
)

SCOPE = scope_for(
    inputs={"services": ["web", "api"], "n": 3, "env": "prod", "cfg": {"a": 1}},
    steps={"plan": {"output": {"plan": "do it", "items": [1, 2], "ok": True}, "status": "succeeded"},
           "skipped": {"output": None, "status": "skipped"}},
    run={"id": "r1", "workflow_id": "w", "workflow_version": "1.0.0"},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ inputs.services }}", ["web", "api"]),
        ("{{ inputs.n }}", 3),
        ("{{ inputs.n * 2.5 }}", 7.5),
        ("{{ inputs.env == 'prod' }}", True),
        ("{{ inputs.cfg }}", {"a": 1}),
        ("{{ steps.skipped.output }}", None),
        ("  {{ inputs.n }}  ", 3),
        ("{{ steps.plan.output['items'] | length }}", 2),
        ("{{ steps.plan.output.items }}", [1, 2]),  # a key wins over dict.items
        ("{{ steps.plan.status }}", "succeeded"),
        ("{{ run.workflow_version }}", "1.0.0"),
    ],
)
def test_exact_expression_keeps_native_type(text: str, expected: object) -> None:
    result = render(text, SCOPE)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Deploy {{ inputs.env }}", "Deploy prod"),
        ("{{ inputs.n }}{{ inputs.n }}", "33"),
        ("n={{ inputs.n }}", "n=3"),
        ("{% for s in inputs.services %}{{ loop.index }}:{{ s }} {% endfor %}", "1:web 2:api "),
        ("{{ inputs.services | join('\n') }} done", "web\napi done"),
    ],
)
def test_mixed_text_renders_to_a_string(text: str, expected: str) -> None:
    assert render(text, SCOPE) == expected


def test_render_walks_dicts_and_lists_and_binds_foreach_names() -> None:
    scope = {**SCOPE, "item": "web", "index": 0}
    value = {"task": "Deploy {{ item }} #{{ index }}", "all": ["{{ item }}", 7, None], "{{ keys }}": "stay"}
    assert render(value, scope) == {"task": "Deploy web #0", "all": ["web", 7, None], "{{ keys }}": "stay"}


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "{{ inputs.__dict__ }}",
        "{{ cycler.__init__ }}",
        "{{ inputs['__class__'] }}",
        "{{ inputs | attr('__class__') }}",
        "{{ inputs.services.append }}x{{ inputs.n.mro }}",
        "{% include 'x' %}",
        "{% import 'x' as y %}",
        "{{ inputs.env | no_such_filter }}",
    ],
)
def test_unsafe_or_unknown_constructs_are_refused_at_load(text: str) -> None:
    with pytest.raises(ExpressionError):
        check(text, names=ROOT_NAMES)


def test_the_sandbox_refuses_at_run_time_too() -> None:
    with pytest.raises(ExpressionError):
        render("{{ inputs.services.append('x') }}", SCOPE)
    assert SCOPE["inputs"]["services"] == ["web", "api"]


def test_undefined_values_fail_loudly() -> None:
    with pytest.raises(ExpressionError, match="missing"):
        render("{{ steps.plan.output.missing }}", SCOPE)
    with pytest.raises(ExpressionError, match="nope"):
        render("x {{ inputs.nope }}", SCOPE)


def test_checks_name_what_is_wrong() -> None:
    with pytest.raises(ExpressionError, match="unknown name `foo`"):
        check("{{ foo }}", names=ROOT_NAMES)
    with pytest.raises(ExpressionError, match="only bound in the input of a foreach"):
        check("{{ item }}", names=ROOT_NAMES)
    with pytest.raises(ExpressionError, match="did you mean `plan`"):
        check("{{ steps.pln.output }}", names=ROOT_NAMES, steps={"plan"})
    with pytest.raises(ExpressionError, match="only `output` and `status`"):
        check("{{ steps.plan.result }}", names=ROOT_NAMES, steps={"plan"})
    with pytest.raises(ExpressionError, match="literal step id"):
        check("{{ steps[inputs.env].output }}", names=ROOT_NAMES, steps={"plan"})
    with pytest.raises(ExpressionError, match="run has id"):
        check("{{ run.user }}", names=ROOT_NAMES)
    assert check("{{ item }} {{ index }}", names=(*ROOT_NAMES, "item", "index")) == set()


def test_referenced_steps_finds_every_form() -> None:
    value = {
        "a": "{{ steps.one.output }}",
        "b": ["x {{ steps['two'].status }}", {"c": "{{ steps.three.output | map(attribute='r') | list }}"}],
        "d": "{% if steps.four.status == 'skipped' %}no{% endif %}",
        "e": "steps.five is not an expression",
    }
    assert referenced_steps(value) == {"one", "two", "three", "four"}


def test_simple_and_parsed_paths_agree() -> None:
    for text in ["{{ steps.a.output.b }}", "pre {{ inputs.x }} post {{ run.id }}"]:
        fast = analyze(text)
        slow = analyze(text.replace("}}", "| string }}", 1))  # forces jinja's parser
        assert fast.paths == slow.paths and fast.names == slow.names


def test_is_expression() -> None:
    assert is_expression("{{ a }}") and is_expression("{% if a %}x{% endif %}")
    assert not is_expression("plain") and not is_expression(3) and not is_expression(None)
