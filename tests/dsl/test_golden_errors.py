"""One YAML fixture per error class: the first line says where the error must point and what it must say."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognitionos_dagster.dsl.loader import flatten, load_spec_file
from cognitionos_dagster.errors import SpecError

from .catalog_support import GOLDEN, real_catalog

CASES = sorted((GOLDEN / "errors").glob("*.yaml"))


def _expectation(path: Path) -> tuple[int, int, list[str]]:
    header = path.read_text().splitlines()[0]
    assert header.startswith("# expect: "), f"{path.name} lacks its `# expect:` line"
    line, column, words = header.removeprefix("# expect: ").split(":", 2)
    return int(line), int(column), [w.strip() for w in words.split("|")]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_error_points_at_the_problem_and_says_what_to_change(path: Path) -> None:
    line, column, words = _expectation(path)
    with pytest.raises(SpecError) as info:
        load_spec_file(path, catalog=real_catalog())
    errors = flatten(info.value)
    rendered = [str(e) for e in errors]
    match = [e for e in errors if (e.line, e.column) == (line, column)]
    assert match, f"no error at {line}:{column}; got {rendered}"
    text = str(match[0])
    assert text.startswith(f"{path}:{line}:{column}: ")
    for word in words:
        assert word in text, f"{word!r} missing from {text!r}"


def test_there_is_a_fixture_for_each_error_class() -> None:
    assert len(CASES) >= 40
