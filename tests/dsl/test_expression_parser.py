"""The fast expression reader agrees with jinja2's parser wherever it answers, and never accepts what jinja2 rejects."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognitionos_dagster.dsl.expression_analysis import analyze_template
from cognitionos_dagster.dsl.expression_parser import analyze_fast
from cognitionos_dagster.dsl.expressions import _HIDDEN, ENV

CORPUS = [
    "{{ inputs.x }}", "a {{ steps.s1.output.result }} b", "{{ steps['s2'].status == 'succeeded' }}",
    "{{ steps.a.output | map(attribute='r') | join('\n') }}", "{{ x if y else z }}", "{{ not a and b or c }}",
    "{{ a is defined }}", "{{ a is not none and b }}", "{{ a in [1, 2.5, 'x'] }}", "{{ a not in b }}",
    "{{ -a + b * c ** 2 // 3 % 4 ~ 'x' }}", "{{ (a, b) }}", "{{ a, b }}", "{{ f(x, y=2) }}",
    "{{ steps.a.output.get('k').v }}", "{{ range(3) | list }}", "{{ loop }}", "{{ x.0 }}", "{{ x[y].z }}",
    "{{ ''.__class__ }}", "{{ a.mro }}", "{{ a | attr('__dict__') }}", "{{ a | nofilter }}", "{{ a is nosuchtest }}",
    "{{ a +  }}", "{{ }}", "{{ a b }}", "{{ a..b }}", "{{ 'unterminated }}", "{{ a ", "x }} y", "{{- a -}}",
    "{{ a -}}{{ b }}", "  {{ inputs.n }}  ", "{{ {'a': 1} }}", "{{ a[1:2] }}", "{{ 01 }}", "{{ 0x1f + 1e3 }}",
    "{{ a is divisibleby 3 }}", "{{ a is divisibleby(3) }}", "{{ 'a' 'b' }}", "{{ true and None }}",
    "{{ steps }}", "{{ steps[inputs.k].output }}", "{{ a | default('x') | upper }}", "{{ a|e }}",
    "{{ a if b }}", "{{ [a, [b, c]] | length }}", "{{ not }}", "{{ a.b.c.d.e }}", "{{ x | sum(attribute='_p') }}",
]
PIECES = ["a", "inputs", "steps", "run", "item", ".", "x", "output", "[", "]", "(", ")", "'k'", "1", "2.5", "+", "-",
          "*", "==", "and", "or", "not", "in", "is", "defined", "if", "else", "|", "join", "length", ",", "__x",
          "'_y'", "none", "~", "**", "=", "}", "{"]


def _compare(text: str) -> None:
    fast = analyze_fast(text, ENV.filters, ENV.tests, _HIDDEN)
    if fast is None:
        return
    slow = analyze_template(ENV, text)
    if fast.error:
        assert slow.error, f"fast refused {text!r} ({fast.error}) but jinja2 accepted it"
        return
    assert slow.error is None, f"fast accepted {text!r} but jinja2 says {slow.error}"
    assert (fast.names, fast.paths, fast.exact) == (slow.names, slow.paths, slow.exact), text


@pytest.mark.parametrize("text", CORPUS)
def test_fast_reader_matches_jinja(text: str) -> None:
    _compare(text)


def test_fast_reader_answers_the_common_shapes() -> None:
    common = [t for t in CORPUS[:12] if "(a, b)" not in t] + ["{{ a | default('x') | upper }}", "{{ x[y].z }}"]
    for text in common:
        assert analyze_fast(text, ENV.filters, ENV.tests, _HIDDEN) is not None, text


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=9), st.sampled_from(["", "pre ", " "]))
def test_random_token_soup_never_disagrees(pieces: list[str], prefix: str) -> None:
    _compare(prefix + "{{ " + " ".join(pieces) + " }}")
