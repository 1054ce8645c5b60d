"""Rebuilds a compiled job by name in another process (Dagster's re-execution and `execute_job`).

Jobs made by a factory are not `reconstructable()`; `build_reconstructable_job` points Dagster at
this module-level function instead, keyed by the job name (`<id>__v<version>` or `<id>`), which
compiles that workflow and the ones it calls, not the whole folder.
"""

import dagster as dg

from cognitionos_dagster.defs.dagster_private import ReconstructableJob
from cognitionos_dagster.errors import SpecError
from cognitionos_dagster.settings import load_settings


def workflow_job_by_name(job_name: str, specs_dir: str | None = None) -> dg.JobDefinition:
    from cognitionos_dagster.defs.workflows import job_definitions

    settings = load_settings(**({"workflow_specs": specs_dir} if specs_dir else {}))
    defs = job_definitions(settings, job_name)
    if defs is None:
        raise SpecError(f"no workflow makes job `{job_name}` in {settings.workflow_specs}",
                        hint="run `cognos lint` to see which specs load")
    return defs.resolve_job_def(job_name)


def reconstructable_workflow_job(job_name: str, specs_dir: str | None) -> ReconstructableJob:
    return dg.build_reconstructable_job(
        "cognitionos_dagster.defs.reconstruct",
        "workflow_job_by_name",
        reconstructable_args=(job_name, specs_dir),  # type: ignore[arg-type]  # Dagster types it a 1-tuple
    )
