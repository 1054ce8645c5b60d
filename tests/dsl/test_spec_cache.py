"""The spec cache: unchanged files are not parsed again, edits are, and one job's closure is found
without parsing the rest of the folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cognitionos_dagster.compiler.catalog import build_catalog
from cognitionos_dagster.dsl import WorkflowRef, load_specs
from cognitionos_dagster.dsl import loader as loader_module
from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.loader import load_closure
from cognitionos_dagster.dsl.spec_cache import SpecCache
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings


def real_catalog() -> Catalog:
    return build_catalog(load_settings())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(PROJECT_ROOT / "workflow_specs", specs)
    old = 1_600_000_000_000_000_000  # mtimes well in the past: the index may trust size + mtime
    for file in specs.iterdir():
        os.utime(file, ns=(old, old))
    return specs


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files actually parsed, in order (the real parser still runs)."""
    seen: list[str] = []
    real = loader_module.load_source

    def spy(text: str | bytes, *, path: str, catalog: object) -> object:
        seen.append(Path(path).name)
        return real(text, path=path, catalog=catalog)  # type: ignore[arg-type]

    monkeypatch.setattr(loader_module, "load_source", spy)
    return seen


def test_unchanged_files_come_from_the_cache(folder: Path, tmp_path: Path, parsed: list[str]) -> None:
    cache_dir = tmp_path / "cache"
    first = load_specs([folder], catalog=real_catalog(), cache=SpecCache(cache_dir))
    assert sorted(parsed) == sorted(f.name for f in folder.glob("*.yaml")) and first.ok  # each file once
    parsed.clear()
    second = load_specs([folder], catalog=real_catalog(), cache=SpecCache(cache_dir))
    assert parsed == []
    assert [s.model_dump() for s in second.specs] == [s.model_dump() for s in first.specs]

    edited = folder / "health_check.yaml"
    edited.write_text(edited.read_text().replace("name:", "name: Edited", 1) if "name:" in edited.read_text()
                      else "description: edited\n" + edited.read_text())
    third = load_specs([folder], catalog=real_catalog(), cache=SpecCache(cache_dir))
    assert parsed == ["health_check.yaml"]
    health = next(s for s in third.specs if s.id == "health_check")
    assert health.sha256 != next(s for s in first.specs if s.id == "health_check").sha256


def test_cross_file_errors_still_point_into_cached_files(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_specs([folder], catalog=real_catalog(), cache=SpecCache(cache))
    shutil.copy(folder / "health_check.yaml", folder / "health_copy.yaml")  # same id+version twice
    result = load_specs([folder], catalog=real_catalog(), cache=SpecCache(cache))
    duplicate = [e for e in result.errors if e.file == str(folder / "health_check.yaml")]
    assert duplicate and duplicate[0].line and duplicate[0].line > 1, [str(e) for e in result.errors]


def test_a_closure_reads_only_its_workflows(folder: Path, tmp_path: Path, parsed: list[str]) -> None:
    cache = tmp_path / "cache"
    load_specs([folder], catalog=real_catalog(), cache=SpecCache(cache))
    (folder / "broken.yaml").write_text("id: broken\nversion: 1.0.0\nsteps: [{id: a, tool: no_such_tool}]\n")
    parsed.clear()
    result = load_closure([folder], WorkflowRef(id="deploy_web_app"), catalog=real_catalog(), cache=SpecCache(cache))
    assert parsed == ["broken.yaml"]  # new to the index: parsed once, then known
    assert sorted(s.id for s in result.specs) == ["deploy_web_app", "health_check"]  # the sub-workflow it calls
    assert result.errors == []
    by_job = load_closure([folder], result.specs[1].job_name, catalog=real_catalog(), cache=SpecCache(cache))
    assert {s.job_name for s in by_job.specs} >= {result.specs[1].job_name}
    assert load_closure([folder], "no_such_job", catalog=real_catalog(), cache=SpecCache(cache)).specs == []


def test_a_racy_entry_is_trusted_once_verified_outside_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file indexed right after it was written is re-hashed at each load until a load verifies it at
    least the window after its mtime; from then on size and mtime suffice (a fresh checkout would
    otherwise be read in full by every run worker)."""
    from cognitionos_dagster.dsl import spec_cache

    cache_dir, spec_file = tmp_path / "cache", tmp_path / "specs" / "health_check.yaml"
    spec_file.parent.mkdir()
    shutil.copy(PROJECT_ROOT / "workflow_specs" / "health_check.yaml", spec_file)
    load_specs([spec_file.parent], catalog=real_catalog(), cache=SpecCache(cache_dir))  # indexed at once: racy
    stat = spec_file.stat()

    def swap_content() -> None:  # same size, same mtime, other bytes: only a hash can tell
        text = spec_file.read_bytes()
        spec_file.write_bytes(text.replace(b"health", b"HEALTH", 1))
        os.utime(spec_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    def restore() -> None:
        shutil.copy(PROJECT_ROOT / "workflow_specs" / "health_check.yaml", spec_file)
        os.utime(spec_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    swap_content()
    assert SpecCache(cache_dir).header(spec_file) is None  # still racy: the hash catches the swap
    restore()

    real_now = spec_cache.time.time_ns
    monkeypatch.setattr(spec_cache.time, "time_ns", lambda: real_now() + 3_000_000_000)
    verified = SpecCache(cache_dir)
    assert verified.header(spec_file) is not None
    verified.save()
    monkeypatch.undo()

    swap_content()
    header = SpecCache(cache_dir).header(spec_file)  # trusted on size and mtime now, the file unread
    assert header is not None and header.stored_ns - header.mtime_ns >= 2_000_000_000
