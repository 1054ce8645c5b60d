"""Builds the `Definitions` of the code location from each domain's contribution.

Called lazily by `cognitionos_dagster.definitions` when Dagster loads the location; each domain
(platform checks, workflows, memory, metrics, quality) hands in its own small `Definitions`,
merged here. A run worker gets a repository that compiles only the workflow job it runs (`per_job`).
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from cognitionos_dagster.defs.memory import memory_definitions
from cognitionos_dagster.defs.metrics import metrics_definitions
from cognitionos_dagster.defs.per_job import per_job_repository, reconstructing
from cognitionos_dagster.defs.platform import platform_health
from cognitionos_dagster.defs.quality import quality_definitions
from cognitionos_dagster.defs.workflows import job_definitions, memory_handoffs, workflow_definitions
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import load_settings


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


def build_location() -> dg.Definitions | dg.RepositoryDefinition:
    """The whole location for a code server; for a run or step worker, one job on demand."""
    if not reconstructing():
        return build_definitions()
    settings = load_settings()
    shared = _location_wide()

    def one(job_name: str) -> dg.Definitions | None:
        defs = job_definitions(settings, job_name)
        return dg.Definitions.merge(defs, shared) if defs else None

    return per_job_repository(one, build_definitions)
