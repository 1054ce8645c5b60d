"""Builds the `Definitions` of the code location from each domain's contribution.

Called lazily by `cognitionos_dagster.definitions` when Dagster loads the location; each domain
(platform checks, workflows, memory, metrics, quality) hands in its own small `Definitions`,
merged here. A run worker gets a repository that compiles only the workflow job it runs (`per_job`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import dagster as dg

from cognitionos_dagster.defs.memory import memory_definitions
from cognitionos_dagster.defs.metrics import metrics_definitions
from cognitionos_dagster.defs.per_job import per_job_repository, reconstructing
from cognitionos_dagster.defs.platform import platform_health
from cognitionos_dagster.defs.quality import quality_definitions
from cognitionos_dagster.defs.workflows import job_definitions, memory_handoffs, workflow_definitions
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import Settings, load_settings


def _platform() -> dg.Definitions:
    return dg.Definitions(jobs=[platform_health], resources={"db": DatabaseResource()})


def _location_wide() -> dg.Definitions:
    """What every job of the location is bound to, so a run worker's one job is the job the code
    server showed: the domains' resources and the default executor (see `build_definitions`)."""
    resources: dict[str, Any] = {}
    for part in (_platform(), memory_definitions(), metrics_definitions(), quality_definitions()):
        resources.update(part.resources or {})
    return dg.Definitions(resources=resources, executor=dg.in_process_executor)


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    workflows = workflow_definitions(settings)
    # Every job defaults to the in-process executor: asset jobs (memory_lifecycle with its checks)
    # otherwise spawn a process per step, which costs about a second each on this kind of machine.
    return dg.Definitions.merge(_platform(), workflows, memory_definitions(memory_handoffs(workflows)),
                                metrics_definitions(), quality_definitions(),
                                dg.Definitions(executor=dg.in_process_executor))


_last_built: tuple[tuple[Any, ...], dg.Definitions] | None = None


def _inputs_of(settings: Settings) -> tuple[Any, ...]:
    """What the whole location is built from, read cheaply: the settings, and the size and mtime of
    every spec and resource file (a stat each, no reads)."""
    files = []
    for folder in (settings.workflow_specs, settings.resources_dir):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                with contextlib.suppress(OSError):
                    stat = path.stat()
                    files.append((str(path), stat.st_size, stat.st_mtime_ns))
    return settings.model_dump_json(), tuple(files)


def whole_location() -> dg.Definitions:
    """The whole location, built once per state of its files in this process.

    A code server loads the location twice: Dagster calls `defs` under INITIALIZATION to find the
    targets, then again under RECONSTRUCTION to build the repository it serves, which asks for
    everything. Compiling every spec twice doubled the server's start; the second load now reuses
    the first unless a spec or resource file changed in between."""
    global _last_built
    settings = load_settings()
    inputs = _inputs_of(settings)
    if _last_built is None or _last_built[0] != inputs:
        _last_built = (inputs, build_definitions())
    return _last_built[1]


def build_location() -> dg.Definitions | dg.RepositoryDefinition:
    """The whole location for a code server; for a run or step worker, one job on demand."""
    if not reconstructing():
        return whole_location()
    settings = load_settings()
    shared = _location_wide()

    def one(job_name: str) -> dg.Definitions | None:
        defs = job_definitions(settings, job_name)
        return dg.Definitions.merge(defs, shared) if defs else None

    return per_job_repository(one, whole_location)
