"""The code location as a run worker sees it: a repository that builds only the job it is asked for.

Dagster rebuilds the code location in every run worker (and step process) from the code pointer the
code server loaded, so each run would parse and compile every spec to run one job. There the load
type is RECONSTRUCTION, and this repository answers `get_job` from the job's own spec and the
workflows it calls. Anything else asked of it comes from the whole location, built on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import dagster as dg

from cognitionos_dagster.defs.dagster_private import DefinitionsLoadContext, DefinitionsLoadType, RepositoryData

SINGLETON_REPOSITORY = "__repository__"  # the name `Definitions` gives its repository


def reconstructing() -> bool:
    """Whether this process rebuilds definitions a code server already loaded (a run or step worker)."""
    return DefinitionsLoadContext.get().load_type == DefinitionsLoadType.RECONSTRUCTION


def _from_whole(name: str) -> Callable[..., Any]:
    def method(self: PerJobRepositoryData, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.whole, name)(*args, **kwargs)

    method.__name__ = name
    return method


class PerJobRepositoryData(RepositoryData):
    """`get_job` builds one job's definitions; every other question goes to the whole location."""

    def __init__(self, one: Callable[[str], dg.Definitions | None], whole: Callable[[], dg.Definitions]) -> None:
        self._one = one
        self._whole = whole
        self._jobs: dict[str, dg.JobDefinition] = {}

    @cached_property
    def whole(self) -> RepositoryData:
        return self._whole().get_repository_def()._repository_data

    def _built(self, job_name: str) -> dg.JobDefinition | None:
        if job_name not in self._jobs:
            defs = self._one(job_name)
            if defs is None:
                return None
            self._jobs[job_name] = defs.resolve_job_def(job_name)
        return self._jobs[job_name]

    def _whole_loaded(self) -> bool:
        """A code server loads the location under RECONSTRUCTION too, then asks for everything
        (`load_all_definitions`) and for each job's snapshot in turn: those jobs are compiled already."""
        return "whole" in self.__dict__

    def get_job(self, job_name: str) -> dg.JobDefinition:
        if self._whole_loaded():
            return self.whole.get_job(job_name)
        return self._built(job_name) or self.whole.get_job(job_name)

    def has_job(self, job_name: str) -> bool:
        if self._whole_loaded():
            return self.whole.has_job(job_name)
        return self._built(job_name) is not None or self.whole.has_job(job_name)

    # Everything else: the whole location (the methods RepositoryData declares, listed once).
    for _name in ("get_top_level_resources", "get_env_vars_by_top_level_resource", "get_all_jobs", "get_job_names",
                  "get_schedule_names", "get_all_schedules", "get_schedule", "has_schedule", "get_all_sensors",
                  "get_sensor_names", "get_sensor", "has_sensor", "get_source_assets_by_key",
                  "get_assets_defs_by_key", "get_asset_checks_defs_by_key", "get_component_tree",
                  "get_asset_job_nodes", "load_all_definitions"):
        vars()[_name] = _from_whole(_name)
    del _name


def per_job_repository(one: Callable[[str], dg.Definitions | None],
                       whole: Callable[[], dg.Definitions]) -> dg.RepositoryDefinition:
    data = PerJobRepositoryData(one, whole)  # type: ignore[abstract]  # the loop in the class body binds the rest
    return dg.RepositoryDefinition(SINGLETON_REPOSITORY, repository_data=data)
