"""Folders of specs: cross-file errors (golden), nothing half-loaded, newest / resolve_ref."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognitionos_dagster.dsl import Catalog, WorkflowRef, load_specs, newest, resolve_ref
from cognitionos_dagster.errors import SpecError

from .catalog_support import GOLDEN, real_catalog
from .test_golden_errors import _expectation

CROSS = GOLDEN / "crossfile"
CASES = sorted(p for p in CROSS.iterdir() if p.is_dir() and p.name != "ok")


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_cross_file_errors(folder: Path) -> None:
    result = load_specs([folder], catalog=real_catalog())
    loaded = {s.source_path for s in result.specs}
    for file in sorted(folder.glob("*.y*ml")):
        if not file.read_text().startswith("# expect: "):
            assert str(file) in loaded, f"{file.name} should load: {[str(e) for e in result.errors]}"
            continue
        line, column, words = _expectation(file)
        assert str(file) not in loaded
        match = [e for e in result.errors if (e.file, e.line, e.column) == (str(file), line, column)]
        assert match, f"no error at {file.name}:{line}:{column}; got {[str(e) for e in result.errors]}"
        for word in words:
            assert word in str(match[0])


def test_a_good_folder_loads_with_sub_workflows_resolved() -> None:
    result = load_specs([CROSS / "ok"], catalog=real_catalog())
    assert result.ok, [str(e) for e in result.errors]
    assert [(s.id, s.version) for s in result.specs] == [
        ("deploy_web_app", "1.2.0"), ("health_check", "0.9.0"), ("health_check", "1.0.0"),
    ]
    assert newest(result.specs, "health_check").version == "1.0.0"
    assert resolve_ref(result.specs, WorkflowRef(id="health_check", version="0.9.0")).version == "0.9.0"
    with pytest.raises(SpecError, match=r"known versions: 1\.0\.0, 0\.9\.0"):
        resolve_ref(result.specs, WorkflowRef(id="health_check", version="3.0.0"))
    with pytest.raises(SpecError, match="no workflow with id `nope`"):
        newest(result.specs, "nope")


def test_one_bad_file_hides_nothing(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("id: good\nversion: 1.0.0\nsteps:\n  - {id: a, agent: custom}\n")
    (tmp_path / "bad.yaml").write_text("id: bad\nversion: 1.0.0\nsteps: [\n")
    (tmp_path / "notes.txt").write_text("not a spec")
    nested = tmp_path / "more" / "deeper"
    nested.mkdir(parents=True)
    (nested / "also_good.yml").write_text("id: also_good\nversion: 2.0.0\nsteps:\n  - {id: a, agent: custom}\n")
    result = load_specs([tmp_path, tmp_path / "missing.yaml"], catalog=real_catalog())
    assert sorted(s.id for s in result.specs) == ["also_good", "good"]
    assert [Path(e.file or "").name for e in result.errors] == ["bad.yaml", "missing.yaml"]
    assert "no such file" in str(result.errors[1])


def test_every_error_of_a_subworkflow_call_is_reported() -> None:
    result = load_specs([CROSS / "subworkflow_inputs"], catalog=real_catalog())
    text = "\n".join(map(str, result.errors))
    assert "has no input `colour`" in text and "requires input `target`" in text
    assert [s.id for s in result.specs] == ["child"]


def test_semver_precedence_picks_newest(tmp_path: Path) -> None:
    for i, version in enumerate(["1.0.0", "1.10.0", "1.9.9", "2.0.0-rc.1", "2.0.0-alpha", "1.10.0-beta"]):
        (tmp_path / f"v{i}.yaml").write_text(f"id: w\nversion: {version}\nsteps:\n  - {{id: a, agent: custom}}\n")
    specs = load_specs([tmp_path], catalog=Catalog.permissive()).specs
    assert newest(specs, "w").version == "2.0.0-rc.1"
    assert [s.version for s in specs] == ["1.0.0", "1.9.9", "1.10.0-beta", "1.10.0", "2.0.0-alpha", "2.0.0-rc.1"]
