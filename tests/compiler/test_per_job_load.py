"""A run worker compiles only its job: the same job the whole location compiles, without the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType

from cognitionos_dagster.definitions import defs
from cognitionos_dagster.defs.assembly import build_definitions
from cognitionos_dagster.defs.per_job import PerJobRepositoryData

Writer = Callable[[str, str], Path]

CHILD = """
    id: child
    version: 1.0.0
    inputs: {n: {type: integer, default: 2}}
    steps:
      - id: a
        tool: echo
        input: {value: "{{ inputs.n }}"}
    outputs: {value: "{{ steps.a.output }}"}
"""
PARENT = """
    id: parent
    version: 2.0.0
    steps:
      - id: first
        tool: echo
        input: {value: 1}
      - id: call
        workflow: child@1.0.0
        input: {n: 3}
        depends_on: [first]
"""


def _reconstructed() -> PerJobRepositoryData:
    with DefinitionsLoadContext.scoped(DefinitionsLoadContext(load_type=DefinitionsLoadType.RECONSTRUCTION)):
        repo = defs()
    data = repo._repository_data  # type: ignore[union-attr]
    assert isinstance(data, PerJobRepositoryData)
    return data


def test_run_worker_job_matches_the_location_job(write_spec: Writer) -> None:
    write_spec("child", CHILD)
    write_spec("parent", PARENT)
    whole = build_definitions().get_repository_def()
    data = _reconstructed()
    for name in ("parent__v2_0_0", "parent", "child__v1_0_0"):
        assert data.get_job(name).get_job_snapshot_id() == whole.get_job(name).get_job_snapshot_id(), name
    assert "whole" not in vars(data), "the whole location was built to answer for one job"


def test_run_worker_ignores_other_specs_and_falls_back_for_other_jobs(write_spec: Writer) -> None:
    write_spec("child", CHILD)
    write_spec("broken", "id: broken\nversion: 1.0.0\nsteps: [{id: a, tool: no_such_tool}]\n")
    data = _reconstructed()
    assert data.get_job("child").name == "child"
    assert "whole" not in vars(data)
    assert data.get_job("platform_health").name == "platform_health"  # not a workflow: the whole location
    assert "whole" in vars(data)


def test_a_code_server_compiles_the_location_once(write_spec: Writer, monkeypatch) -> None:
    """Dagster's code server calls `defs` under INITIALIZATION, then under RECONSTRUCTION for the
    repository it serves, then asks for every definition and each job's snapshot: one compile in all,
    and each job is the whole location's, not compiled again."""
    import sys

    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._grpc.server import LoadedRepositories

    from cognitionos_dagster.defs import assembly

    write_spec("child", CHILD)
    write_spec("parent", PARENT)
    builds: list[int] = []
    real = assembly.build_definitions

    def counted() -> object:
        builds.append(1)
        return real()

    monkeypatch.setattr(assembly, "build_definitions", counted)

    def serve() -> dg.RepositoryDefinition:
        origin = LoadableTargetOrigin(executable_path=sys.executable, module_name="cognitionos_dagster.definitions")
        with DefinitionsLoadContext.scoped(DefinitionsLoadContext(load_type=DefinitionsLoadType.INITIALIZATION)):
            return next(iter(LoadedRepositories(origin, None, [], None).definitions_by_name.values()))

    repo = serve()
    data = repo._repository_data
    assert isinstance(data, PerJobRepositoryData) and "whole" in vars(data)
    for name in ("parent__v2_0_0", "parent", "child__v1_0_0"):
        assert repo.get_job(name) is data.whole.get_job(name), name
    assert len(builds) == 1

    write_spec("child", CHILD.replace("default: 2", "default: 25"))  # a changed file: built again
    serve()
    assert len(builds) == 2
