"""Every job of the code location runs in-process: a process per step costs ~1 s each here, so a
memory_lifecycle run with its three checks took ~28 s for ~0.3 s of work."""

from __future__ import annotations

import dagster as dg

from cognitionos_dagster.defs.assembly import build_definitions


def test_every_job_uses_the_in_process_executor(database_url: str) -> None:
    repo = build_definitions().get_repository_def()
    jobs = {job.name: job.executor_def.name for job in repo.get_all_jobs()}
    assert {"memory_lifecycle", "platform_health", "__ASSET_JOB", "memory_gc"} <= set(jobs)
    assert {name: ex for name, ex in jobs.items() if ex != dg.in_process_executor.name} == {}
