"""Builds the `Definitions` of the code location from each domain's contribution.

Called lazily by `cognitionos_dagster.definitions` when Dagster loads the location; each domain
(platform checks, workflows, memory) hands in its own small `Definitions`, merged here. A run
worker gets a repository that compiles only the workflow job it runs (`per_job`).
"""

from __future__ import annotations

import dagster as dg

from cognitionos_dagster.defs.memory import memory_definitions
from cognitionos_dagster.defs.per_job import per_job_repository, reconstructing
from cognitionos_dagster.defs.platform import platform_health
from cognitionos_dagster.defs.workflows import job_definitions, workflow_definitions
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import load_settings


def _platform() -> dg.Definitions:
    return dg.Definitions(jobs=[platform_health], resources={"db": DatabaseResource()})


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    return dg.Definitions.merge(_platform(), workflow_definitions(settings), memory_definitions())


def build_location() -> dg.Definitions | dg.RepositoryDefinition:
    """The whole location for a code server; for a run or step worker, one job on demand."""
    if not reconstructing():
        return build_definitions()
    settings = load_settings()
    # Dagster binds every top-level resource to every job; the same ones keep the run worker's job identical.
    shared = dg.Definitions(resources={**(_platform().resources or {}), **(memory_definitions().resources or {})})

    def one(job_name: str) -> dg.Definitions | None:
        defs = job_definitions(settings, job_name)
        return dg.Definitions.merge(defs, shared) if defs else None

    return per_job_repository(one, build_definitions)
