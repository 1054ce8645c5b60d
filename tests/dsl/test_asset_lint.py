"""Lint errors of `assets:` and `from_asset`, each at its file:line:col."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.loader import load_specs

PRODUCER = """
    id: producer
    version: 1.0.0
    steps:
      - id: make
        agent: summarizer
        input: {content: "text"}
    assets:
      notes:
        value: "{{ steps.make.output.summary }}"
"""


def _errors(tmp_path: Path, catalog: Catalog, **files: str) -> list[str]:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    return [f"{Path(e.file or '').name}:{e.line}:{e.column}: {e.message}"
            for e in load_specs([tmp_path], catalog=catalog).errors]


def _consumer(inputs: str) -> str:
    return f"""
    id: consumer
    version: 1.0.0
    inputs:
      {inputs}
    steps:
      - id: use
        agent: summarizer
        input: {{content: "{{{{ inputs.notes }}}}"}}
    assets:
      digest:
        value: "{{{{ steps.use.output }}}}"
    """


def test_a_valid_pair_loads(tmp_path: Path, catalog: Catalog) -> None:
    assert _errors(tmp_path, catalog, producer=PRODUCER,
                   consumer=_consumer("notes: {type: string, from_asset: producer/notes}")) == []


def test_unknown_from_asset(tmp_path: Path, catalog: Catalog) -> None:
    errors = _errors(tmp_path, catalog, producer=PRODUCER,
                     consumer=_consumer("notes: {type: string, from_asset: producer/notez}"))
    assert errors == ["consumer.yaml:4:37: input `notes`: no workflow defines asset `producer/notez` (under "
                      "`assets:` of its newest version); did you mean `producer/notes`?"]


def test_workflow_reading_its_own_asset(tmp_path: Path, catalog: Catalog) -> None:
    errors = _errors(tmp_path, catalog, consumer=_consumer("notes: {type: object, from_asset: consumer/digest}"))
    assert len(errors) == 1 and errors[0].startswith("consumer.yaml:4:37: input `notes` reads `consumer/digest`, "
                                                     "an asset of this same workflow")


def test_cycle_through_assets(tmp_path: Path, catalog: Catalog) -> None:
    producer = PRODUCER.replace("    steps:", "    inputs:\n      back: {type: object, from_asset: consumer/digest}\n"
                                "    steps:")
    errors = _errors(tmp_path, catalog, producer=producer,
                     consumer=_consumer("notes: {type: string, from_asset: producer/notes}"))
    assert sorted(e.split(": ")[0] for e in errors) == ["consumer.yaml:4:37", "producer.yaml:4:36"]
    assert all("read each other's assets in a cycle: consumer -> producer -> consumer" in e for e in errors)


@pytest.mark.parametrize(("assets", "expected"), [
    ("""
      notes:
        value: "{{ value }}"
    """, "p.yaml:9:12: `value` is only in scope inside an asset's `checks`"),
    ("""
      notes:
        value: "{{ steps.make.output }}"
        checks:
          - name: twice
            expect: "{{ value is not none }}"
          - name: twice
            expect: "{{ value is not none }}"
    """, "p.yaml:13:9: asset `notes`: duplicate check name `twice` (first on line 11)"),
    ("""
      notes:
        value: "{{ steps.make.output }}"
        checks:
          - quality_gate: lenient
          - quality_gate: lenient
    """, "p.yaml:12:9: asset `notes`: duplicate check name `quality_gate_lenient`"),
    ("""
      notes:
        value: "{{ steps.make.output }}"
        checks:
          - expect: "{{ value is not none }}"
    """, "p.yaml:11:9: asset `notes`: an `expect` check needs a `name`"),
    ("""
      notes:
        value: "{{ steps.make.output }}"
        checks:
          - quality_gate: stricter
    """, "p.yaml:11:23: unknown quality-gate policy `stricter`; did you mean `strict`?"),
])
def test_asset_entry_errors(tmp_path: Path, catalog: Catalog, assets: str, expected: str) -> None:
    text = textwrap.dedent(PRODUCER).split("assets:")[0] + "assets:" + textwrap.indent(textwrap.dedent(assets), "  ")
    errors = _errors(tmp_path, catalog, p=text)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_value_in_a_step_input_is_an_error(tmp_path: Path, catalog: Catalog) -> None:
    errors = _errors(tmp_path, catalog, p=PRODUCER.replace('{content: "text"}', '{content: "{{ value }}"}'))
    assert len(errors) == 1 and "`value` is only in scope inside an asset's `checks`" in errors[0]
